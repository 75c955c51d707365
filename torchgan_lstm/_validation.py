"""Argument checks for the public boundary: one helper per kind of value, one message style.

Every message names the parameter, the value received and what is allowed, e.g.
``out_size must be >= 8, got 4``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import torch

__all__ = [
    "InputError",
    "check_choice",
    "check_fraction",
    "check_image_batch",
    "check_int",
    "check_labels",
    "check_num_classes",
    "check_positive",
    "check_sequence_batch",
    "check_size",
]


class InputError(ValueError):
    """Bad input from the user: a parameter, a file, a configuration or a checkpoint.

    The command line reports these as one line and exit status 2; any other exception keeps
    its traceback.
    """


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``.

    Raises:
        ValueError: ``value`` is not an integer (bools are refused) or is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_size(name: str, value: object, minimum: int = 8) -> tuple[int, int]:
    """Return an image size as ``(height, width)``.

    Args:
        name: the parameter's name, for the message.
        value: an int (square) or a pair ``(height, width)``.
        minimum: the smallest side allowed.

    Raises:
        ValueError: not an int or a pair of ints, or a side below ``minimum``.
    """
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise InputError(f"{name} must be an int or a (height, width) pair, got {value!r}")
        sides = tuple(value)
    else:
        sides = (value, value)
    for side in sides:
        if isinstance(side, bool) or not isinstance(side, Integral):
            raise InputError(f"{name} must be an int or a (height, width) pair, got {value!r}")
        if side < minimum:
            raise InputError(f"{name} must be >= {minimum}, got {value!r}")
    return int(sides[0]), int(sides[1])


def check_choice(name: str, value: object, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``.

    Raises:
        ValueError: ``value`` is not among ``allowed``; the message lists them.
    """
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise InputError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_fraction(name: str, value: object, upper_inclusive: bool = False) -> float:
    """Return ``value`` as a float in ``[0, 1)`` (or ``[0, 1]`` with ``upper_inclusive``).

    Raises:
        ValueError: not a real number, or outside the interval.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InputError(f"{name} must be a number in [0, 1), got {value!r}")
    ok = 0 <= value <= 1 if upper_inclusive else 0 <= value < 1
    if not ok:
        bound = "1]" if upper_inclusive else "1)"
        raise InputError(f"{name} must be in [0, {bound}, got {value!r}")
    return float(value)


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number > 0.

    Raises:
        ValueError: not a real number (bools are refused), not finite, or <= 0.
    """
    real = isinstance(value, Real) and not isinstance(value, bool)
    if not (real and math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_image_batch(name: str, x: object, channels: int, size: tuple[int, int]) -> None:
    """Check that ``x`` is a float image batch of shape ``(batch, channels, height, width)``.

    Raises:
        ValueError: ``x`` is not a tensor of that shape.
    """
    expected = f"(batch, {channels}, {size[0]}, {size[1]})"
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name} must be a tensor of shape {expected}, got {type(x).__name__}")
    if x.dim() != 4 or tuple(x.shape[1:]) != (channels, *size):
        raise InputError(f"{name} must have shape {expected}, got {tuple(x.shape)}")


def check_sequence_batch(name: str, x: object, features: int, seq_len: int | None = None) -> None:
    """Check that ``x`` is a float batch of sequences ``(batch, seq_len, features)``.

    Args:
        name: the parameter's name, for the message.
        x: the batch.
        features: values per time step.
        seq_len: the number of steps required; ``None`` accepts any number >= 1.

    Raises:
        ValueError: ``x`` is not a floating-point tensor of that shape.
    """
    steps = "seq_len" if seq_len is None else str(seq_len)
    expected = f"(batch, {steps}, {features})"
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = f"{x.dtype} tensor" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a float tensor of shape {expected}, got {got}")
    if x.dim() != 3 or x.size(2) != features or x.size(1) < 1:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}")
    if seq_len is not None and x.size(1) != seq_len:
        raise ValueError(f"{name} must have shape {expected}, got {tuple(x.shape)}")


def check_num_classes(num_classes: object) -> int:
    """Return ``num_classes`` if it is an integer >= 2 (a single class conditions nothing).

    Raises:
        ValueError: not an integer, or below 2.
    """
    return check_int("num_classes", num_classes, minimum=2)


def check_labels(name: str, y: object, batch: int, num_classes: int) -> torch.Tensor:
    """Check class labels for a conditional model: integers in ``[0, num_classes)``, one per image.

    Args:
        name: the parameter's name, for the message.
        y: the labels; ``None`` is refused (a conditional model needs them).
        batch: the number of images they label.
        num_classes: the model's number of classes.

    Returns:
        ``y``, unchanged.

    Raises:
        InputError: ``y`` is missing, not an integer tensor of shape ``(batch,)``, or (for
            labels on the CPU) holds a label outside ``[0, num_classes)``; the message gives the
            offending values. Labels on an accelerator are not read back: that would stall the
            device at every step; an embedding lookup out of range fails there by itself.
    """
    if y is None:
        raise InputError(
            f"{name} is required: this model is conditional (num_classes={num_classes}), so it "
            f"needs a label in [0, {num_classes}) for every image"
        )
    if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32):
        got = f"{y.dtype} tensor" if isinstance(y, torch.Tensor) else type(y).__name__
        raise InputError(f"{name} must be an integer tensor of shape ({batch},), got {got}")
    if tuple(y.shape) != (batch,):
        raise InputError(f"{name} must have shape ({batch},), got {tuple(y.shape)}")
    if y.numel() and y.device.type == "cpu":
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            raise InputError(
                f"{name} must hold labels in [0, {num_classes}), got values in [{low}, {high}]"
            )
    return y

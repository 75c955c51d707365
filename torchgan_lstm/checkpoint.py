"""Checkpoint files: atomic writes, loads that never run code from the file, shape checks.

TorchGAN's ``Trainer`` pickles its loss and metric objects into every checkpoint. Loading goes
through ``torch.load(weights_only=True)`` with an allow-list of exactly those classes, so a
crafted file cannot make the unpickler call anything else.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
import torch.nn as nn

from ._validation import InputError

__all__ = [
    "CheckpointError",
    "allow_checkpoint_classes",
    "atomic_save",
    "check_finite_weights",
    "check_state_dict",
    "checkpoint_safe_classes",
    "nonfinite_tensors",
    "remove_stale_temporaries",
    "safe_load",
    "state_dict_mismatches",
]

_EXTRA_SAFE: set[type] = set()
# How torch's weights-only unpickler words a refusal (as opposed to a file it cannot parse),
# lower-cased: "Unsupported global: GLOBAL x.y was not an allowed global", "Trying to load
# unsupported GLOBAL posix.system whose module posix is blocked", ...
_REFUSAL_MARKERS = ("unsupported global", "allowlisted", "unrecognized function", "is blocked")
# torch's own lines around the reason; the first of them advises weights_only=False, which is
# exactly what must not be done with a file from a stranger, so it is never shown.
_BOILERPLATE = ("Weights only load failed", "Check the documentation", "Please file an issue")
# The parts of a run checkpoint that hold numbers a run samples from or trains on.
_WEIGHT_PARTS = (
    "generator",
    "generator_ema",
    "discriminator",
    "optimizer_generator",
    "optimizer_discriminator",
)


class CheckpointError(InputError):
    """A checkpoint cannot be read, is refused as unsafe, or does not fit the models."""


def allow_checkpoint_classes(*classes: type) -> None:
    """Allow instances of ``classes`` (e.g. a user's own loss class) inside loaded checkpoints.

    Only do this for classes whose ``__setstate__`` (or plain ``__dict__`` update) is harmless.
    """
    _EXTRA_SAFE.update(classes)


def _subclasses(root: type) -> set[type]:
    found, todo = set(), [root]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def checkpoint_safe_classes() -> list[type]:
    """The classes a checkpoint may instantiate: TorchGAN's and this package's losses and metrics,
    plus those given to :func:`allow_checkpoint_classes`."""
    import torchgan.losses as tg_losses

    from .metrics import CHECKPOINT_SAFE_CLASSES

    losses = {
        cls
        for cls in vars(tg_losses).values()
        if isinstance(cls, type)
        and issubclass(cls, tg_losses.GeneratorLoss | tg_losses.DiscriminatorLoss)
    }
    ours = {
        cls
        for cls in _subclasses(tg_losses.GeneratorLoss) | _subclasses(tg_losses.DiscriminatorLoss)
        if cls.__module__.startswith("torchgan_lstm.")
    }
    return sorted(losses | ours | set(CHECKPOINT_SAFE_CLASSES) | _EXTRA_SAFE, key=str)


def safe_load(path: str | os.PathLike, map_location: torch.device | str | None = None) -> dict:
    """Load a checkpoint without unpickling anything outside the allow-list.

    Args:
        path: the checkpoint file.
        map_location: passed to ``torch.load``.

    Returns:
        The checkpoint's dictionary.

    Raises:
        CheckpointError: the file is missing, unreadable, not a checkpoint dictionary, or asks
            for a class or function outside the allow-list (the message names it).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {str(path)!r} is empty (0 bytes), not a checkpoint")
    try:
        with torch.serialization.safe_globals(checkpoint_safe_classes()):
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = _unpickler_reason(err)
        if not any(marker in reason.lower() for marker in _REFUSAL_MARKERS):
            raise CheckpointError(f"cannot read checkpoint {str(path)!r}: {reason}") from err
        raise CheckpointError(
            f"refusing to load {str(path)!r}: it asks to unpickle something outside the allow-list "
            f"of TorchGAN checkpoint contents ({reason}). If you trust the file and the class is "
            f"yours, allow it with torchgan_lstm.checkpoint.allow_checkpoint_classes(...)"
        ) from err
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        reason = str(err).strip() or f"{type(err).__name__}: not a PyTorch checkpoint"
        raise CheckpointError(f"cannot read checkpoint {str(path)!r}: {reason}") from err
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{str(path)!r} holds a {type(checkpoint).__name__}, not a checkpoint dictionary"
        )
    return checkpoint


def _unpickler_reason(err: Exception) -> str:
    text = str(err).split("WeightsUnpickler error:")[-1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reasons = [line for line in lines if not line.startswith(_BOILERPLATE)]
    return (reasons or lines or [type(err).__name__])[0]


def atomic_save(obj: object, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename over ``path``.

    A crash at any moment leaves either the old file or the new one, never a partial file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes the file private (0600); open() would not
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that :func:`atomic_save` leaves when killed mid-write.

    Args:
        folder: a checkpoint folder.

    Returns:
        The files removed.
    """
    stale = sorted(Path(folder).glob(".*.model.*.tmp"))
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def state_dict_mismatches(
    module: nn.Module, state: Mapping[str, torch.Tensor], saved_in: str = "checkpoint"
) -> list[str]:
    """How ``state`` differs from ``module.state_dict()`` in keys and shapes.

    Args:
        module: the module about to receive ``state``.
        state: the saved state dictionary.
        saved_in: what holds ``state`` (``"checkpoint"``, ``"file"``), for the lines.

    Returns:
        One line per missing, unexpected or differently shaped key; empty when ``state`` fits.
    """
    own = module.state_dict()
    problems: list[str] = []
    problems += [f"{k}: missing from {saved_in}" for k in own if k not in state]
    problems += [f"{k}: not in the model" for k in state if k not in own]
    problems += [
        f"{k}: {saved_in} {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(v.shape)
    ]
    return problems


def check_state_dict(name: str, module: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Check that ``state`` has exactly the keys and shapes of ``module.state_dict()``.

    Args:
        name: what the module is called in the checkpoint (e.g. ``"generator"``), for the message.
        module: the model or optimizer-free module about to receive ``state``.
        state: the saved state dictionary.

    Raises:
        CheckpointError: keys are missing, unexpected, or of another shape; the message lists
            the mismatching parameters with both shapes.
    """
    problems = state_dict_mismatches(module, state)
    if problems:
        shown = _first(problems, 8)
        raise CheckpointError(
            f"the checkpoint's {name} was saved from a different model configuration: {shown}"
        )


def _first(items: Iterable[str], n: int) -> str:
    items = list(items)
    more = f"; and {len(items) - n} more" if len(items) > n else ""
    return "; ".join(items[:n]) + more


def nonfinite_tensors(tensors: object, prefix: str = "") -> list[tuple[str, int, int]]:
    """The floating-point tensors in ``tensors`` that hold NaN or infinite values.

    Args:
        tensors: a tensor, or a state dictionary (nested dictionaries and lists are walked,
            as in an optimizer's state); anything else holds no tensor.
        prefix: prepended to the names, for nested parts.

    Returns:
        ``(name, NaN/inf count, element count)`` per such tensor, names dotted as in
        ``state_dict()`` (``lstm.weight_hh_l0``, ``state.3.exp_avg``); empty when all are finite.
    """
    if isinstance(tensors, torch.Tensor):
        if not (tensors.is_floating_point() or tensors.is_complex()):
            return []
        bad = tensors.numel() - int(torch.isfinite(tensors).sum())
        return [(prefix or "tensor", bad, tensors.numel())] if bad else []
    if isinstance(tensors, Mapping):
        items = tensors.items()
    elif isinstance(tensors, list | tuple):
        items = enumerate(tensors)
    else:
        return []
    found = []
    for key, value in items:
        found += nonfinite_tensors(value, f"{prefix}.{key}" if prefix else str(key))
    return found


def check_finite_weights(checkpoint: Mapping, path: str | os.PathLike) -> None:
    """Refuse a run checkpoint whose weights or optimizer state hold NaN or infinite values:
    such a file samples NaN images and resumes into a run that cannot recover.

    Args:
        checkpoint: the loaded checkpoint dictionary.
        path: the file it came from, for the message.

    Raises:
        CheckpointError: names the file, the part (``generator``, ``generator_ema``,
            ``discriminator``, an optimizer) and the first tensor holding NaN/inf values.
    """
    for part in _WEIGHT_PARTS:
        bad = nonfinite_tensors(checkpoint.get(part))
        if bad:
            name, count, total = bad[0]
            more = f" (and {len(bad) - 1} more tensors)" if len(bad) > 1 else ""
            raise CheckpointError(
                f"checkpoint {str(path)!r}: {part} tensor {name!r} must be finite, got {count} "
                f"NaN/inf values of {total}{more}"
            )

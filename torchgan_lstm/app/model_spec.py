"""A model in a run configuration: a registered class and its constructor arguments, kept as
plain types so that a checkpoint holding it loads with ``weights_only=True``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .. import registry
from .._validation import InputError
from ..models.dcgan import check_dcgan_args

__all__ = ["ModelSpec", "check_plain", "check_roles"]


@dataclass
class ModelSpec:
    """A registered model class and its constructor arguments.

    Args:
        class_path: the class, as an import path (``torchgan_lstm.LSTMGenerator``), its name
            (``LSTMGenerator``) or its registry key (``lstm_generator``).
        init_args: keyword arguments of its constructor.
    """

    class_path: str
    init_args: dict[str, Any] = field(default_factory=dict)

    @property
    def cls(self) -> type[nn.Module]:
        """The registered class (only registered classes are built from a config).

        Raises:
            InputError: no registered model matches ``class_path``.
        """
        return registry.find_class(self.class_path)

    def build(self) -> nn.Module:
        """A freshly initialised model.

        Raises:
            InputError: the class is unknown, or refuses its arguments (TorchGAN's DCGAN models
                raise a bare ``Exception`` for sizes they cannot build, and build from counts
                below 1 that fail later; both become an ``InputError`` naming the class).
        """
        cls = self.cls
        check_dcgan_args(cls, self.init_args)
        try:
            return cls(**self.init_args)
        except TypeError as err:
            raise InputError(f"{cls.__name__} refused its arguments: {err}") from err
        except Exception as err:
            if type(err) is not Exception:
                raise
            raise InputError(
                f"{cls.__name__} refused its arguments: {err} (LSTMGenerator and "
                f"ConvDiscriminator take any size >= 8)"
            ) from err

    def to_dict(self) -> dict:
        """``{"class_path": ..., "init_args": {...}}`` with plain types."""
        return {"class_path": self.class_path, "init_args": _plain(self.init_args)}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def check_plain(role: str, args: dict) -> None:
    """Raise an InputError naming ``role``'s first constructor argument that is not a plain
    value (a number, string, bool, null, or a list or string-keyed mapping of them, such as a
    table model's ``channels``)."""
    for name, value in args.items():
        if not _is_plain(value):
            raise InputError(
                f"{role}.init_args.{name} must be a number, string, bool, null, or a list or "
                f"mapping of them in a run configuration, got {value!r}"
            )


def _is_plain(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return value is None or isinstance(value, bool | int | float | str)


def check_roles(generator: type, discriminator: type) -> None:
    """Raise an InputError unless ``generator`` and ``discriminator`` subclass TorchGAN's."""
    from torchgan.models import Discriminator, Generator

    for role, cls, base in (
        ("generator", generator, Generator),
        ("discriminator", discriminator, Discriminator),
    ):
        if not issubclass(cls, base):
            raise InputError(f"{role} must be a TorchGAN {base.__name__}, got {cls.__name__}")

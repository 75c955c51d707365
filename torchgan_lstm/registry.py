"""A model registry in the manner of ``torchvision.models``: register, list, build by name.

``import torchgan_lstm`` registers this package's models and TorchGAN's DCGAN pair, so a
command line or a config file can name any of them::

    >>> from torchgan_lstm import get_model, list_models
    >>> list_models()
    ['conv_discriminator', 'dcgan_discriminator', 'dcgan_generator', 'lstm_generator']
    >>> generator = get_model("lstm_generator", out_channels=1, decoder="rows")
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatch
from typing import TypeVar

import torch.nn as nn

__all__ = ["get_model", "get_model_builder", "list_models", "register_model"]

_MODELS: dict[str, Callable[..., nn.Module]] = {}
T = TypeVar("T", bound=Callable[..., nn.Module])


def register_model(name: str | None = None) -> Callable[[T], T]:
    """Decorator that registers a model class or builder function under ``name``.

    Args:
        name: the registry key; defaults to the callable's ``__name__`` in lower case.

    Returns:
        The decorator, which returns the callable unchanged.

    Raises:
        ValueError: another callable is already registered under that name.
    """

    def wrapper(fn: T) -> T:
        key = name if name is not None else fn.__name__.lower()
        if key in _MODELS and _MODELS[key] is not fn:
            raise ValueError(f"a model is already registered as {key!r}: {_MODELS[key]!r}")
        _MODELS[key] = fn
        return fn

    return wrapper


def list_models(include: str | None = None) -> list[str]:
    """Registered model names, sorted.

    Args:
        include: an optional shell-style pattern, e.g. ``"*_generator"``.
    """
    return sorted(k for k in _MODELS if include is None or fnmatch(k, include))


def get_model_builder(name: str) -> Callable[..., nn.Module]:
    """The class or function registered under ``name``.

    Raises:
        ValueError: ``name`` is not registered; the message lists the registered names.
    """
    try:
        return _MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; registered models: {list_models()}") from None


def get_model(name: str, **config) -> nn.Module:
    """Build the model registered under ``name`` with keyword arguments ``config``.

    Raises:
        ValueError: ``name`` is not registered, or the model refuses ``config``.
    """
    return get_model_builder(name)(**config)

"""A model registry in the manner of ``torchvision.models``: register, list, build by name.

``import torchgan_lstm`` registers this package's models and TorchGAN's DCGAN pair, so a
command line or a config file can name any of them::

    >>> from torchgan_lstm import get_model, list_models
    >>> list_models()  # doctest: +NORMALIZE_WHITESPACE
    ['conv_discriminator', 'conv_sequence_discriminator', 'dcgan_discriminator',
     'dcgan_generator', 'lstm_generator', 'lstm_sequence_discriminator',
     'lstm_sequence_generator', 'table_sequence_generator']
    >>> list_models("*_generator")
    ['dcgan_generator', 'lstm_generator', 'lstm_sequence_generator', 'table_sequence_generator']
    >>> generator = get_model("lstm_generator", out_channels=1, decoder="rows")
    >>> type(generator).__name__
    'LSTMGenerator'
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from fnmatch import fnmatch
from typing import TypeVar

import torch.nn as nn

from ._validation import InputError

__all__ = [
    "find_class",
    "get_model",
    "get_model_builder",
    "list_models",
    "name_of",
    "register_model",
    "registered_names",
]

_MODELS: dict[str, Callable[..., nn.Module]] = {}
T = TypeVar("T", bound=Callable[..., nn.Module])


def register_model(name: str | T | None = None) -> Callable[[T], T] | T:
    """Decorator that registers a model class or builder function under ``name``.

    Both forms work: ``@register_model()`` or ``@register_model`` (the key is then the
    callable's name in lower case) and ``@register_model("my_generator")``.

    Args:
        name: the registry key; defaults to the callable's ``__name__`` in lower case. Given a
            callable instead (the bare ``@register_model`` form), registers it directly.

    Returns:
        The decorator, which returns the callable unchanged; in the bare form, the callable.

    Raises:
        ValueError: another callable is already registered under that name.
    """
    if callable(name):  # the bare form: @register_model applied to the class itself
        return register_model()(name)

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
        raise InputError(f"unknown model {name!r}; registered models: {list_models()}") from None


def get_model(name: str, **config) -> nn.Module:
    """Build the model registered under ``name`` with keyword arguments ``config``.

    Raises:
        ValueError: ``name`` is not registered, or the model refuses ``config``.
    """
    return get_model_builder(name)(**config)


def find_class(class_path: str) -> type[nn.Module]:
    """The registered model class that ``class_path`` names, found without importing anything.

    Only registered classes are found, and only by names that need no import, so a
    configuration (e.g. inside a checkpoint or run folder from someone else) can never make
    this package import or build anything else.

    Args:
        class_path: a registry key (``"lstm_generator"``), a class name (``"LSTMGenerator"``) or
            a dotted path under which the class is already importable
            (``"torchgan_lstm.LSTMGenerator"``, ``"torchgan_lstm.models.lstm.LSTMGenerator"``,
            ``"torchgan.models.DCGANDiscriminator"``).

    Raises:
        InputError: no registered class matches; the message lists the registered names.
    """
    if isinstance(class_path, str):
        found = _MODELS.get(class_path)
        if isinstance(found, type):
            return found
        module, _, name = class_path.rpartition(".")
        for cls in _MODELS.values():
            if isinstance(cls, type) and cls.__name__ == name and _reachable(cls, module):
                return cls
    raise InputError(
        f"class_path {class_path!r} is not a registered model; registered: {registered_names()} "
        "(a model of your own: register it with @torchgan_lstm.register_model(); see the "
        "security page for TORCHGAN_LSTM_IMPORT)"
    )


def registered_names() -> list[str]:
    """The class names of the registered model classes, sorted (e.g. ``"LSTMGenerator"``)."""
    return sorted(c.__name__ for c in _MODELS.values() if isinstance(c, type))


def _reachable(cls: type, module: str) -> bool:
    # "" (a bare class name) or a module that is already imported and holds the class itself:
    # resolving such a path imports nothing.
    if not module:
        return True
    loaded = sys.modules.get(module)
    return loaded is not None and getattr(loaded, cls.__name__, None) is cls


def name_of(builder: Callable[..., nn.Module]) -> str:
    """The key ``builder`` (a class or function) is registered under.

    Raises:
        InputError: it is not registered.
    """
    for key, value in _MODELS.items():
        if value is builder:
            return key
    raise InputError(f"{builder!r} is not a registered model; registered: {list_models()}")

"""A trained generator exported for use outside training, loadable without pickle.

An export is a folder of two files:

- ``model.safetensors``: the generator's state dict, tensors only (readable by any
  safetensors reader, e.g. ``safetensors.torch.load_file``);
- ``config.json``: how to rebuild the model, ``{"format": "torchgan-lstm-export", "version": 1,
  "model": <registry name>, "args": {<constructor arguments>}, "torchgan_lstm_version": ...}``.

:func:`load_exported` builds the model named in ``config.json`` from the registry
(:func:`torchgan_lstm.get_model`) and loads the weights into it, checking every key and shape.
Neither step unpickles anything: an export from a stranger can name a model of another size or
hold wrong numbers, but it cannot run code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .._validation import InputError
from ..checkpoint import nonfinite_tensors, state_dict_mismatches
from ..registry import get_model_builder, list_models

__all__ = [
    "CONFIG_FILE",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "WEIGHTS_FILE",
    "ExportError",
    "export_generator",
    "load_exported",
]

EXPORT_FORMAT = "torchgan-lstm-export"
EXPORT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
_SHOWN_MISMATCHES = 8


class ExportError(InputError):
    """An export cannot be written, or a folder is not an export this version can load."""


def _check_json_args(model_args: Mapping[str, Any]) -> dict[str, Any]:
    """``model_args`` as a plain dict, if JSON can hold every value exactly enough to rebuild."""
    if not isinstance(model_args, Mapping):
        raise InputError(f"model_args must be a dict, got {type(model_args).__name__}")
    for key, value in model_args.items():
        if not isinstance(key, str):
            raise InputError(f"model_args keys must be strings, got {key!r}")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise InputError(
                f"model_args[{key!r}] must be JSON-serialisable (numbers, strings, booleans, "
                f"None, lists, dicts) to be written to {CONFIG_FILE}, got {value!r} ({err})"
            ) from None
    return dict(model_args)


def _build(model_name: str, model_args: dict[str, Any], where: str) -> nn.Module:
    """The registry's ``model_name`` built with ``model_args``, without touching the caller's RNG
    (the weights are about to be replaced, so their random initialisation must not cost the
    caller a step of its random stream)."""
    try:
        builder = get_model_builder(model_name)
    except ValueError:
        raise ExportError(
            f"{where}: model {model_name!r} is not registered; registered models: {list_models()}"
        ) from None
    try:
        with torch.random.fork_rng(devices=[]):
            return builder(**model_args)
    # Broad on purpose: the registry also holds TorchGAN's models, which raise bare Exception.
    except Exception as err:
        raise ExportError(f"{where}: {model_name}(**{model_args!r}) failed: {err}") from err


def _check_fits(model: nn.Module, state: Mapping[str, torch.Tensor], problem: str) -> None:
    """Raise ``ExportError("<problem>: <mismatching keys>")`` unless ``state`` fits ``model``."""
    mismatches = state_dict_mismatches(model, state, saved_in="file")
    if mismatches:
        more = len(mismatches) - _SHOWN_MISMATCHES
        shown = "; ".join(mismatches[:_SHOWN_MISMATCHES])
        raise ExportError(f"{problem}: {shown}" + (f"; and {more} more" if more > 0 else ""))


def _file_tensors(generator: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict as safetensors stores it: every tensor a contiguous CPU copy of its own.

    safetensors refuses tensors that share memory (tied weights, views) and non-contiguous ones;
    an own copy per name satisfies both, at the cost of storing tied weights once per name.
    """
    tensors = {}
    for key, value in generator.state_dict().items():
        if not isinstance(value, torch.Tensor):
            raise ExportError(
                f"the generator's state dict holds {key!r}, a {type(value).__name__}; only "
                f"tensors can be exported"
            )
        tensors[key] = value.detach().to("cpu", copy=True).contiguous()
    return tensors


def export_generator(
    generator: nn.Module,
    model_name: str,
    model_args: Mapping[str, Any],
    out_dir: str | os.PathLike,
) -> Path:
    """Write ``generator`` as ``model.safetensors`` + ``config.json`` into ``out_dir``.

    Args:
        generator: the trained model (any device; its weights are copied to the CPU).
        model_name: its registry name, e.g. ``"lstm_generator"`` or ``"dcgan_generator"``.
        model_args: the constructor arguments it was built with; JSON-serialisable values only.
        out_dir: the folder to write (created if missing; the two files are replaced).

    Returns:
        ``out_dir`` as a ``Path``.

    Raises:
        ValueError: a value of ``model_args`` cannot be written as JSON (the message names it).
        ExportError (an ``InputError``): ``model_name`` is not registered, the registry cannot
            build it from ``model_args``, or the model it builds does not have ``generator``'s
            parameter names and shapes (the export could not be loaded back).
    """
    import torchgan_lstm

    args = _check_json_args(model_args)
    tensors = _file_tensors(generator)
    rebuilt = _build(model_name, args, "export_generator")
    _check_fits(
        rebuilt,
        tensors,
        f"the generator's parameters are not those of {model_name}(**model_args), so the export "
        f"could not be loaded back",
    )
    config = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "model": model_name,
        "args": args,
        "torchgan_lstm_version": torchgan_lstm.__version__,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, out / WEIGHTS_FILE, metadata={"format": "pt"})
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2, allow_nan=False) + "\n")
    return out


def _read_config(path: Path) -> tuple[str, dict[str, Any]]:
    """The model name and arguments from an export's ``config.json``, checked."""
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ExportError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(config, dict) or config.get("format") != EXPORT_FORMAT:
        raise ExportError(f"{path} is not a torchgan-lstm export (no format {EXPORT_FORMAT!r})")
    version = config.get("version")
    if version != EXPORT_VERSION:
        raise ExportError(
            f"{path} has export version {version!r}; this torchgan-lstm reads version "
            f"{EXPORT_VERSION} (written by torchgan-lstm "
            f"{config.get('torchgan_lstm_version', 'unknown')})"
        )
    name, args = config.get("model"), config.get("args")
    if not isinstance(name, str):
        raise ExportError(f"{path}: 'model' must be a registry name, got {name!r}")
    if not isinstance(args, dict):
        raise ExportError(f"{path}: 'args' must be an object of constructor arguments")
    return name, args


def load_exported(directory: str | os.PathLike, device: torch.device | str = "cpu") -> nn.Module:
    """Load a generator written by :func:`export_generator`, in eval mode.

    Args:
        directory: the export's folder, holding ``config.json`` and ``model.safetensors``.
        device: where the model's weights are put.

    Returns:
        The model named in ``config.json``, built from the registry with its arguments, holding
        the exported weights, in eval mode, on ``device``.

    Raises:
        FileNotFoundError: one of the two files is missing.
        ExportError (an ``InputError``): ``config.json`` is not an export this version reads,
            names an unregistered model or arguments the model refuses, or the weights file is
            unreadable or does not fit the model (the message lists the mismatching keys with
            both shapes), or a tensor holds NaN or infinite values (the message names it).
    """
    folder = Path(directory)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for path in (config_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: an export folder holds {CONFIG_FILE} and {WEIGHTS_FILE}"
            )
    name, args = _read_config(config_path)
    model = _build(name, args, str(config_path))
    try:
        state = load_file(weights_path, device="cpu")
    except (SafetensorError, OSError) as err:
        raise ExportError(f"{weights_path} is not a readable safetensors file: {err}") from None
    _check_fits(model, state, f"{weights_path} does not fit {name}(**args) from {CONFIG_FILE}")
    bad = nonfinite_tensors(state)
    if bad:
        tensor, count, total = bad[0]
        raise ExportError(
            f"{weights_path}: tensor {tensor!r} must be finite, got {count} NaN/inf values of "
            f"{total}" + (f" (and {len(bad) - 1} more tensors)" if len(bad) > 1 else "")
        )
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()

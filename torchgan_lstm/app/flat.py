"""The flat configuration of torchgan-lstm 0.1.0, read into the nested one.

0.1.0 kept one flat table of fields (``hidden_size``, ``d_norm``, ``generator="lstm"``...). Its
checkpoints hold it, and the recorded benchmark variants are written in it; :func:`from_flat`
says what each field meant in :class:`~torchgan_lstm.app.config.RunConfig`'s form.
"""

from __future__ import annotations

import dataclasses

from .._validation import InputError, check_choice
from .config import RunSettings

__all__ = ["FLAT_DEFAULTS", "FLAT_MODEL_FIELDS", "from_flat"]

# 0.1.0's defaults.
FLAT_DEFAULTS = {
    "dataset": "fashion-mnist", "data_root": None, "download": True, "image_size": 32,
    "channels": 1, "generator": "lstm", "decoder": "conv", "encoding_dims": 100,
    "hidden_size": 256, "num_layers": 2, "lstm_dropout": 0.0, "g_step_channels": 32,
    "g_batchnorm": True, "latent_skip": True, "lstm_gate": None, "rows_per_step": 1,
    "canvas_steps": 4, "discriminator": "dcgan", "d_step_channels": 32, "d_layers": 3,
    "d_dropout": 0.3, "d_norm": "none", "d_minibatch_features": 0, "g_lr": 2e-4, "d_lr": 2e-4,
    "ema_decay": 0.0,
}  # fmt: skip
_FLAT_MODELS = {
    "generator": {"lstm": "torchgan_lstm.LSTMGenerator", "dcgan": "torchgan.models.DCGANGenerator"},
    "discriminator": {
        "conv": "torchgan_lstm.ConvDiscriminator",
        "dcgan": "torchgan.models.DCGANDiscriminator",
    },
}
_FLAT_ARGS = {
    "generator": {
        "encoding_dims": "encoding_dims",
        "g_step_channels": "step_channels",
        "g_batchnorm": "batchnorm",
    },
    "lstm": {
        "decoder": "decoder",
        "hidden_size": "hidden_size",
        "num_layers": "num_layers",
        "lstm_dropout": "dropout",
        "latent_skip": "latent_skip",
        "lstm_gate": "lstm_gate",
        "rows_per_step": "rows_per_step",
        "canvas_steps": "steps",
    },
    "discriminator": {"d_step_channels": "step_channels"},
    "conv": {
        "d_layers": "num_layers",
        "d_dropout": "dropout",
        "d_norm": "norm",
        "d_minibatch_features": "minibatch_features",
    },
}
_FLAT_DATA = {"dataset": "dataset", "data_root": "root", "download": "download"}
# Flat fields that only the LSTM generator / ConvDiscriminator read.
FLAT_MODEL_FIELDS = {"lstm": tuple(_FLAT_ARGS["lstm"]), "conv": tuple(_FLAT_ARGS["conv"])}


def from_flat(flat: dict) -> dict:
    """The nested form of a flat configuration of torchgan-lstm 0.1.0.

    Missing fields take 0.1.0's defaults, except ``lstm_gate``: a configuration without it was
    written before the gate existed, so its model has none.

    Raises:
        InputError: an unknown key, or an unknown generator or discriminator name.
    """
    known = set(FLAT_DEFAULTS) | {f.name for f in dataclasses.fields(RunSettings)}
    unknown = sorted(set(flat) - known)
    if unknown:
        raise InputError(f"unknown run configuration keys {unknown}; known: {sorted(known)}")
    flat = {**FLAT_DEFAULTS, "lstm_gate": False, **flat}
    generator, discriminator = flat["generator"], flat["discriminator"]
    for role, name in (("generator", generator), ("discriminator", discriminator)):
        check_choice(role, name, _FLAT_MODELS[role])
    g_args = {v: flat[k] for k, v in _FLAT_ARGS["generator"].items()}
    if generator == "lstm":
        g_args |= {v: flat[k] for k, v in _FLAT_ARGS["lstm"].items()}
    d_args = {v: flat[k] for k, v in _FLAT_ARGS["discriminator"].items()}
    if discriminator == "conv":
        d_args |= {v: flat[k] for k, v in _FLAT_ARGS["conv"].items()}
    data = {v: flat[k] for k, v in _FLAT_DATA.items()}
    data |= {"image_size": flat["image_size"], "channels": flat["channels"]}
    settings = {f.name for f in dataclasses.fields(RunSettings)}
    out = {k: v for k, v in flat.items() if k in settings}
    out["data"] = data
    out["generator"] = {"class_path": _FLAT_MODELS["generator"][generator], "init_args": g_args}
    out["discriminator"] = {
        "class_path": _FLAT_MODELS["discriminator"][discriminator],
        "init_args": d_args,
    }
    return out

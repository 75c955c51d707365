"""The run configuration: data, the two models' constructor arguments, optimisation, run settings.

A :class:`RunConfig` is written once and read everywhere: the command line is derived from it
(:mod:`torchgan_lstm.app.cli`), every run folder keeps it as ``config.yaml``, every checkpoint
holds it as plain types (loadable with ``torch.load(weights_only=True)``), and ``--resume``,
``sample``, ``evaluate`` and ``export`` rebuild the models from it. The generator and
discriminator parts are exactly a registered model class and its constructor arguments
(``class_path`` / ``init_args``, as in Lightning's CLI), so a new model or option is added in one
place: its constructor. The models' shape arguments (``out_size``/``in_size``,
``out_channels``/``in_channels``) follow the data part. The data part is
:mod:`~torchgan_lstm.app.data_config`, a model part :mod:`~torchgan_lstm.app.model_spec`.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from torch import nn

from .._validation import InputError, check_choice, check_int
from ..losses import LOSS_FAMILIES, has_batch_norm, needs_double_backward
from ..trainer.strategy import DEVICES
from .data_config import (
    DataConfig,
    check_data,
    is_sequence_dataset,
    natural_channels,
    sequence_features,
    table_channels,
    table_classes,
)
from .model_spec import ModelSpec, check_plain, check_roles
from .resources import check_run_memory

__all__ = [
    "KIND_DEFAULTS",
    "STORED_DEFAULTS",
    "DataConfig",
    "ModelSpec",
    "RunConfig",
    "RunSettings",
    "is_sequence_dataset",
    "load_config",
    "natural_channels",
    "sequence_features",
    "with_stored_defaults",
]


def _default_generator() -> ModelSpec:
    # One LSTM layer of 128 (the class's default is the proposal's 256 x 2): level with it per
    # step over 5 paired seeds, at about 60 % of its step time. Its gate moves 10 times faster
    # than the other weights (the class's default is 1): ahead of DCGAN's generator at equal
    # steps and at DCGAN's time budget over 5 paired seeds (README, Benchmarks).
    return ModelSpec(
        "torchgan_lstm.LSTMGenerator",
        {"step_channels": 32, "hidden_size": 128, "num_layers": 1, "gate_scale": 10.0},
    )


# Constructor arguments whose defaults changed, with their earlier defaults. A configuration
# resolved now records the current default explicitly; a checkpoint's stored configuration
# that names the class without the argument was written under the earlier default and
# rebuilds that (see :func:`with_stored_defaults`). Both step_channels were 64 up to 0.2.0.
STORED_DEFAULTS = {
    "ConvDiscriminator": {"step_channels": 64},
    "LSTMGenerator": {"step_channels": 64},
}


def with_stored_defaults(config: RunConfig) -> RunConfig:
    """``config`` (read from a stored checkpoint) with the earlier defaults of
    :data:`STORED_DEFAULTS` filled in where its models leave those arguments out."""
    for role in ("generator", "discriminator"):
        spec = getattr(config, role)
        for arg, value in STORED_DEFAULTS.get(spec.cls.__name__, {}).items():
            spec.init_args.setdefault(arg, value)
    return config


def _record_changed_defaults(spec: ModelSpec) -> None:
    parameters = inspect.signature(spec.cls).parameters
    for arg in STORED_DEFAULTS.get(spec.cls.__name__, {}):
        spec.init_args.setdefault(arg, parameters[arg].default)


def _default_discriminator() -> ModelSpec:
    return ModelSpec("torchgan_lstm.ConvDiscriminator", {"step_channels": 32})


# The default pair for sequence datasets: the one the sequence benchmark measured (an LSTM
# generator with one noise value per step and a global noise vector, a convolutional critic
# reading whitened features). Whitening floor 1.0 (a centring and mild rescale): with the
# command line's defaults it scored 0.013 on Stocks where 0.1 scored 0.147, and 0.025 against
# 0.012 on Sines (seed 0 each); correlated columns such as prices need the milder floor.
SEQUENCE_DEFAULTS = {
    "generator": ModelSpec(
        "torchgan_lstm.LSTMSequenceGenerator",
        {"encoding_dims": 1, "global_noise_dims": 16, "hidden_size": 64, "num_layers": 1},
    ),
    "discriminator": ModelSpec(
        "torchgan_lstm.ConvSequenceDiscriminator", {"input_norm": "whiten", "whitening_floor": 1.0}
    ),
}
# For tables the generator makes every packed channel its own way (attributes, categories,
# lengths, gaps: models/table.py); the critic reads one-hot and flag channels unwhitened.
TABLE_DEFAULTS = {
    "generator": ModelSpec("torchgan_lstm.TableSequenceGenerator", {}),
    "discriminator": ModelSpec("torchgan_lstm.ConvSequenceDiscriminator", {}),
}


# Settings whose default depends on the data's kind, used where a RunConfig leaves them null:
# for images DCGAN's recipe with the generator at twice its rate and a short average of its
# weights (README, "A faster generator", "... with a short average"); for sequences the
# recipe the sequence benchmark measured (benchmarks/results/sequence-notes.md), whose
# generator average is most of its score.
KIND_DEFAULTS = {
    "images": {"batch_size": 64, "g_lr": 4e-4, "d_lr": 2e-4, "ema_decay": 0.99, "max_steps": 1000},
    "sequences": {
        "batch_size": 128,
        "g_lr": 1e-3,
        "d_lr": 1e-3,
        "ema_decay": 0.999,
        "max_steps": 4000,
    },
}


def _fill_kind_defaults(config: RunSettings, sequences: bool) -> None:
    for name, value in KIND_DEFAULTS["sequences" if sequences else "images"].items():
        if getattr(config, name) is None:
            setattr(config, name, value)


@dataclass
class RunSettings:
    """How the models are trained and where the run writes.

    Args:
        loss: loss family: minimax, minimax-smoothed, wgan-gp, lsgan, feature-matching, hinge,
            dragan, historical.
        ncritic: discriminator steps per generator step.
        batch_size: samples per step (under torchrun: the global batch, split over the ranks);
            null: the data kind's default (:data:`KIND_DEFAULTS`: 64 images, 128 sequences).
        g_lr: Adam learning rate of the generator; null: the data kind's default (4e-4 images,
            1e-3 sequences).
        d_lr: Adam learning rate of the discriminator; null: the data kind's default (2e-4
            images, 1e-3 sequences).
        betas: Adam's (beta1, beta2) for both models.
        max_steps: training steps in the whole run; null: the data kind's default (1,000
            images, 4,000 sequences).
        epochs: passes over the dataset instead of max_steps (null: use max_steps).
        eval_every: steps between checkpoints, sample grids and metrics.
        metric_samples: generated images per metric evaluation (0: no metrics).
        sample_size: images per sample grid.
        seed: seeds the models, the noise and the data order.
        device: auto (CUDA when available), cpu or cuda.
        out: output folder of the run.
        ema_decay: keep an exponential moving average of the generator with this decay (e.g.
            0.999) for samples, metrics and checkpoints; 0: none; null: the data kind's default
            (0.99 images, 0.999 sequences).
        max_seconds: also stop once this many seconds were spent in training steps (null: no
            budget).
        amp: bf16 autocast around both models (best on CUDA).
        compile: torch.compile both models (not with gradient-penalty losses).
        channels_last: NHWC memory format for the convolutions.
        log_every: read the losses and gradient statistics from the device every this many
            steps (and before each checkpoint) instead of after every step, so TorchGAN's
            logging does not stall a GPU; null: after every step, as TorchGAN does.
    """

    loss: str = "minimax"
    ncritic: int = 1
    batch_size: int | None = None
    g_lr: float | None = None
    d_lr: float | None = None
    betas: tuple[float, float] = (0.5, 0.999)
    max_steps: int | None = None
    epochs: int | None = None
    eval_every: int = 500
    metric_samples: int = 2000
    sample_size: int = 64
    seed: int = 0
    device: str = "auto"
    out: str = "runs/train"
    ema_decay: float | None = None
    max_seconds: float | None = None
    amp: bool = False
    compile: bool = False
    channels_last: bool = False
    log_every: int | None = None


@dataclass
class RunConfig(RunSettings):
    """Everything that defines a training run: :class:`RunSettings` plus the data and models.

    Args:
        data: the training data (:class:`DataConfig`).
        generator: the generator's class and constructor arguments (:class:`ModelSpec`).
        discriminator: the discriminator's class and constructor arguments.
    """

    data: DataConfig = field(default_factory=DataConfig)
    generator: ModelSpec = field(default_factory=_default_generator)
    discriminator: ModelSpec = field(default_factory=_default_discriminator)

    def resolved(self) -> RunConfig:
        """A copy whose models' shape arguments are set from the data part, whose null settings
        take the data kind's defaults (:data:`KIND_DEFAULTS`), and, for a sequence dataset,
        whose default models are the sequence pair.

        Raises:
            InputError: a model's shape argument was set to another value than the data's, or
                a model does not make the data's kind (images or sequences).
        """
        config = copy.deepcopy(self)
        data = config.data
        _fill_kind_defaults(config, data.sequences)
        if data.sequences:
            for role, default in (("generator", _default_generator()),
                                  ("discriminator", _default_discriminator())):  # fmt: skip
                if getattr(config, role) == default:
                    defaults = TABLE_DEFAULTS if data.table else SEQUENCE_DEFAULTS
                    setattr(config, role, copy.deepcopy(defaults[role]))
        else:
            data.channels = natural_channels(data.dataset, data.channels)
        for role, values in _shape_values(config).items():
            spec = getattr(config, role)
            _check_modality(role, spec, data)
            _record_changed_defaults(spec)
            for arg, (value, source) in values.items():
                given = spec.init_args.get(arg)
                if value is None:  # sequence features: read from the data only when missing
                    spec.init_args[arg] = sequence_features(data) if given is None else given
                    continue
                if given is not None and _norm_size(given) != _norm_size(value):
                    raise InputError(
                        f"{role}.init_args.{arg}={given!r} disagrees with data.{source}="
                        f"{value!r}; the data part sets it (leave {arg} out)"
                    )
                spec.init_args[arg] = value
            if data.table:
                _table_args(role, spec, data)
        return config

    def validate(self) -> RunConfig:
        """Check every field and that the models build; return the resolved copy.

        Raises:
            InputError: a field is out of range or unknown, a model refuses its arguments, the
                loss cannot train these models, or the run would need more memory than this
                machine has; the message names the field and value.
        """
        check_data(self.data)
        check_choice("loss", self.loss, LOSS_FAMILIES)
        check_choice("device", self.device, DEVICES)
        filled = copy.copy(self)
        _fill_kind_defaults(filled, self.data.sequences)
        for name in ("batch_size", "max_steps", "eval_every", "ncritic", "sample_size"):
            check_int(name, getattr(filled, name))
        for name in ("epochs", "log_every"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name))
        check_int("metric_samples", self.metric_samples, minimum=0)
        for name in ("g_lr", "d_lr"):  # above 1e38 Adam's float32 step size overflows
            if not 0 < getattr(filled, name) <= 1e38:
                raise InputError(f"{name} must be in (0, 1e38], got {getattr(filled, name)}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise InputError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if not 0.0 <= filled.ema_decay < 1.0:
            raise InputError(
                f"ema_decay must be in [0, 1) (0: no averaging), got {filled.ema_decay}"
            )
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise InputError(f"max_seconds must be > 0, got {self.max_seconds}")
        if self.compile and needs_double_backward(self.loss):
            raise InputError(
                f"compile=True cannot train loss={self.loss!r}: its gradient penalty needs a "
                "double backward, which torch.compile does not support; drop compile"
            )
        check_roles(self.generator.cls, self.discriminator.cls)
        config = self.resolved()
        for role in ("generator", "discriminator"):
            check_plain(role, getattr(config, role).init_args)
        check_run_memory(config)  # before anything is built
        _, discriminator = config.build_models()
        pack = getattr(discriminator, "pack", 1)
        if config.batch_size % pack:
            raise InputError(
                f"batch_size must be a multiple of the discriminator's pack={pack} (it judges "
                f"samples in groups of {pack}), got {config.batch_size}"
            )
        if needs_double_backward(self.loss) and has_batch_norm(discriminator):
            raise InputError(
                f"loss={self.loss!r} penalises each image's gradient, but the discriminator's "
                f"batch norm couples the images of a batch; use a discriminator without batch "
                f"norm, e.g. ConvDiscriminator with norm 'none', 'layer' or 'spectral' (got "
                f"{type(discriminator).__name__})"
            )
        return config

    def build_models(self) -> tuple[nn.Module, nn.Module]:
        """Fresh ``(generator, discriminator)`` from a resolved config."""
        return self.generator.build(), self.discriminator.build()

    def to_dict(self) -> dict:
        """Plain types only (checkpoints stay loadable with ``weights_only=True``)."""
        out = {
            "data": dataclasses.asdict(self.data),
            "generator": self.generator.to_dict(),
            "discriminator": self.discriminator.to_dict(),
        }
        out |= {f.name: getattr(self, f.name) for f in dataclasses.fields(RunSettings)}
        out["betas"] = list(self.betas)
        return out

    def to_yaml(self) -> str:
        """The configuration as YAML, readable by ``torchgan-lstm train --config``."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """Inverse of :meth:`to_dict`; also reads the flat configurations that checkpoints of
        torchgan-lstm 0.1.0 hold.

        Raises:
            InputError: unknown keys, or parts of the wrong shape.
        """
        if "generator" in data and not isinstance(data["generator"], dict | ModelSpec):
            from .flat import from_flat

            data = from_flat(data)
        data = dict(data)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"unknown run configuration keys {unknown}; known: {sorted(names)}")
        if "betas" in data:
            data["betas"] = tuple(data["betas"])
        if "data" in data:
            data["data"] = _dataclass_from("data", DataConfig, data["data"])
        for role in ("generator", "discriminator"):
            if role in data:
                data[role] = _dataclass_from(role, ModelSpec, data[role])
                data[role].init_args = dict(data[role].init_args or {})
        return cls(**data)


def load_config(path: str | Path) -> RunConfig:
    """Read a run configuration written by :meth:`RunConfig.to_yaml` (e.g. a run's config.yaml).

    Raises:
        InputError: the file is missing, not YAML, or not a run configuration.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise InputError(f"config file {str(path)!r} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise InputError(f"config file {str(path)!r} holds no mapping of settings")
    return RunConfig.from_dict(data)


def _shape_values(config: RunConfig) -> dict[str, dict[str, tuple[Any, str]]]:
    # role -> constructor argument -> (value, the data field it comes from); None: read the data
    data = config.data
    if data.sequences:
        return {
            "generator": {"seq_len": (data.seq_len, "seq_len"), "features": (None, "dataset")},
            "discriminator": {"features": (None, "dataset")},
        }
    size, channels = (data.image_size, "image_size"), (data.channels, "channels")
    return {
        "generator": {"out_size": size, "out_channels": channels},
        "discriminator": {"in_size": size, "in_channels": channels},
    }


def _table_args(role: str, spec: ModelSpec, data: DataConfig) -> None:
    """A table model's packed layout, and a label column's classes, read from the data."""
    parameters = inspect.signature(spec.cls).parameters
    if "channels" in parameters and spec.init_args.get("channels") is None:
        spec.init_args["channels"] = table_channels(data)
    if not data.label:
        return
    classes = table_classes(data)
    label_type = spec.init_args.get(
        "label_type", getattr(parameters.get("label_type"), "default", None)
    )
    if label_type in (None, "none") and role == "discriminator":
        return  # an unconditional critic (or, with num_classes, an auxiliary classifier)
    if label_type in (None, "none"):
        raise InputError(
            f"data.label={data.label!r} conditions on {classes} classes, but generator "
            f"{spec.cls.__name__} is unconditional (label_type={label_type!r}); add "
            f"--generator.label_type generated (and --discriminator.label_type required for "
            f"a projection critic); num_classes comes from the data"
        )
    given = spec.init_args.get("num_classes")
    if given is not None and given != classes:
        raise InputError(
            f"{role}.init_args.num_classes={given!r} disagrees with data.label={data.label!r}, "
            f"which has {classes} classes; the data sets it (leave num_classes out)"
        )
    spec.init_args["num_classes"] = classes


def _check_modality(role: str, spec: ModelSpec, data: DataConfig) -> None:
    needed = "seq_len" if data.sequences and role == "generator" else "features"
    if not data.sequences:
        needed = "out_size" if role == "generator" else "in_size"
    if needed not in inspect.signature(spec.cls).parameters:
        kind = "sequences" if data.sequences else "images"
        default = (SEQUENCE_DEFAULTS if data.sequences else {
            "generator": _default_generator(), "discriminator": _default_discriminator()
        })[role].class_path  # fmt: skip
        raise InputError(
            f"{role} {spec.cls.__name__} does not make {kind}, but data.dataset="
            f"{data.dataset!r} holds {kind}; use e.g. {default}"
        )


def _dataclass_from(name: str, cls: type, value: Any):
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise InputError(f"{name} must be a mapping, got {value!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise InputError(f"unknown keys {unknown} in {name}; known: {sorted(known)}")
    return cls(**value)


def _norm_size(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) == 2 and value[0] == value[1]:
        return value[0]
    return list(value) if isinstance(value, tuple) else value

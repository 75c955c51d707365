"""One training run, described by a :class:`RunConfig` and carried out by TorchGAN's ``Trainer``.

There is no private training loop: this module builds the models, losses, metrics and data
loader, hands them to ``torchgan.trainer.Trainer`` and lets it train, log and checkpoint.
TorchGAN counts in epochs; a run here counts in steps, so the data loader is wrapped in a
:class:`StepLoader` whose "epochs" are ``eval_every`` steps long: TorchGAN then writes a
checkpoint, a sample grid and the metrics every ``eval_every`` steps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch.optim import Adam
from torchgan.trainer import Trainer

from .. import registry
from .._validation import check_choice, check_int
from ..checkpoint import CheckpointError, check_state_dict, remove_stale_temporaries, safe_load
from ..data import build_dataset, make_dataloader
from ..losses import DOUBLE_BACKWARD_LOSSES, LOSS_FAMILIES, build_losses
from ..models.lstm import gate_applies
from ..trainer.acceleration import accelerate
from ..trainer.ema import EMATrainer, GeneratorEMA
from ..trainer.guards import attach_divergence_guard
from ..trainer.progress import attach_progress_bar
from ..trainer.steps import BudgetSpent, StepLoader

__all__ = [
    "GENERATORS",
    "BudgetSpent",
    "RunConfig",
    "StepLoader",
    "build_generator",
    "build_trainer",
    "load_generator",
    "resolve_device",
    "train",
    "write_outputs",
]

GENERATORS = {"lstm": "lstm_generator", "dcgan": "dcgan_generator"}
DISCRIMINATORS = {"conv": "conv_discriminator", "dcgan": "dcgan_discriminator"}
# Fields that fix the shape of the models: a checkpoint must agree on all of them.
MODEL_FIELDS = (
    "image_size",
    "channels",
    "generator",
    "decoder",
    "encoding_dims",
    "hidden_size",
    "num_layers",
    "g_step_channels",
    "g_batchnorm",
    "latent_skip",
    "lstm_gate",
    "rows_per_step",
    "canvas_steps",
    "discriminator",
    "d_step_channels",
    "d_layers",
    "d_norm",
    "d_minibatch_features",
)
# Resuming also needs the same step count per TorchGAN epoch, which the checkpoint counts in.
RESUME_FIELDS = (*MODEL_FIELDS, "eval_every")
# Fields that only the LSTM generator / our ConvDiscriminator read: set for another model they
# would do nothing, so they are refused there.
LSTM_FIELDS = (
    "decoder",
    "hidden_size",
    "num_layers",
    "lstm_dropout",
    "latent_skip",
    "lstm_gate",
    "rows_per_step",
    "canvas_steps",
)
CONV_D_FIELDS = ("d_layers", "d_dropout", "d_norm", "d_minibatch_features")
# What fields added later meant in checkpoints written before them (lstm_gate: off).
_LEGACY_DEFAULTS = {"lstm_gate": False}


@dataclass
class RunConfig:
    """Everything that defines a training run; saved inside every checkpoint.

    Model fields mirror the constructor arguments of :class:`~torchgan_lstm.LSTMGenerator`
    and :class:`~torchgan_lstm.ConvDiscriminator` (``g_``/``d_`` prefixes where both have one).
    """

    dataset: str = "fashion-mnist"
    data_root: str | None = None
    download: bool = True
    image_size: int = 32
    channels: int = 1
    generator: str = "lstm"
    decoder: str = "conv"
    encoding_dims: int = 100
    hidden_size: int = 256
    num_layers: int = 2
    lstm_dropout: float = 0.0
    g_step_channels: int = 32
    g_batchnorm: bool = True
    latent_skip: bool = True
    # None: on where it applies (the conv decoder with its latent skip); see LSTMGenerator.
    lstm_gate: bool | None = None
    rows_per_step: int = 1
    canvas_steps: int = 4
    # TorchGAN's DCGANDiscriminator: the quality issue's winning setting (README, Benchmarks).
    discriminator: str = "dcgan"
    d_step_channels: int = 32
    d_layers: int = 3
    d_dropout: float = 0.3
    d_norm: str = "none"
    d_minibatch_features: int = 0
    loss: str = "minimax"
    ncritic: int = 1
    batch_size: int = 64
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    max_steps: int = 1000
    epochs: int | None = None
    eval_every: int = 500
    metric_samples: int = 2000
    seed: int = 0
    device: str = "auto"
    out: str = "runs/train"
    sample_size: int = 64
    # Exponential moving average of the generator for samples, metrics and checkpoints (0: off).
    ema_decay: float = 0.0
    # Speed switches (torchgan_lstm.acceleration); they do not change the models' weights.
    amp: bool = False
    compile: bool = False
    channels_last: bool = False
    # Stop once this many seconds have been spent in training steps (evaluations not counted).
    max_seconds: float | None = None

    def validate(self) -> RunConfig:
        """Check the fields that no model constructor checks; return ``self``.

        Raises:
            ValueError: a field is out of range or unknown; the message names it.
        """
        check_choice("generator", self.generator, GENERATORS)
        check_choice("discriminator", self.discriminator, DISCRIMINATORS)
        check_choice("loss", self.loss, LOSS_FAMILIES)
        check_choice("device", self.device, ("auto", "cpu", "cuda"))
        check_int("image_size", self.image_size, minimum=8)
        for name in ("batch_size", "max_steps", "eval_every", "ncritic", "sample_size"):
            check_int(name, getattr(self, name))
        if self.epochs is not None:
            check_int("epochs", self.epochs)
        for role, name in (("generator", self.generator), ("discriminator", self.discriminator)):
            if name == "dcgan" and not _dcgan_size(self.image_size):
                hint = ""
                if role == "discriminator":
                    hint = " (discriminator='conv' takes any size >= 8)"
                raise ValueError(
                    f"image_size must be a power of two >= 16 for TorchGAN's DCGAN {role}, "
                    f"got {self.image_size}{hint}"
                )
        self._check_model_fields()
        check_int("metric_samples", self.metric_samples, minimum=0)
        for name in ("g_lr", "d_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0: no averaging), got {self.ema_decay}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0, got {self.max_seconds}")
        if self.compile and self.loss in DOUBLE_BACKWARD_LOSSES:
            raise ValueError(
                f"compile=True cannot train loss={self.loss!r}: its gradient penalty needs a "
                "double backward, which torch.compile does not support; drop compile"
            )
        for cls, args in (generator_spec(self), discriminator_spec(self)):
            cls(**args)  # the models' own checks, before any data is read
        return self

    def _check_model_fields(self) -> None:
        defaults = RunConfig()
        for role, chosen, owner, names in (
            ("generator", self.generator, "lstm", LSTM_FIELDS),
            ("discriminator", self.discriminator, "conv", CONV_D_FIELDS),
        ):
            if chosen == owner:
                continue
            changed = [
                f"{n}={getattr(self, n)!r}"
                for n in names
                if getattr(self, n) != getattr(defaults, n)
            ]
            if changed:
                verb = "is" if len(changed) == 1 else "are"
                raise ValueError(
                    f"{', '.join(changed)} {verb} only read by {role}={owner!r}, got "
                    f"{role}={chosen!r}"
                )
        batch_norm = self.discriminator == "dcgan" or self.d_norm == "batch"
        if self.loss in DOUBLE_BACKWARD_LOSSES and batch_norm:
            raise ValueError(
                f"loss={self.loss!r} penalises each image's gradient, but the discriminator's "
                f"batch norm couples the images of a batch; use discriminator='conv' with "
                f"d_norm 'none', 'layer' or 'spectral' (got discriminator={self.discriminator!r}, "
                f"d_norm={self.d_norm!r})"
            )

    @property
    def gate(self) -> bool:
        """``lstm_gate`` resolved: ``None`` means on for the conv decoder with its latent skip."""
        return _resolve_gate(dataclasses.asdict(self))

    def to_dict(self) -> dict:
        """Plain types only, so the checkpoint stays loadable with ``weights_only=True``."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown run configuration keys {unknown}; known: {sorted(names)}")
        data = {**_LEGACY_DEFAULTS, **data}
        if "betas" in data:
            data["betas"] = tuple(data["betas"])
        return cls(**data)


def _resolve_gate(fields: dict) -> bool:
    if fields["lstm_gate"] is None:
        lstm = fields["generator"] == "lstm"
        return lstm and gate_applies(fields["decoder"], fields["latent_skip"])
    return bool(fields["lstm_gate"])


def _dcgan_size(size: int) -> bool:
    return size >= 16 and size & (size - 1) == 0


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU.

    Raises:
        ValueError: ``"cuda"`` asked on a machine without CUDA, or an unknown name.
    """
    check_choice("device", name, ("auto", "cpu", "cuda"))
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but torch.cuda.is_available() is False")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def generator_spec(config: RunConfig) -> tuple[type, dict]:
    """The generator's class and constructor arguments for ``config``."""
    args = {
        "encoding_dims": config.encoding_dims,
        "out_size": config.image_size,
        "out_channels": config.channels,
        "step_channels": config.g_step_channels,
        "batchnorm": config.g_batchnorm,
    }
    if config.generator == "lstm":
        args.update(
            decoder=config.decoder,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.lstm_dropout,
            latent_skip=config.latent_skip,
            lstm_gate=config.gate,
            rows_per_step=config.rows_per_step,
            steps=config.canvas_steps,
        )
    return registry.get_model_builder(GENERATORS[config.generator]), args


def discriminator_spec(config: RunConfig) -> tuple[type, dict]:
    """The discriminator's class and constructor arguments for ``config``."""
    args = {
        "in_size": config.image_size,
        "in_channels": config.channels,
        "step_channels": config.d_step_channels,
    }
    if config.discriminator == "conv":
        args.update(
            num_layers=config.d_layers,
            dropout=config.d_dropout,
            norm=config.d_norm,
            minibatch_features=config.d_minibatch_features,
        )
    return registry.get_model_builder(DISCRIMINATORS[config.discriminator]), args


def build_generator(config: RunConfig) -> torch.nn.Module:
    """A freshly initialised generator for ``config``."""
    cls, args = generator_spec(config)
    return cls(**args)


def training_dataset(config: RunConfig, download: bool):
    """The training split ``config`` names, checked against the models' image shape.

    Raises:
        ValueError: the dataset is missing (and not downloaded) or its images do not fit.
    """
    dataset = build_dataset(
        config.dataset, config.data_root, config.image_size, config.channels, "train", download
    )
    check_images_fit(dataset, config)
    return dataset


def check_images_fit(dataset, config: RunConfig) -> None:
    """Check that ``dataset``'s first image has the shape the models are built for.

    Raises:
        ValueError: the image is not a ``(channels, image_size, image_size)`` tensor; the
            message gives both shapes. An empty dataset is left to :func:`make_dataloader`.
    """
    if len(dataset) == 0:
        return
    sample = dataset[0]
    image = sample[0] if isinstance(sample, tuple | list) else sample
    expected = (config.channels, config.image_size, config.image_size)
    got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
    if got != expected:
        raise ValueError(
            f"the dataset's images have shape {got}, but the models are built for "
            f"(channels, image_size, image_size) = {expected}"
        )


def _metrics(config: RunConfig, device: torch.device) -> list:
    if config.metric_samples == 0 or config.dataset != "fashion-mnist":
        return []
    from ..metrics import ClassCoverage, ClassImbalance, FrechetClassifierDistance

    kw = {"sample_size": config.metric_samples, "device": str(device)}
    return [
        FrechetClassifierDistance(**kw, data_root=config.data_root),
        ClassCoverage(**kw),
        ClassImbalance(**kw),
    ]


def build_trainer(
    config: RunConfig,
    device: torch.device,
    epochs: int,
    trainer_class: type[Trainer] = Trainer,
    **trainer_kwargs,
) -> Trainer:
    """A TorchGAN ``Trainer`` for ``config`` with outputs under ``config.out``.

    Layout: ``checkpoints/gan{k}.model`` (the last 3), ``images/epoch{n}_generator.png``,
    ``tensorboard/``. With ``config.ema_decay > 0`` it is an :class:`EMATrainer`; the speed
    switches (``amp``, ``compile``, ``channels_last``) are applied to both models.
    ``trainer_class`` (a ``Trainer`` subclass, e.g.
    :class:`~torchgan_lstm.distributed.DistributedTrainer`) receives ``trainer_kwargs`` too.

    Raises:
        ValueError: ``ema_decay > 0`` with another ``trainer_class`` (not supported yet).
    """
    out = Path(config.out)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    models = {}
    for name, (cls, args), lr in (
        ("generator", generator_spec(config), config.g_lr),
        ("discriminator", discriminator_spec(config), config.d_lr),
    ):
        optimizer = {"name": Adam, "args": {"lr": lr, "betas": tuple(config.betas)}}
        models[name] = {"name": cls, "args": args, "optimizer": optimizer}
    if config.ema_decay > 0:
        if trainer_class is not Trainer:
            raise ValueError(
                f"ema_decay={config.ema_decay} is not supported with {trainer_class.__name__} "
                "(e.g. under torchrun) yet; use ema_decay=0"
            )
        trainer_class, trainer_kwargs = (
            EMATrainer,
            {**trainer_kwargs, "ema_decay": config.ema_decay},
        )
    trainer = trainer_class(
        models,
        build_losses(config.loss),
        metrics_list=_metrics(config, device) or None,
        device=device,
        ncritic=config.ncritic,
        epochs=epochs,
        sample_size=config.sample_size,
        checkpoints=str(out / "checkpoints" / "gan"),
        retain_checkpoints=3,
        recon=str(out / "images"),
        log_dir=str(out / "tensorboard"),
        nrow=8,
        run_config=config.to_dict(),
        **trainer_kwargs,
    )
    for name in trainer.model_names:  # after the EMA copy: the average stays plain float32
        accelerate(getattr(trainer, name), device, config.amp, config.compile, config.channels_last)
    return trainer


def sampling_generator(trainer: Trainer) -> torch.nn.Module:
    """The generator that samples are drawn from: the average when the run keeps one."""
    return trainer.ema.module if isinstance(trainer, EMATrainer) else trainer.generator


def latest_checkpoint(out: str | Path) -> Path:
    """The most recently written checkpoint of a run folder.

    Raises:
        CheckpointError: the folder holds none.
    """
    found = sorted((Path(out) / "checkpoints").glob("gan*.model"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise CheckpointError(f"no checkpoint (checkpoints/gan*.model) under {str(out)!r}")
    return found[-1]


def check_same_models(
    saved: dict, config: RunConfig, where: str, fields: tuple[str, ...] = MODEL_FIELDS
) -> None:
    """Refuse a checkpoint whose run configuration differs from ``config`` in ``fields``.

    Raises:
        CheckpointError: names each differing field with both values.
    """
    # A field missing from an older checkpoint had its default value then.
    saved = {**dataclasses.asdict(RunConfig()), **_LEGACY_DEFAULTS, **saved}
    requested = dataclasses.asdict(config)
    for values in (saved, requested):  # compare the gate as built, not as written
        values["lstm_gate"] = _resolve_gate(values)
    differ = [
        f"{k}: checkpoint {saved.get(k)!r} vs requested {requested[k]!r}"
        for k in fields
        if saved.get(k) != requested[k]
    ]
    if differ:
        raise CheckpointError(f"{where} was trained with other models: " + "; ".join(differ))


def load_generator(path: str | Path, device: torch.device | str = "cpu"):
    """Rebuild a run's generator from a checkpoint written by :func:`train`.

    Returns:
        ``(generator in eval mode, RunConfig)``; the averaged generator when the run kept one.

    Raises:
        CheckpointError: unreadable or unsafe file, no run configuration inside, or weights
            that do not fit the configuration.
    """
    checkpoint = safe_load(path, map_location=device)
    if "run_config" not in checkpoint or "generator" not in checkpoint:
        raise CheckpointError(
            f"{str(path)!r} is not a torchgan-lstm run checkpoint (no run_config/generator)"
        )
    config = RunConfig.from_dict(checkpoint["run_config"])
    generator = build_generator(config).to(device)
    check_state_dict("generator", generator, checkpoint["generator"])
    generator.load_state_dict(checkpoint["generator"])
    if "generator_ema" in checkpoint:  # the run kept an average: sample from it
        average = GeneratorEMA(generator, config.ema_decay)
        average.load_state_dict(checkpoint["generator_ema"])
        generator = average.module
    return generator.eval(), config


@torch.no_grad()
def sample_grid(
    generator, path: str | Path, n: int = 64, seed: int = 0, nrow: int = 8
) -> torch.Tensor:
    """Write a PNG grid of ``n`` samples (in ``[-1, 1]``, shown as ``[0, 1]``); return them."""
    device = next(generator.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # the same grid for the same seed, without touching the run's RNG
        inputs = generator.sampler(n, device)
    images = generator(*inputs).cpu()
    torchvision.utils.save_image(images, path, nrow=nrow, normalize=True, value_range=(-1, 1))
    return images


def _continue_rotation(trainer: Trainer, resumed_from: Path) -> None:
    # TorchGAN restarts its checkpoint rotation at gan0 on every start, so a resumed run's first
    # save could replace the very checkpoint it resumed from. Continue after that one instead.
    match = re.fullmatch(r"gan(\d+)\.model", resumed_from.name)
    if match and Path(trainer.checkpoints).parent == resumed_from.parent:
        trainer.last_retained_checkpoint = (int(match[1]) + 1) % trainer.retain_checkpoints


def train(
    config: RunConfig,
    resume: str | Path | None = None,
    progress: bool | None = None,
    on_trainer: Callable[[Trainer], None] | None = None,
) -> dict:
    """Train with TorchGAN's ``Trainer``; write checkpoints, logs, samples and metrics.

    Args:
        config: the run.
        resume: a checkpoint to continue from (``"auto"``: the newest under ``config.out``).
        progress: show a progress bar; ``None`` shows it when stderr is a terminal.
        on_trainer: called with the built (and, when resuming, loaded) ``Trainer`` before
            training starts, e.g. to register more visualisers with its logger.

    Returns:
        A summary: steps trained, seconds, the last metrics, output paths.

    Raises:
        ValueError: a bad configuration, an empty dataset, images that do not fit the models,
            a batch size larger than the dataset, or a checkpoint of another configuration;
            all raised before the first training step.
        TrainingDiverged: a loss became ``nan`` or infinite (names the loss and the step).
        DataLoaderFailed: the data loader raised (names the step and the cause).
        Checkpoints written before either failure are kept as they were.
    """

    config.validate()
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    dataset = training_dataset(config, config.download)
    loader = make_dataloader(dataset, config.batch_size, shuffle=True, seed=config.seed)
    if config.epochs is not None:
        config.max_steps = config.epochs * len(loader)
    steps = StepLoader(loader, config.eval_every, config.max_steps, max_seconds=config.max_seconds)
    trainer = build_trainer(config, device, steps.epochs)
    remove_stale_temporaries(Path(config.out) / "checkpoints")  # left by a run killed mid-save
    resume_state = None
    if resume is not None:
        path = latest_checkpoint(config.out) if str(resume) == "auto" else Path(resume)
        checkpoint = safe_load(path, map_location="cpu")
        check_same_models(
            checkpoint.get("run_config", {}), config, f"checkpoint {str(path)!r}", RESUME_FIELDS
        )
        trainer.load_model(str(path))
        _continue_rotation(trainer, path)
        steps.done = min(trainer.start_epoch * config.eval_every, config.max_steps)
        resume_state = checkpoint.get("resume_state")  # absent from older checkpoints
    trainer.resume_state = steps.state  # saved with every checkpoint (save_items below)
    if on_trainer is not None:
        on_trainer(trainer)
    attach_divergence_guard(trainer, steps.done)
    bar = attach_progress_bar(trainer, config.max_steps, steps.done, progress)
    if resume_state:
        steps.restore(resume_state)  # last: nothing may draw random numbers after it
    start = time.perf_counter()
    try:
        with contextlib.suppress(BudgetSpent):  # max_seconds: the last epoch was evaluated
            trainer(steps, save_items=["run_config", "resume_state"])
    finally:
        if bar is not None:
            bar.close()
        trainer.logger.close()
    seconds = time.perf_counter() - start

    timing = {
        "step_seconds": round(steps.seconds, 1),
        "stopped_by": "max_seconds" if steps.out_of_time else "max_steps",
    }
    return write_outputs(trainer, sampling_generator(trainer), config, steps.done, seconds, timing)


def write_outputs(
    trainer: Trainer,
    generator: torch.nn.Module,
    config: RunConfig,
    steps: int,
    seconds: float,
    extra: dict | None = None,
) -> dict:
    """After training: ``samples.png`` from ``generator``, ``loss_curves.png`` and
    ``summary.json`` (steps, time, last metrics and their history, output paths, ``extra``,
    the configuration) under ``config.out``; return the summary."""
    from .outputs import plot_losses

    out = Path(config.out)
    sample_grid(generator.eval(), out / "samples.png", n=config.sample_size, seed=config.seed)
    plot_losses(trainer.logger.get_loss_viz().logs, out / "loss_curves.png")
    history = {}
    if trainer.metrics:
        history = {k: list(v) for k, v in trainer.logger.get_metric_viz().logs.items() if v}
    summary = {
        "steps": steps,
        "train_seconds": round(seconds, 1),
        **(extra or {}),
        "metrics": {name: values[-1] for name, values in history.items()},
        # One entry per evaluation, at steps eval_every, 2 * eval_every, ... (this process only).
        "metric_history": history,
        "checkpoint": str(latest_checkpoint(out)),
        "samples": str(out / "samples.png"),
        "loss_curves": str(out / "loss_curves.png"),
        "tensorboard": str(out / "tensorboard"),
        "config": config.to_dict(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary

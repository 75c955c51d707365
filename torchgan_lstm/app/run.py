"""The one training recipe: a :class:`~torchgan_lstm.app.config.RunConfig` carried out by
TorchGAN's ``Trainer``, on one process or under ``torchrun``.

There is no private training loop: this module builds the data loader, the models, losses and
metrics, hands them to :class:`~torchgan_lstm.trainer.RunTrainer` (TorchGAN's ``Trainer`` with
the divergence guard, EMA and a strategy) and lets it train, log and checkpoint. TorchGAN counts
in epochs; a run counts in steps, so the data loader is wrapped in a
:class:`~torchgan_lstm.trainer.StepLoader` whose "epochs" are ``eval_every`` steps long: TorchGAN
then writes a checkpoint, a sample grid and the metrics every ``eval_every`` steps. What a
``torchrun`` job changes is the strategy's (:mod:`torchgan_lstm.trainer.distributed`).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.optim import Adam

from .._validation import InputError
from ..checkpoint import (
    CheckpointError,
    check_finite_weights,
    check_state_dict,
    remove_stale_temporaries,
    safe_load,
)
from ..data import build_dataset
from ..losses import build_losses
from ..trainer import BudgetSpent, RunTrainer, SingleProcess, StepLoader
from ..trainer.ema import GeneratorEMA
from ..trainer.progress import attach_progress_bar
from ..trainer.sequence_plots import use_sequence_plots
from .config import RunConfig, natural_channels
from .data_config import sequence_dataset
from .output_paths import check_run_folder
from .outputs import write_config, write_outputs
from .resources import check_checkpoint_models
from .resume_checks import check_same_data, check_same_models
from .sequences import plot_options
from .stored_config import check_data_info, stored_config

__all__ = [
    "build_metrics",
    "build_trainer",
    "check_same_data",
    "check_same_models",
    "data_info",
    "latest_checkpoint",
    "load_data_info",
    "load_generator",
    "run_config_of",
    "train",
    "training_dataset",
]


def training_dataset(config: RunConfig, download: bool):
    """The training data ``config`` names, checked against the models' shape.

    Raises:
        InputError: the dataset is missing (and not downloaded), holds bad values (sequences:
            the message names the file, line, column or value) or does not fit the models.
    """
    data = config.data
    if data.sequences:
        dataset = sequence_dataset(data)
        expected = (data.seq_len, config.generator.init_args["features"])
        if (dataset.seq_len, dataset.features) != expected:
            raise InputError(
                f"the dataset's sequences have shape {(dataset.seq_len, dataset.features)}, but "
                f"the models are built for (seq_len, features) = {expected}"
            )
        return dataset
    channels = natural_channels(data.dataset, data.channels)
    dataset = build_dataset(data.dataset, data.root, data.image_size, channels, "train", download)
    check_images_fit(dataset, (channels, data.image_size, data.image_size))
    return dataset


def data_info(dataset) -> dict:
    """What a checkpoint keeps of its training data to give samples in the data's units: a
    sequence dataset's scaling (``{"scaler_min", "scaler_max", "feature_names"}``, plain lists;
    a table's also ``"table"``, its codec as plain data); ``{}`` for images."""
    scaler = getattr(dataset, "scaler", None)
    if scaler is None:
        return {}
    info = {
        "scaler_min": [float(v) for v in scaler.min],
        "scaler_max": [float(v) for v in scaler.max],
        "feature_names": list(dataset.feature_names),
    }
    codec = getattr(dataset, "codec", None)
    return info if codec is None else info | {"table": codec.to_dict()}


def check_images_fit(dataset, expected: tuple[int, int, int]) -> None:
    """Check that ``dataset``'s first image has the shape ``(channels, height, width)``.

    Raises:
        InputError: it has another; the message gives both shapes. An empty dataset is left to
            :func:`~torchgan_lstm.data.make_dataloader`.
    """
    if len(dataset) == 0:
        return
    sample = dataset[0]
    image = sample[0] if isinstance(sample, tuple | list) else sample
    got = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
    if got != expected:
        raise InputError(
            f"the dataset's images have shape {got}, but the models are built for "
            f"(channels, image_size, image_size) = {expected}"
        )


def build_metrics(config: RunConfig, device: torch.device, dataset=None) -> list:
    """A run's metrics (none with ``metric_samples == 0``). Fashion-MNIST: the classifier's
    three, sharing one set of generated images per evaluation. Sequences: TimeGAN's
    discriminative and predictive scores and the correlational score, against
    ``metric_samples`` sequences of the training set (a seeded subset) and as many generated;
    during training the post-hoc networks train for a quarter of TimeGAN's iterations (a
    progress signal; ``torchgan-lstm evaluate`` runs TimeGAN's protocol)."""
    if config.metric_samples == 0:
        return []
    if config.data.sequences:
        from ..metrics import CorrelationalScore, DiscriminativeScore, PredictiveScore

        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(config.seed))
        real = dataset.sequences[order[: config.metric_samples]]
        return [
            DiscriminativeScore(real, iterations=500),
            PredictiveScore(real, iterations=1250),
            CorrelationalScore(real),
        ]
    if config.data.dataset != "fashion-mnist":
        return []
    from ..metrics import ClassCoverage, ClassImbalance, FrechetClassifierDistance, SharedSamples

    shared = SharedSamples()
    kw = {"sample_size": config.metric_samples, "device": str(device), "shared": shared}
    return [
        FrechetClassifierDistance(**kw, data_root=config.data.root),
        ClassCoverage(**kw),
        ClassImbalance(**kw),
    ]


def build_trainer(
    config: RunConfig,
    strategy: SingleProcess,
    epochs: int,
    out: str | None = None,
    dataset=None,
) -> RunTrainer:
    """A :class:`~torchgan_lstm.trainer.RunTrainer` for a resolved ``config``.

    Layout under ``out`` (default ``config.out``): ``checkpoints/gan{k}.model`` (the last 3),
    ``images/epoch{n}_generator.png`` (sequences: line plots of generated and real series),
    ``tensorboard/``. ``dataset``: the training data (sequence metrics compare against it).
    """
    out = Path(config.out if out is None else out)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    models = {}
    for role, lr in (("generator", config.g_lr), ("discriminator", config.d_lr)):
        spec = getattr(config, role)
        optimizer = {"name": Adam, "args": {"lr": lr, "betas": tuple(config.betas)}}
        models[role] = {"name": spec.cls, "args": dict(spec.init_args), "optimizer": optimizer}
    metrics = build_metrics(config, strategy.device, dataset) if strategy.is_main else []
    trainer = RunTrainer(
        models,
        build_losses(config.loss),
        strategy=strategy,
        ema_decay=config.ema_decay,
        amp=config.amp,
        compile=config.compile,
        channels_last=config.channels_last,
        log_every=config.log_every,
        metrics_list=metrics or None,
        device=strategy.device,
        ncritic=config.ncritic,
        epochs=epochs,
        sample_size=config.sample_size,
        checkpoints=str(out / "checkpoints" / "gan"),
        retain_checkpoints=3,
        recon=str(out / "images"),
        log_dir=str(out / "tensorboard"),
        nrow=8,
        run_config=config.to_dict(),
    )
    trainer.data_info = data_info(dataset)  # saved with every checkpoint
    if config.data.sequences:
        use_sequence_plots(trainer, **(plot_options(dataset) if dataset is not None else {}))
        critic = getattr(trainer.discriminator, "module", trainer.discriminator)
        if dataset is not None and getattr(critic, "input_norm", "none") == "whiten":
            critic.fit_input_whitening(dataset.sequences)  # a resumed run loads the same again
    return trainer


def latest_checkpoint(out: str | Path) -> Path:
    """The most recently written checkpoint of a run folder.

    Raises:
        CheckpointError: the folder holds none.
    """
    found = sorted((Path(out) / "checkpoints").glob("gan*.model"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise CheckpointError(f"no checkpoint (checkpoints/gan*.model) under {str(out)!r}")
    return found[-1]


def run_config_of(path: str | Path) -> tuple[RunConfig, Path]:
    """The configuration of a run and its newest checkpoint, from a checkpoint or a run folder.

    Returns:
        ``(resolved RunConfig, checkpoint path)``.

    Raises:
        CheckpointError: no checkpoint there, an unsafe or unreadable file, no run
            configuration inside or a malformed one, weights, optimizer state or data scaling
            holding NaN or infinite values (the message names the tensor), or a stored
            configuration whose models would not fit in this machine's memory.
    """
    path = Path(path)
    checkpoint_path = latest_checkpoint(path) if path.is_dir() else path
    checkpoint = safe_load(checkpoint_path, map_location="cpu")
    if "run_config" not in checkpoint or "generator" not in checkpoint:
        raise CheckpointError(
            f"{str(checkpoint_path)!r} is not a torchgan-lstm run checkpoint "
            f"(no run_config/generator)"
        )
    check_finite_weights(checkpoint, checkpoint_path)
    check_data_info(checkpoint.get("data_info") or {}, checkpoint_path)
    config = stored_config(checkpoint["run_config"], checkpoint_path)
    check_checkpoint_models(config, f"checkpoint {str(checkpoint_path)!r}")
    return config, checkpoint_path


def load_data_info(path: str | Path) -> dict:
    """What a run's checkpoint (or run folder) kept of its data: see :func:`data_info`."""
    _, checkpoint_path = run_config_of(path)
    return safe_load(checkpoint_path, map_location="cpu").get("data_info") or {}


def load_generator(path: str | Path, device: torch.device | str = "cpu"):
    """Rebuild a run's generator from a checkpoint written by :func:`train` (or a run folder:
    its newest checkpoint), ready to sample.

    Returns:
        ``(generator in eval mode on device, RunConfig)``; the averaged generator when the run
        kept one.

    Raises:
        CheckpointError: unreadable or unsafe file, no run configuration inside, or weights
            that do not fit the configuration.
    """
    config, checkpoint_path = run_config_of(path)
    checkpoint = safe_load(checkpoint_path, map_location=device)
    generator = config.generator.build().to(device)
    check_state_dict("generator", generator, checkpoint["generator"])
    generator.load_state_dict(checkpoint["generator"])
    if "generator_ema" in checkpoint:  # the run kept an average: sample from it
        average = GeneratorEMA(generator, config.ema_decay)
        average.load_state_dict(checkpoint["generator_ema"])
        generator = average.module
    return generator.eval(), config


def _continue_rotation(trainer: RunTrainer, resumed_from: Path) -> None:
    # TorchGAN restarts its checkpoint rotation at gan0 on every start, so a resumed run's first
    # save could replace the very checkpoint it resumed from. Continue after that one instead.
    match = re.fullmatch(r"gan(\d+)\.model", resumed_from.name)
    if match and Path(trainer.checkpoints).parent.resolve() == resumed_from.parent.resolve():
        trainer.last_retained_checkpoint = (int(match[1]) + 1) % trainer.retain_checkpoints


def train(
    config: RunConfig,
    resume: str | Path | None = None,
    progress: bool | None = None,
    strategy: SingleProcess | None = None,
    on_trainer: Callable[[RunTrainer], None] | None = None,
    overwrite: bool = False,
) -> dict:
    """Train with TorchGAN's ``Trainer``; write checkpoints, logs, samples and metrics.

    Checkpoints written before a failure (see Raises) are kept as they were.

    Args:
        config: the run (not modified).
        resume: a checkpoint to continue from (``"auto"``: the newest under ``config.out``).
        progress: show a progress bar (rank 0); ``None`` shows it when stderr is a terminal.
        strategy: :class:`~torchgan_lstm.trainer.SingleProcess` (default, on ``config.device``)
            or :class:`~torchgan_lstm.trainer.distributed.Torchrun` (one rank of a job).
        on_trainer: called with the built (and, when resuming, loaded) trainer before training
            starts, e.g. to register more visualisers with its logger.
        overwrite: write into a ``config.out`` that already holds files (other than the run
            being resumed), replacing the files a run writes; without it such a folder is
            refused.

    Returns:
        A summary (rank 0; ``{}`` on other ranks): steps trained, seconds, the last metrics,
        output paths, the configuration.

    Raises:
        InputError: a bad configuration, an output folder that holds other files (see
            :func:`~torchgan_lstm.app.output_paths.check_run_folder`), an empty dataset, images
            that do not fit the models, a batch size larger than the dataset, or a checkpoint
            of another configuration; all raised before the first training step.
        TrainingDiverged: a loss became ``nan`` or infinite (names the loss and the step).
        DataLoaderFailed: the data loader raised (names the step and the cause).
    """
    config = config.validate()
    strategy = strategy if strategy is not None else SingleProcess(config.device)
    strategy.check(config)
    path = None
    if resume is not None:
        path = latest_checkpoint(config.out) if str(resume) == "auto" else Path(resume)
        saved, path = run_config_of(path)
        check_same_models(saved, config, f"checkpoint {str(path)!r}", resume=True)
    if strategy.is_main:
        check_run_folder(config.out, path, overwrite)
    strategy.setup()
    try:
        return _train(config, strategy, path, progress, on_trainer)
    finally:
        strategy.teardown()


def _train(config, strategy, resume_path, progress, on_trainer) -> dict:
    torch.manual_seed(config.seed)  # the same initial models on every rank
    dataset = strategy.dataset(
        lambda download: training_dataset(config, download), config.data.download
    )
    if strategy.is_main and hasattr(dataset, "describe"):
        print(dataset.describe())  # the table's decided column roles, once
    if resume_path is not None:
        check_same_data(resume_path, data_info(dataset), config.data.dataset)
    loader = strategy.loader(dataset, config.batch_size, config.seed)
    max_steps = config.max_steps if config.epochs is None else config.epochs * len(loader)
    steps = StepLoader(
        loader, config.eval_every, max_steps, max_seconds=config.max_seconds, strategy=strategy
    )
    out = strategy.output_folder(config.out)
    trainer = build_trainer(config, strategy, steps.epochs, out, dataset)
    if strategy.is_main:
        remove_stale_temporaries(Path(config.out) / "checkpoints")  # left by a run killed mid-save
        write_config(config, config.out)
    resume_state = None
    if resume_path is not None:
        with contextlib.nullcontext() if strategy.is_main else _silenced():
            trainer.load_model(str(resume_path))  # on every rank, onto its own device
        _continue_rotation(trainer, resume_path)
        steps.done = min(trainer.start_epoch * config.eval_every, max_steps)
        # absent from checkpoints written before exact resume existed
        resume_state = safe_load(resume_path, map_location="cpu").get("resume_state")
    trainer.step = steps.done
    trainer.resume_state = steps.state  # saved with every checkpoint (save_items below)
    strategy.seed_ranks(config.seed)
    if on_trainer is not None:
        on_trainer(trainer)
    bar = None
    if strategy.is_main:
        bar = attach_progress_bar(trainer, max_steps, steps.done, progress)
    if resume_state:
        steps.restore(resume_state)  # last: nothing may draw random numbers after it
    start = time.perf_counter()
    try:
        quiet = contextlib.nullcontext() if strategy.is_main else _silenced()
        with quiet, contextlib.suppress(BudgetSpent):  # max_seconds: last epoch was evaluated
            trainer(steps, save_items=["run_config", "resume_state", "data_info"])
    finally:
        if bar is not None:
            bar.close()
        trainer.logger.close()
    seconds = time.perf_counter() - start
    extra = {
        "step_seconds": round(steps.seconds, 1),
        "stopped_by": "max_seconds" if steps.out_of_time else "max_steps",
        **strategy.summary(trainer),
    }
    if not strategy.is_main:
        return {}
    return write_outputs(trainer, config, steps.done, seconds, extra, dataset)


@contextlib.contextmanager
def _silenced():
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield

"""Training on several processes (GPUs, machines) under ``torchrun``, still with TorchGAN's Trainer.

``torchrun`` starts one process per device and sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``;
:func:`train` then runs the same :class:`~torchgan_lstm.training.RunConfig` as the one-process
:func:`torchgan_lstm.training.train`, with these differences:

- **Global batch.** ``config.batch_size`` is the batch of the whole job; each rank trains on
  ``batch_size / world_size`` images (a :class:`~torch.utils.data.DistributedSampler` splits each
  shuffled pass) and DDP averages the gradients, so a step sees the same images as a one-process
  step with the same batch size.
- **Noise.** TorchGAN's losses draw the generator's noise from each process's global RNG, which
  would give every rank the same rows (same seed) or rows that depend on the number of ranks.
  While training, :class:`DistributedGenerator` replaces that noise (keeping its shape) with its
  rank's rows of one ``(global batch, ...)`` draw from a noise stream seeded identically on every
  rank: the job as a whole sees the same noise for any number of ranks.
- **Models.** :class:`DistributedTrainer` wraps the models TorchGAN built in
  ``DistributedDataParallel`` behind a :class:`~torchgan.models.Generator` /
  :class:`~torchgan.models.Discriminator` facade, so TorchGAN's losses and visualisers still read
  ``encoding_dims``, ``label_type``, ``sampler``..., the optimizers keep the very same parameters,
  and checkpoints hold the unwrapped ``state_dict`` (loadable by ``load_generator``). A model's
  gradients are all-reduced only in the losses that step its optimizer: TorchGAN runs the
  generator in the discriminator's loss without a backward through it, which plain DDP refuses.
  On CUDA, batch norm layers become ``SyncBatchNorm`` (statistics of the global batch); on CPU,
  PyTorch has no ``SyncBatchNorm``, so each rank normalises with its own shard's statistics.
- **Rank 0 only** writes checkpoints, sample grids, TensorBoard, metrics, ``summary.json`` and
  console output; other ranks point TorchGAN's outputs at a temporary folder they delete.
  Resuming: every rank loads the same checkpoint onto its own device.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from torchgan.models import Discriminator, Generator
from torchgan.trainer import Trainer

from .._validation import check_choice
from ..app.run import (
    RESUME_FIELDS,
    RunConfig,
    StepLoader,
    build_trainer,
    check_same_models,
    latest_checkpoint,
    training_dataset,
    write_outputs,
)

__all__ = [
    "BACKENDS",
    "DistributedContext",
    "DistributedDiscriminator",
    "DistributedGenerator",
    "DistributedTrainer",
    "check_batch_split",
    "launched_by_torchrun",
    "train",
]

BACKENDS = ("auto", "nccl", "gloo")
_TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in the job.

    Args:
        rank: global rank, ``0 .. world_size - 1``.
        local_rank: rank on this machine; picks the GPU ``cuda:local_rank``.
        world_size: processes in the job (``--nnodes`` x ``--nproc-per-node``).
        device: this process's device.
        noise_seed: seeds the noise stream shared by all ranks.
    """

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    noise_seed: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and prints."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """True when ``torchrun`` started this process (it sets RANK, WORLD_SIZE, LOCAL_RANK)."""
    return all(name in os.environ for name in _TORCHRUN_VARS)


def check_batch_split(batch_size: int, world_size: int) -> int:
    """The per-rank batch of a global ``batch_size`` split evenly across ``world_size`` ranks.

    Raises:
        ValueError: ``batch_size`` is not a positive multiple of ``world_size``.
    """
    if batch_size < world_size or batch_size % world_size:
        raise ValueError(
            f"batch_size must be a multiple of the world size {world_size} (the global batch is "
            f"split evenly across the ranks), got {batch_size}; e.g. "
            f"{max(world_size, batch_size - batch_size % world_size)}"
        )
    return batch_size // world_size


def _env_int(name: str) -> int:
    value = os.environ[name]
    if not value.isdigit():
        raise ValueError(
            f"environment variable {name} must be a non-negative integer, got {value!r}"
        )
    return int(value)


def _resolve_backend(backend: str, device_name: str) -> tuple[str, torch.device]:
    check_choice("backend", backend, BACKENDS)
    check_choice("device", device_name, ("auto", "cpu", "cuda"))
    cuda = torch.cuda.is_available() and device_name != "cpu"
    if device_name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but torch.cuda.is_available() is False")
    if backend == "auto":
        backend = "nccl" if cuda else "gloo"
    if backend == "nccl" and not cuda:
        raise ValueError("backend='nccl' needs CUDA devices; use backend='gloo' on CPU")
    local_rank = _env_int("LOCAL_RANK")
    if cuda and local_rank >= torch.cuda.device_count():
        # One process per GPU: NCCL cannot put two ranks on one device.
        raise ValueError(
            f"LOCAL_RANK={local_rank} has no GPU: this machine has "
            f"{torch.cuda.device_count()}, so torchrun's --nproc_per_node must be at most that"
        )
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    return backend, device


def init(backend: str = "auto", device: str = "auto", seed: int = 0) -> DistributedContext:
    """Join the ``torchrun`` job: pick the device, start the process group.

    Args:
        backend: ``"nccl"`` (CUDA), ``"gloo"`` (CPU, or CUDA for tests) or ``"auto"``: NCCL when
            CUDA is used, else gloo.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; on CUDA each rank uses ``cuda:LOCAL_RANK``.
        seed: seeds the noise stream shared by all ranks.

    Returns:
        The process's :class:`DistributedContext`.

    Raises:
        ValueError: not started by ``torchrun``, an unknown backend, NCCL without CUDA, or more
            processes on this machine than it has GPUs.
    """
    if not launched_by_torchrun():
        names = ", ".join(_TORCHRUN_VARS)
        raise ValueError(f"distributed training needs the environment torchrun sets ({names})")
    backend, dev = _resolve_backend(backend, device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group(backend, device_id=dev if dev.type == "cuda" else None)
    return DistributedContext(
        dist.get_rank(), _env_int("LOCAL_RANK"), dist.get_world_size(), dev, seed
    )


class _Replica(nn.Module):
    """DDP behind the TorchGAN model interface; shared by the generator and discriminator facades.

    The wrapped model is reachable as ``.module``; every attribute the facade lacks is read from
    it. ``state_dict``/``load_state_dict`` are the module's, without DDP's ``module.`` prefix.
    Forward passes go through DDP (gradients all-reduced at backward) only while ``sync`` is set
    and autograd records; otherwise (other losses, sampling, metrics) the module runs alone.
    """

    def _wrap(self, module: nn.Module, context: DistributedContext) -> None:
        if context.device.type == "cuda":
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        device_ids = [context.device.index] if context.device.type == "cuda" else None
        self.ddp = DistributedDataParallel(module, device_ids=device_ids)
        self.context = context
        self.sync = False
        self.manual_sync = False

    def all_reduce_gradients(self) -> None:
        """Average the module's gradients over the ranks (for backward passes DDP cannot sync)."""
        for param in self.module.parameters():
            if param.grad is not None:
                dist.all_reduce(param.grad)
                param.grad /= self.context.world_size

    @property
    def module(self) -> nn.Module:
        """The model TorchGAN built (batch norm converted to ``SyncBatchNorm`` on CUDA)."""
        return self.ddp.module

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "ddp":
                raise
            return getattr(self.ddp.module, name)

    def _run(self, *args, **kwargs):
        if self.sync and self.training and torch.is_grad_enabled():
            return self.ddp(*args, **kwargs)
        return self.ddp.module(*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self._run(*args, **kwargs)

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)


class DistributedGenerator(_Replica, Generator):
    """A TorchGAN ``Generator`` wrapping another in DDP, with rank-sliced training noise.

    Args:
        module: the generator TorchGAN built, on ``context.device``.
        context: this process's place in the job.
    """

    def __init__(self, module: Generator, context: DistributedContext):
        Generator.__init__(self, module.encoding_dims, module.label_type)
        self._wrap(module, context)
        device = context.device
        self.noise = torch.Generator(device=device).manual_seed(context.noise_seed)

    def sampler(self, sample_size: int, device: torch.device | str) -> list[torch.Tensor]:
        """The wrapped generator's inputs (see its ``sampler``)."""
        return self.module.sampler(sample_size, device)

    def forward(self, z: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        """Generate images; while training, ``z``'s values are replaced by this rank's noise rows.

        Args:
            z: noise ``(local batch, encoding_dims)``; only its shape is used while training.
            *args: further inputs of the wrapped generator (e.g. labels), unchanged.

        Returns:
            The wrapped generator's images ``(local batch, C, H, W)``.
        """
        if self.training and torch.is_grad_enabled():
            z = self._rank_noise(z)
        return self._run(z, *args, **kwargs)

    def _rank_noise(self, z: torch.Tensor) -> torch.Tensor:
        local, rank = z.size(0), self.context.rank
        shape = (local * self.context.world_size, *z.shape[1:])
        full = torch.randn(shape, generator=self.noise, device=z.device, dtype=z.dtype)
        return full[rank * local : (rank + 1) * local]


class DistributedDiscriminator(_Replica, Discriminator):
    """A TorchGAN ``Discriminator`` wrapping another in DDP.

    Args:
        module: the discriminator TorchGAN built, on ``context.device``.
        context: this process's place in the job.
    """

    def __init__(self, module: Discriminator, context: DistributedContext):
        Discriminator.__init__(self, module.input_dims, module.label_type)
        self._wrap(module, context)


# Losses that differentiate through the critic twice (autograd.grad with create_graph=True, then
# backward): DDP's reducer marks the critic's parameters ready twice in that backward and stops
# with "Expected to mark a variable ready only once" (static_graph=True fails too). In these
# losses the models run unwrapped and their gradients are averaged just before the step.
DOUBLE_BACKWARD_LOSSES = frozenset({"WassersteinGradientPenalty", "DraganGradientPenalty"})


class DistributedTrainer(Trainer):
    """TorchGAN's ``Trainer`` whose models are wrapped in DDP right after it builds them.

    Args:
        models, losses_list, **kwargs: as for ``torchgan.trainer.Trainer``.
        context: this process's place in the job.
    """

    def __init__(self, models: dict, losses_list: list, *, context: DistributedContext, **kwargs):
        super().__init__(models, losses_list, **kwargs)
        self.context = context
        for name in self.model_names:
            model = getattr(self, name)
            if isinstance(model, Generator):
                setattr(self, name, DistributedGenerator(model, context))
            elif isinstance(model, Discriminator):
                setattr(self, name, DistributedDiscriminator(model, context))
            else:
                raise ValueError(
                    f"model {name!r} must be a TorchGAN Generator or Discriminator to train "
                    f"distributed, got {type(model).__name__}"
                )
        for model_name, optimizer_name in zip(self.model_names, self.optimizer_names, strict=True):
            replica = getattr(self, model_name)
            getattr(self, optimizer_name).register_step_pre_hook(_manual_sync_hook(replica))

    def _get_arguments(self, arg_map: dict) -> dict:
        # Called right before each loss's train_ops: all-reduce a model's gradients only in
        # the losses that step its optimizer (the others never backpropagate into it, or their
        # gradients are zeroed before that optimizer's next step).
        stepped = set(arg_map.values())
        loss = next(name for name, known in self.loss_arg_maps.items() if known is arg_map)
        manual = loss in DOUBLE_BACKWARD_LOSSES
        for model_name, optimizer_name in zip(self.model_names, self.optimizer_names, strict=True):
            replica = getattr(self, model_name)
            replica.sync = optimizer_name in stepped and not manual
            replica.manual_sync = optimizer_name in stepped and manual
        return super()._get_arguments(arg_map)

    def save_model(self, epoch, save_items=None):
        """TorchGAN's checkpoint, written by rank 0 only."""
        if self.context.is_main:
            super().save_model(epoch, save_items)

    def eval_ops(self, **kwargs):
        """TorchGAN's metrics, computed by rank 0 only."""
        if self.context.is_main:
            super().eval_ops(**kwargs)


def _manual_sync_hook(replica: _Replica):
    def hook(optimizer, args, kwargs) -> None:
        if replica.manual_sync:
            replica.all_reduce_gradients()

    return hook


class _EpochLoader:
    """A ``DataLoader`` over a ``DistributedSampler`` that reshuffles on every pass (set_epoch)."""

    def __init__(self, loader, first_pass: int = 0):
        self.loader = loader
        self.batch_size = loader.batch_size
        self.passes = first_pass

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        self.loader.sampler.set_epoch(self.passes)
        self.passes += 1
        return iter(self.loader)


def replica_max_abs_diff(trainer: Trainer, buffers: bool = False) -> float:
    """Largest ``|value - rank 0's value|`` over all ranks' parameters (0.0: replicas in sync).

    Args:
        trainer: a :class:`DistributedTrainer`; every rank must call this (it communicates).
        buffers: compare the floating-point buffers instead (batch norm running statistics,
            which on CPU each rank updates from its own shard).
    """
    worst = torch.zeros((), device=trainer.context.device)
    for name in trainer.model_names:
        module = getattr(trainer, name).module
        tensors = module.buffers() if buffers else module.parameters()
        for tensor in tensors:
            if not tensor.is_floating_point():
                continue
            reference = tensor.detach().clone()
            dist.broadcast(reference, src=0)
            worst = torch.maximum(worst, (tensor.detach() - reference).abs().max())
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    return float(worst)


def train(
    config: RunConfig,
    backend: str = "auto",
    resume: str | Path | None = None,
    progress: bool | None = None,
) -> dict:
    """Train ``config`` on every process of a ``torchrun`` job; see the module docstring.

    Args:
        config: the run; ``batch_size`` is the global batch.
        backend: ``"auto"``, ``"nccl"`` or ``"gloo"``.
        resume: a checkpoint every rank continues from (``"auto"``: the newest in ``config.out``).
        progress: show a progress bar on rank 0; ``None`` shows it when stderr is a terminal.

    Returns:
        On rank 0 the summary written to ``summary.json`` (as :func:`training.train`, plus
        ``world_size``, ``backend`` and ``replica_max_abs_diff``); on other ranks ``{}``.

    Raises:
        ValueError: a bad configuration, a ``batch_size`` that ``WORLD_SIZE`` does not divide, a
            checkpoint of another configuration, or an option not supported under torchrun
            (``ema_decay``, ``max_seconds``, ``compile``); all raised before the first step.
    """
    from ..data import make_dataloader
    from .progress import attach_progress_bar

    config.validate()
    # Each would need its own cross-rank design: a time budget must stop every rank at the same
    # step, the average must follow the unwrapped generator, compiled graphs would wrap DDP.
    unsupported = {k: getattr(config, k) for k in ("ema_decay", "max_seconds", "compile")}
    unsupported = {k: v for k, v in unsupported.items() if v}
    if unsupported:
        raise ValueError(
            f"not supported under torchrun yet: {unsupported}; drop these options "
            "(ema_decay=0, max_seconds=None, compile=False)"
        )
    if not launched_by_torchrun():
        raise ValueError("torchgan_lstm.distributed.train must run under torchrun")
    local_batch = check_batch_split(config.batch_size, _env_int("WORLD_SIZE"))
    context = init(backend, config.device, config.seed)
    scratch = None if context.is_main else tempfile.mkdtemp(prefix="torchgan-lstm-rank")
    try:
        torch.manual_seed(config.seed)  # the same initial models on every rank
        if not context.is_main:
            dist.barrier()  # rank 0 downloads the dataset, if it must, before the others read it
        dataset = training_dataset(config, config.download and context.is_main)
        if context.is_main:
            dist.barrier()
        sampler = DistributedSampler(
            dataset,
            context.world_size,
            context.rank,
            shuffle=True,
            seed=config.seed,
            drop_last=True,
        )
        loader = make_dataloader(dataset, local_batch, shuffle=False, sampler=sampler)
        if config.epochs is not None:
            config.max_steps = config.epochs * len(loader)
        steps = StepLoader(_EpochLoader(loader), config.eval_every, config.max_steps)
        # Ranks > 0 write TorchGAN's images and TensorBoard events to a folder they delete.
        local = config if context.is_main else dataclasses.replace(config, out=scratch)
        if not context.is_main:
            local = dataclasses.replace(local, metric_samples=0)
        trainer = build_trainer(
            local,
            context.device,
            steps.epochs,
            trainer_class=DistributedTrainer,
            context=context,
        )
        if resume is not None:
            path = latest_checkpoint(config.out) if str(resume) == "auto" else Path(resume)
            saved = _safe_run_config(path)
            check_same_models(saved, config, f"checkpoint {str(path)!r}", RESUME_FIELDS)
            with contextlib.nullcontext() if context.is_main else _silenced():
                trainer.load_model(str(path))  # on every rank, onto its own device
            steps.done = min(trainer.start_epoch * config.eval_every, config.max_steps)
            steps.loader.passes = steps.done // len(loader)
        torch.manual_seed(config.seed + context.rank)  # dropout, labels, WGAN-GP's epsilon
        bar = None
        if context.is_main:
            bar = attach_progress_bar(trainer, config.max_steps, steps.done, progress)
        quiet = contextlib.nullcontext() if context.is_main else _silenced()
        start = time.perf_counter()
        with quiet:
            trainer(steps, save_items=["run_config"])
        seconds = time.perf_counter() - start
        if bar is not None:
            bar.close()
        trainer.logger.close()
        drift = (replica_max_abs_diff(trainer), replica_max_abs_diff(trainer, buffers=True))
        if not context.is_main:
            return {}
        return _write_outputs(trainer, config, steps.done, seconds, context, backend, drift)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        if dist.is_initialized():
            dist.destroy_process_group()


def _safe_run_config(path: Path) -> dict:
    from ..checkpoint import safe_load

    return safe_load(path, map_location="cpu").get("run_config", {})


@contextlib.contextmanager
def _silenced():
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def _write_outputs(trainer, config, steps, seconds, context, backend, drift) -> dict:
    extra = {
        "world_size": context.world_size,
        "backend": dist.get_backend() if backend == "auto" else backend,
        "device": str(context.device),
        # Largest |value - rank 0's| over all ranks at the end: parameters (0.0 = in sync), and
        # buffers (batch norm statistics: per-rank on CPU, where there is no SyncBatchNorm).
        "replica_max_abs_diff": drift[0],
        "replica_buffer_max_abs_diff": drift[1],
    }
    return write_outputs(trainer, trainer.generator.module, config, steps, seconds, extra)

"""Training on several processes (GPUs, machines) under ``torchrun``: the :class:`Torchrun`
strategy of the one training recipe (:func:`torchgan_lstm.app.run.train`).

``torchrun`` starts one process per device and sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``.
What changes against one process:

- **Global batch.** ``batch_size`` is the batch of the whole job; each rank trains on
  ``batch_size / world_size`` samples (a :class:`~torch.utils.data.DistributedSampler` splits each
  shuffled pass) and DDP averages the gradients, so a step sees the same data as a one-process
  step with the same batch size.
- **Noise.** TorchGAN's losses draw the generator's noise from each process's global RNG, which
  would give every rank the same rows (same seed) or rows that depend on the number of ranks.
  While training, :class:`DistributedGenerator` replaces that noise (keeping its shape) with its
  rank's rows of one ``(global batch, ...)`` draw from a noise stream seeded identically on every
  rank: the job as a whole sees the same noise for any number of ranks.
- **Models.** The models TorchGAN built are wrapped in ``DistributedDataParallel`` behind a
  :class:`~torchgan.models.Generator` / :class:`~torchgan.models.Discriminator` facade, so
  TorchGAN's losses and visualisers still read ``encoding_dims``, ``label_type``, ``sampler``...,
  the optimizers keep the very same parameters, and checkpoints hold the unwrapped
  ``state_dict``. A model's gradients are all-reduced only in the losses that step its
  optimizer: TorchGAN runs the generator in the discriminator's loss without a backward through
  it, which plain DDP refuses. On CUDA, batch norm layers become ``SyncBatchNorm``; on CPU,
  PyTorch has no ``SyncBatchNorm``, so each rank normalises with its own shard's statistics.
- **In step.** The ranks agree after every step on stopping (a diverged loss on any rank, the
  ``max_seconds`` budget as rank 0 counts it), so they stop at the same step.
- **Rank 0 only** writes checkpoints, sample grids, TensorBoard, metrics, ``summary.json`` and
  console output; other ranks point TorchGAN's outputs at a temporary folder they delete. Each
  checkpoint holds every rank's random state and the shared noise stream's, so a resumed job
  continues exactly.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler
from torchgan.models import Discriminator, Generator

from .._validation import InputError, check_choice
from ..data import make_dataloader
from ..losses import DOUBLE_BACKWARD_LOSSES
from .reproducibility import capture_rng_state, restore_rng_state
from .strategy import DEVICES, SingleProcess

__all__ = [
    "BACKENDS",
    "DistributedContext",
    "DistributedDiscriminator",
    "DistributedGenerator",
    "Torchrun",
    "check_batch_split",
    "launched_by_torchrun",
    "replica_max_abs_diff",
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
        raise InputError(
            f"batch_size must be a multiple of the world size {world_size} (the global batch is "
            f"split evenly across the ranks), got {batch_size}; e.g. "
            f"{max(world_size, batch_size - batch_size % world_size)}"
        )
    return batch_size // world_size


def _env_int(name: str) -> int:
    value = os.environ[name]
    if not value.isdigit():
        raise InputError(
            f"environment variable {name} must be a non-negative integer, got {value!r}"
        )
    return int(value)


def _resolve_backend(backend: str, device_name: str) -> tuple[str, torch.device]:
    check_choice("backend", backend, BACKENDS)
    check_choice("device", device_name, DEVICES)
    cuda = torch.cuda.is_available() and device_name != "cpu"
    if device_name == "cuda" and not torch.cuda.is_available():
        raise InputError("device='cuda' was asked for, but torch.cuda.is_available() is False")
    if backend == "auto":
        backend = "nccl" if cuda else "gloo"
    if backend == "nccl" and not cuda:
        raise InputError("backend='nccl' needs CUDA devices; use backend='gloo' on CPU")
    local_rank = _env_int("LOCAL_RANK")
    if cuda and local_rank >= torch.cuda.device_count():
        # One process per GPU: NCCL cannot put two ranks on one device.
        raise InputError(
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
        raise InputError(f"distributed training needs the environment torchrun sets ({names})")
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


def replica_max_abs_diff(
    models: list[nn.Module], device: torch.device, buffers: bool = False
) -> float:
    """Largest ``|value - rank 0's value|`` over all ranks' parameters (0.0: replicas in sync).

    Args:
        models: the unwrapped models; every rank must call this (it communicates).
        device: this rank's device (NCCL reduces CUDA tensors).
        buffers: compare the floating-point buffers instead (batch norm running statistics,
            which on CPU each rank updates from its own shard).
    """
    worst = torch.zeros((), device=device)
    for module in models:
        tensors = module.buffers() if buffers else module.parameters()
        for tensor in tensors:
            if not tensor.is_floating_point():
                continue
            reference = tensor.detach().clone()
            dist.broadcast(reference, src=0)
            worst = torch.maximum(worst, (tensor.detach() - reference).abs().max())
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    return float(worst)


class Torchrun(SingleProcess):
    """The strategy for a process that ``torchrun`` started: DDP, one rank of a job.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; on CUDA each rank uses ``cuda:LOCAL_RANK``.
        backend: ``"nccl"`` (CUDA), ``"gloo"`` (CPU, or CUDA for tests) or ``"auto"``.
        seed: seeds the noise stream that all ranks share.

    Raises:
        InputError: not started by ``torchrun``, or an unknown backend or device.
    """

    def __init__(self, device: str = "auto", backend: str = "auto", seed: int = 0):
        super().__init__(device)
        if not launched_by_torchrun():
            names = ", ".join(_TORCHRUN_VARS)
            raise InputError(f"distributed training needs the environment torchrun sets ({names})")
        self.backend = check_choice("backend", backend, BACKENDS)
        self.seed = seed
        self.rank = _env_int("RANK")
        self.world_size = _env_int("WORLD_SIZE")
        self.context: DistributedContext | None = None
        self.scratch: str | None = None
        self.noise: torch.Generator | None = None

    def check(self, config) -> None:
        """Refuse what has no cross-rank design: ``compile`` (compiled graphs would wrap DDP)
        and a global batch the ranks cannot split evenly.

        Raises:
            InputError: names the setting.
        """
        if config.compile:
            raise InputError(
                "compile=True is not supported under torchrun (the compiled graph would wrap "
                "DistributedDataParallel); drop compile"
            )
        check_batch_split(config.batch_size, self.world_size)

    def setup(self) -> torch.device:
        """Join the job: pick ``cuda:LOCAL_RANK`` or the CPU, start the process group."""
        self.context = init(self.backend, self.device_name, self.seed)
        self.device = self.context.device
        self.rank, self.world_size = self.context.rank, self.context.world_size
        if not self.is_main:
            self.scratch = tempfile.mkdtemp(prefix="torchgan-lstm-rank")
        return self.device

    def teardown(self) -> None:
        """Delete this rank's scratch folder and leave the process group."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
        if dist.is_initialized():
            dist.destroy_process_group()

    def dataset(self, build: Callable[[bool], Dataset], download: bool) -> Dataset:
        """Rank 0 builds (and, if it must, downloads) the dataset before the others read it."""
        if not self.is_main:
            dist.barrier()
        dataset = build(download and self.is_main)
        if self.is_main:
            dist.barrier()
        return dataset

    def loader(self, dataset: Dataset, batch_size: int, seed: int) -> _EpochLoader:
        """This rank's share of each shuffled pass, ``batch_size / world_size`` a step."""
        local = check_batch_split(batch_size, self.world_size)
        sampler = DistributedSampler(
            dataset, self.world_size, self.rank, shuffle=True, seed=seed, drop_last=True
        )
        return _EpochLoader(make_dataloader(dataset, local, shuffle=False, sampler=sampler))

    def output_folder(self, out: str) -> str:
        """Rank 0 writes into ``out``; the others into a scratch folder deleted at the end."""
        return out if self.is_main else self.scratch

    def seed_ranks(self, seed: int) -> None:
        """``seed + rank``: dropout masks, sampled labels, penalty interpolations per rank."""
        torch.manual_seed(seed + self.rank)

    def prepare(self, trainer) -> None:
        """Wrap the trainer's models in DDP behind TorchGAN facades; hook the optimizers.

        Raises:
            InputError: a model is not a TorchGAN ``Generator`` or ``Discriminator``.
        """
        for name in trainer.model_names:
            model = getattr(trainer, name)
            if isinstance(model, Generator):
                wrapped = DistributedGenerator(model, self.context)
                self.noise = wrapped.noise
            elif isinstance(model, Discriminator):
                wrapped = DistributedDiscriminator(model, self.context)
            else:
                raise InputError(
                    f"model {name!r} must be a TorchGAN Generator or Discriminator to train "
                    f"distributed, got {type(model).__name__}"
                )
            setattr(trainer, name, wrapped)
        for model_name, optimizer_name in zip(
            trainer.model_names, trainer.optimizer_names, strict=True
        ):
            replica = getattr(trainer, model_name)
            getattr(trainer, optimizer_name).register_step_pre_hook(_manual_sync_hook(replica))

    def before_loss(self, trainer, arg_map: dict) -> None:
        """All-reduce a model's gradients only in the losses that step its optimizer (the
        others never backpropagate into it, or their gradients are zeroed before its next step);
        in gradient-penalty losses the models run unwrapped and are averaged before the step."""
        stepped = set(arg_map.values())
        loss = next(
            loss for name, loss in trainer.losses.items() if trainer.loss_arg_maps[name] is arg_map
        )
        manual = isinstance(loss, DOUBLE_BACKWARD_LOSSES)
        for model_name, optimizer_name in zip(
            trainer.model_names, trainer.optimizer_names, strict=True
        ):
            replica = getattr(trainer, model_name)
            if isinstance(replica, _Replica):
                replica.sync = optimizer_name in stepped and not manual
                replica.manual_sync = optimizer_name in stepped and manual

    def agree(self, flags: list[bool]) -> list[bool]:
        """Each flag true where it is true on any rank (one all-reduce)."""
        values = torch.tensor([float(f) for f in flags], device=self.device)
        dist.all_reduce(values, op=dist.ReduceOp.MAX)
        return [bool(v) for v in values.tolist()]

    def capture_state(self) -> dict:
        """Every rank's random state (gathered on all ranks; rank 0 saves it) and the shared
        noise stream's."""
        states = [None] * self.world_size
        dist.all_gather_object(states, capture_rng_state())
        noise = None if self.noise is None else self.noise.get_state()
        return {"rng": states, "noise": noise, "world_size": self.world_size}

    def restore_state(self, state: dict) -> None:
        """This rank's random state and the noise stream, from a checkpoint of a job with as
        many ranks.

        Raises:
            InputError: the checkpoint was written by a job with another number of ranks, or
                by a one-process run.
        """
        saved = state.get("world_size")
        if saved != self.world_size:
            raise InputError(
                f"the checkpoint's random state is from a job of {saved or 1} process(es), this "
                f"job has {self.world_size}: an exact resume needs the same number"
            )
        restore_rng_state(state["rng"][self.rank])
        if state.get("noise") is not None and self.noise is not None:
            self.noise.set_state(state["noise"].to(self.noise.get_state().device))

    def summary(self, trainer) -> dict:
        """World size, backend, device and how far the replicas drifted apart (every rank
        must call this: it communicates)."""
        models = [self.unwrap(getattr(trainer, name)) for name in trainer.model_names]
        return {
            "world_size": self.world_size,
            "backend": dist.get_backend(),
            "device": str(self.device),
            # Largest |value - rank 0's| over all ranks at the end: parameters (0.0 = in sync),
            # and buffers (batch norm statistics: per-rank on CPU, without SyncBatchNorm).
            "replica_max_abs_diff": replica_max_abs_diff(models, self.device),
            "replica_buffer_max_abs_diff": replica_max_abs_diff(models, self.device, True),
        }

    def unwrap(self, model: nn.Module) -> nn.Module:
        """The model TorchGAN built, out of its DDP facade."""
        return model.module if isinstance(model, _Replica) else model

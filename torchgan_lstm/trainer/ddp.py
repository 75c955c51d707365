"""The DistributedDataParallel pieces of a ``torchrun`` job: joining it, TorchGAN facades over DDP,
the per-pass sampler loader, and the replica drift check. The strategy that uses them is
:class:`~torchgan_lstm.trainer.distributed.Torchrun`."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torchgan.models import Discriminator, Generator

from .._validation import InputError, check_choice
from .strategy import DEVICES

__all__ = [
    "BACKENDS",
    "DistributedContext",
    "DistributedDiscriminator",
    "DistributedGenerator",
    "EpochLoader",
    "Replica",
    "check_batch_split",
    "env_int",
    "init",
    "launched_by_torchrun",
    "manual_sync_hook",
    "replica_max_abs_diff",
]

BACKENDS = ("auto", "nccl", "gloo")
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


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
    return all(name in os.environ for name in TORCHRUN_VARS)


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


def env_int(name: str) -> int:
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
    local_rank = env_int("LOCAL_RANK")
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
        names = ", ".join(TORCHRUN_VARS)
        raise InputError(f"distributed training needs the environment torchrun sets ({names})")
    backend, dev = _resolve_backend(backend, device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group(backend, device_id=dev if dev.type == "cuda" else None)
    return DistributedContext(
        dist.get_rank(), env_int("LOCAL_RANK"), dist.get_world_size(), dev, seed
    )


class Replica(nn.Module):
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


class DistributedGenerator(Replica, Generator):
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


class DistributedDiscriminator(Replica, Discriminator):
    """A TorchGAN ``Discriminator`` wrapping another in DDP.

    Args:
        module: the discriminator TorchGAN built, on ``context.device``.
        context: this process's place in the job.
    """

    def __init__(self, module: Discriminator, context: DistributedContext):
        Discriminator.__init__(self, module.input_dims, module.label_type)
        self._wrap(module, context)


def manual_sync_hook(replica: Replica):
    def hook(optimizer, args, kwargs) -> None:
        if replica.manual_sync:
            replica.all_reduce_gradients()

    return hook


class EpochLoader:
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

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

import shutil
import tempfile
from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler
from torchgan.models import Discriminator, Generator

from .._validation import InputError, check_choice
from ..data import make_dataloader
from ..losses import DOUBLE_BACKWARD_LOSSES
from .ddp import (
    BACKENDS,
    TORCHRUN_VARS,
    DistributedContext,
    DistributedDiscriminator,
    DistributedGenerator,
    EpochLoader,
    Replica,
    check_batch_split,
    env_int,
    init,
    launched_by_torchrun,
    manual_sync_hook,
    replica_max_abs_diff,
)
from .reproducibility import capture_rng_state, restore_rng_state
from .strategy import SingleProcess

__all__ = ["BACKENDS", "Torchrun", "check_batch_split", "launched_by_torchrun"]


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
            names = ", ".join(TORCHRUN_VARS)
            raise InputError(f"distributed training needs the environment torchrun sets ({names})")
        self.backend = check_choice("backend", backend, BACKENDS)
        self.seed = seed
        self.rank = env_int("RANK")
        self.world_size = env_int("WORLD_SIZE")
        self.context: DistributedContext | None = None
        self.scratch: str | None = None
        self.noise: torch.Generator | None = None

    def check(self, config) -> None:
        """Refuse what has no cross-rank design: ``compile`` (compiled graphs would wrap DDP),
        ``log_every`` (the ranks agree on divergence after every step) and a global batch the
        ranks cannot split evenly.

        Raises:
            InputError: names the setting.
        """
        if config.compile:
            raise InputError(
                "compile=True is not supported under torchrun (the compiled graph would wrap "
                "DistributedDataParallel); drop compile"
            )
        if config.log_every is not None:
            raise InputError(
                f"log_every={config.log_every} is not supported under torchrun (the ranks must "
                f"agree on a diverged loss after every step); drop log_every"
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

    def loader(self, dataset: Dataset, batch_size: int, seed: int) -> EpochLoader:
        """This rank's share of each shuffled pass, ``batch_size / world_size`` a step."""
        local = check_batch_split(batch_size, self.world_size)
        sampler = DistributedSampler(
            dataset, self.world_size, self.rank, shuffle=True, seed=seed, drop_last=True
        )
        return EpochLoader(make_dataloader(dataset, local, shuffle=False, sampler=sampler))

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
            getattr(trainer, optimizer_name).register_step_pre_hook(manual_sync_hook(replica))

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
            if isinstance(replica, Replica):
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
        return model.module if isinstance(model, Replica) else model

"""What a training run does differently on one process and under ``torchrun``, in one object.

There is one training recipe (:func:`torchgan_lstm.app.run.train`). What a distributed run changes,
the data sampler, the device, which process writes, the DDP wrappers, the collectives that keep
the ranks in step, is injected as a strategy, the way Lightning's ``Trainer(strategy=...)``
does it: :class:`SingleProcess` here, :class:`~torchgan_lstm.trainer.distributed.Torchrun` for
``torchrun``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from .._validation import InputError, check_choice
from ..data import make_dataloader
from .reproducibility import capture_rng_state, restore_rng_state

__all__ = ["DEVICES", "SingleProcess", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU.

    Raises:
        InputError: ``"cuda"`` asked on a machine without CUDA, or an unknown name.
    """
    check_choice("device", name, DEVICES)
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device='cuda' was asked for, but torch.cuda.is_available() is False")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


class SingleProcess:
    """One process on one device: the default strategy.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    rank = 0
    world_size = 1

    def __init__(self, device: str = "auto"):
        self.device_name = check_choice("device", device, DEVICES)
        self.device: torch.device | None = None

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and prints (always, on one process)."""
        return self.rank == 0

    def check(self, config) -> None:
        """Refuse settings this strategy cannot train (none on one process)."""

    def setup(self) -> torch.device:
        """Pick the device (and, distributed, join the job); return the device."""
        self.device = resolve_device(self.device_name)
        return self.device

    def teardown(self) -> None:
        """Leave the job (nothing to do on one process)."""

    def dataset(self, build: Callable[[bool], Dataset], download: bool) -> Dataset:
        """Build the dataset; ``build(download)`` (distributed: rank 0 first, then the others)."""
        return build(download)

    def loader(self, dataset: Dataset, batch_size: int, seed: int) -> DataLoader:
        """The training loader: ``batch_size`` samples a step, reshuffled every pass by ``seed``."""
        return make_dataloader(dataset, batch_size, shuffle=True, seed=seed)

    def output_folder(self, out: str) -> str:
        """Where this process writes TorchGAN's outputs (distributed, off rank 0: scratch)."""
        return out

    def seed_ranks(self, seed: int) -> None:
        """Give each rank its own stream for dropout and sampled labels (one rank: unchanged)."""

    def prepare(self, trainer) -> None:
        """Adapt the built ``trainer``'s models (distributed: wrap them in DDP)."""

    def before_loss(self, trainer, arg_map: dict) -> None:
        """Called right before each loss's ``train_ops`` with its argument map."""

    def agree(self, flags: list[bool]) -> list[bool]:
        """Each flag true if it is true on any rank (one rank: the flags themselves)."""
        return flags

    def capture_state(self) -> dict:
        """The random state a checkpoint must carry for an exact resume of this process."""
        return {"rng": capture_rng_state()}

    def restore_state(self, state: dict) -> None:
        """Put back a state written by :meth:`capture_state`.

        Raises:
            InputError: the state lacks an entry.
        """
        if "rng" not in state:
            raise InputError(f"state lacks 'rng', got keys {sorted(state)}")
        restore_rng_state(state["rng"])

    def summary(self, trainer) -> dict[str, Any]:
        """Facts about the run for ``summary.json`` (distributed: world size, replica drift)."""
        return {}

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model TorchGAN built, without any wrapper this strategy added."""
        return model

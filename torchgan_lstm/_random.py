"""One way to draw random numbers without disturbing the caller's random state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["forked_rng"]


@contextmanager
def forked_rng(device: str | torch.device, seed: int | None = None) -> Iterator[None]:
    """Run the block on a fork of the CPU random state (and ``device``'s, if it is a GPU),
    seeded with ``seed`` when given; the state outside is left as it was.

    Args:
        device: the device the block draws on.
        seed: seed of the fork; ``None`` continues from the caller's state.
    """
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        if seed is not None:
            torch.manual_seed(seed)
        yield

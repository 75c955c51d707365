"""Random-number state that a checkpoint must carry for a resumed run to match an unbroken one.

TorchGAN's checkpoints hold the models, optimizers, epoch, loss objects and loss logs, but no
random state: a resumed run drew other noise, other dropout masks and another data order than the
run it continued. :func:`capture_rng_state` returns every generator's state as plain tensors,
ints and tuples (loadable with ``torch.load(weights_only=True)``);
:func:`restore_rng_state` puts it back.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from .._validation import InputError

__all__ = ["capture_rng_state", "restore_rng_state"]


def capture_rng_state() -> dict:
    """The states of torch's CPU and CUDA generators, Python's ``random`` and numpy's global RNG.

    Returns:
        ``{"torch": ByteTensor, "cuda": [ByteTensor per device] or None, "python": tuple,
        "numpy": (name, int64 tensor of 624 words, pos, has_gauss, cached_gaussian)}``.
    """
    name, words, pos, has_gauss, cached = np.random.get_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    return {
        "torch": torch.get_rng_state(),
        "cuda": cuda,
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(words.astype(np.int64)), pos, has_gauss, cached),
    }


def restore_rng_state(state: dict) -> None:
    """Put back a state returned by :func:`capture_rng_state`.

    Args:
        state: the dictionary, e.g. from a checkpoint.

    Raises:
        ValueError: ``state`` lacks an entry, or holds CUDA states for another number of devices
            than this machine has.
    """
    missing = [k for k in ("torch", "cuda", "python", "numpy") if k not in state]
    if missing:
        raise InputError(f"state must hold the RNG states {missing}, got keys {sorted(state)}")
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        if len(state["cuda"]) != torch.cuda.device_count():
            raise InputError(
                f"state holds CUDA RNG states for {len(state['cuda'])} devices, but this machine "
                f"has {torch.cuda.device_count()}"
            )
        torch.cuda.set_rng_state_all(state["cuda"])
    version, words, gauss = state["python"]
    random.setstate((version, tuple(words), gauss))
    name, words, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, words.numpy().astype(np.uint32), pos, has_gauss, cached))

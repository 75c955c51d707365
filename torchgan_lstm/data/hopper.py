"""MuJoCo hopper trajectories, the "MuJoCo" dataset of Diffusion-TS (Table 1), regenerated.

Diffusion-TS's ``MuJoCoDataset`` rolls out dm_control's ``hopper`` / ``stand`` task from random
states: numpy's global generator seeded with 123 draws, per sequence, the x and z positions
``U(0, 0.5)``, the other five joint positions ``U(-2, 2)`` and the seven velocities ``U(-5, 5)``;
each step records the 7 positions and 7 velocities, then advances the physics by one step, with
no control. 10,000 sequences of 24 steps x 14 features, each feature min-max scaled to
``[0, 1]`` over all of them.

The roll-outs need ``dm-control`` (the optional extra ``mujoco``:
``pip install 'torchgan-lstm[mujoco]'``). They are computed once (about 10 s for 10,000) and
cached as a ``.npy`` file of the raw states under ``$XDG_CACHE_HOME/torchgan-lstm/`` (default
``~/.cache/torchgan-lstm/``); the cache holds data only and is read without pickle.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .._validation import InputError, check_int

__all__ = [
    "MUJOCO_FEATURES",
    "MUJOCO_SEED",
    "hopper_trajectories",
    "mujoco",
    "mujoco_cache_dir",
]

MUJOCO_SEED = 123
MUJOCO_FEATURES = 14  # hopper: 7 joint positions, then 7 joint velocities
_NAMES = [f"qpos {k}" for k in range(7)] + [f"qvel {k}" for k in range(7)]


def mujoco_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/torchgan-lstm`` (default ``~/.cache/torchgan-lstm``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "torchgan-lstm"


def _hopper_physics():
    # No rendering is needed; without this, importing dm_control warns on a machine without a
    # display.
    os.environ.setdefault("MUJOCO_GL", "disable")
    try:
        from dm_control import suite
    except ImportError:
        raise InputError(
            "dataset 'mujoco' needs dm-control: pip install 'torchgan-lstm[mujoco]'"
        ) from None
    return suite.load("hopper", "stand").physics


def hopper_trajectories(n: int, seq_len: int = 24, seed: int = MUJOCO_SEED) -> np.ndarray:
    """Roll out dm_control's hopper from random states, as Diffusion-TS's ``MuJoCoDataset``.

    numpy's global random state is seeded with ``seed`` (Diffusion-TS draws from it) and
    restored afterwards.

    Args:
        n: number of sequences.
        seq_len: steps per sequence.
        seed: seed of numpy's global generator (Diffusion-TS: 123).

    Returns:
        float64 ``(n, seq_len, 14)``: the joint positions then the joint velocities, raw units.

    Raises:
        InputError: dm-control is not installed, or an argument is out of range.
    """
    check_int("n", n)
    check_int("seq_len", seq_len, minimum=2)
    physics = _hopper_physics()
    half = MUJOCO_FEATURES // 2
    data = np.zeros((n, seq_len, MUJOCO_FEATURES))
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        for i in range(n):
            with physics.reset_context():
                physics.data.qpos[:2] = np.random.uniform(0, 0.5, size=2)
                physics.data.qpos[2:] = np.random.uniform(-2, 2, size=physics.data.qpos[2:].shape)
                physics.data.qvel[:] = np.random.uniform(-5, 5, size=physics.data.qvel.shape)
            for t in range(seq_len):
                data[i, t, :half] = physics.data.qpos
                data[i, t, half:] = physics.data.qvel
                physics.step()
    finally:
        np.random.set_state(state)
    return data


def _cached_trajectories(n: int, seq_len: int, seed: int, cache: Path) -> np.ndarray:
    path = cache / f"mujoco-hopper-stand-n{n}-len{seq_len}-seed{seed}.npy"
    shape = (n, seq_len, MUJOCO_FEATURES)
    if path.is_file():
        data = np.load(path, allow_pickle=False)
        if data.shape == shape and np.isfinite(data).all():
            return data
    data = hopper_trajectories(n, seq_len, seed)
    cache.mkdir(parents=True, exist_ok=True)
    # Written whole, then renamed: a run stopped mid-write leaves no truncated cache file.
    with tempfile.NamedTemporaryFile(dir=cache, suffix=".npy", delete=False) as file:
        np.save(file, data)
    os.replace(file.name, path)
    return data


def mujoco(
    n: int = 10000,
    seq_len: int = 24,
    seed: int = MUJOCO_SEED,
    cache: str | os.PathLike | None = None,
):
    """Diffusion-TS's MuJoCo data: hopper roll-outs, each feature scaled to ``[0, 1]``.

    Args:
        n: number of sequences (Diffusion-TS: 10,000).
        seq_len: steps per sequence (Diffusion-TS: 24).
        seed: numpy seed of the random states (Diffusion-TS: 123).
        cache: folder of the cached roll-outs; ``None``: :func:`mujoco_cache_dir`.

    Returns:
        A :class:`~torchgan_lstm.data.sequences.SequenceDataset` ``(n, seq_len, 14)`` whose
        ``scaler`` restores the physical units.

    Raises:
        InputError: as :func:`hopper_trajectories`.
    """
    from .sequences import MinMaxScaler, SequenceDataset

    check_int("n", n)
    check_int("seq_len", seq_len, minimum=2)
    folder = mujoco_cache_dir() if cache is None else Path(cache)
    data = _cached_trajectories(n, seq_len, seed, folder)
    scaler = MinMaxScaler.fit(data)
    return SequenceDataset(scaler.transform(data), scaler=scaler, feature_names=list(_NAMES))

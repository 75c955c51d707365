"""MuJoCo hopper data as Diffusion-TS generates it: roll-outs, the cache, the optional extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from torchgan_lstm._validation import InputError
from torchgan_lstm.data import build_sequence_dataset, hopper, mujoco

from .conftest import SINES_TINY, cli_exit


def direct_rollouts(n: int, seq_len: int) -> np.ndarray:
    """Diffusion-TS's ``_generate_random_trajectories``, written out against dm_control."""
    from dm_control import suite

    physics = suite.load("hopper", "stand").physics
    np.random.seed(123)
    data = np.zeros((n, seq_len, 14))
    for i in range(n):
        with physics.reset_context():
            physics.data.qpos[:2] = np.random.uniform(0, 0.5, size=2)
            physics.data.qpos[2:] = np.random.uniform(-2, 2, size=5)
            physics.data.qvel[:] = np.random.uniform(-5, 5, size=7)
        for t in range(seq_len):
            data[i, t] = np.concatenate([physics.data.qpos, physics.data.qvel])
            physics.step()
    return data


def test_rollouts_match_a_direct_dm_control_rollout_and_leave_numpys_state_alone():
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    ours = hopper.hopper_trajectories(4, seq_len=6)
    assert (np.random.get_state()[1] == before).all()
    np.testing.assert_array_equal(ours, direct_rollouts(4, 6))
    assert np.ptp(ours[:, :, 7:], axis=1).min() > 0  # the velocities change over the steps


def test_mujoco_is_generated_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = mujoco(n=3, seq_len=5)
    assert tuple(first.sequences.shape) == (3, 5, 14) and first.sequences.max() == 1
    assert len(list((tmp_path / "torchgan-lstm").glob("*.npy"))) == 1

    def fail(*args):
        raise AssertionError("generated again")

    monkeypatch.setattr(hopper, "hopper_trajectories", fail)
    assert (mujoco(n=3, seq_len=5).sequences == first.sequences).all()


def test_without_dm_control_the_error_names_the_extra_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setitem(sys.modules, "dm_control", None)
    with pytest.raises(InputError, match=r"pip install 'torchgan-lstm\[mujoco\]'"):
        build_sequence_dataset("mujoco")
    code, err = cli_exit(["train", *SINES_TINY, "--data.dataset", "mujoco"], capsys)
    assert code == 2 and "torchgan-lstm[mujoco]" in err

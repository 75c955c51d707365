"""A training run killed with SIGKILL at random moments always resumes from its newest checkpoint.

Each run is a child process forked from this one (already holding torch, so a start costs a
fraction of a second instead of a fresh interpreter's seconds) that runs the command line
``torchgan-lstm train ... --resume auto`` and is killed with SIGKILL at a random moment after it
has written at least one checkpoint of its own.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time

from torchgan_lstm import checkpoint
from torchgan_lstm.app import cli
from torchgan_lstm.app.run import latest_checkpoint, load_generator
from torchgan_lstm.checkpoint import safe_load

from .conftest import write_idx_blobs
from .test_reproducibility import run_cli, tiny_args

KILLS = 20


def _train_quietly(argv: list[str], stall_in_write: bool) -> None:
    if stall_in_write:  # hold every checkpoint write between writing and renaming
        checkpoint.os.fsync = lambda fd: time.sleep(60)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    code = 1
    try:
        code = cli.main(argv)
    finally:
        os._exit(code or 0)


def _newest_epoch(out) -> int:
    try:
        return safe_load(latest_checkpoint(out))["epoch"]
    except Exception:  # no checkpoint yet (the first run)
        return 0


def _wait_for(condition, child, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert child.is_alive(), f"the run stopped by itself (exit {child.exitcode})"
        assert time.monotonic() < deadline, f"nothing happened within {timeout_s} s"
        time.sleep(0.01)


def test_run_killed_20_times_always_resumes_from_a_loadable_checkpoint(tmp_path):
    fork = multiprocessing.get_context("fork")
    out = tmp_path / "run"
    args = ["train", *tiny_args(write_idx_blobs(tmp_path)), "--eval_every", "2", "--out", str(out)]
    rng = random.Random(0)
    epochs, mid_write = [], 0
    for kill in range(KILLS):
        before = _newest_epoch(out)
        resume = ["--resume", "auto"] if kill else []
        # Every 5th run is killed inside a checkpoint write, for certain; the others at a
        # random moment after their first checkpoint (mostly mid-step, sometimes mid-write).
        stall = kill % 5 == 4
        argv = [*args, "--max_steps", "100000", *resume]
        old_temporaries = set(out.joinpath("checkpoints").glob(".*.tmp"))
        child = fork.Process(target=_train_quietly, args=(argv, stall))
        child.start()
        try:
            if stall:  # a new temporary file: this run is inside its first write
                _wait_for(
                    lambda: set(out.joinpath("checkpoints").glob(".*.tmp")) - old_temporaries,  # noqa: B023
                    child,
                )
            else:
                _wait_for(lambda: _newest_epoch(out) > before, child)  # noqa: B023
                time.sleep(rng.uniform(0.0, 0.4))
        finally:
            child.kill()  # SIGKILL
            child.join()
        assert child.exitcode == -9
        mid_write += bool(set(out.joinpath("checkpoints").glob(".*.tmp")) - old_temporaries)
        newest = latest_checkpoint(out)
        load_generator(newest)  # loads, and fits the configuration
        epochs.append(safe_load(newest)["epoch"])
        assert epochs[-1] > before or stall, "the resumed run continued and checkpointed"
        assert epochs[-1] >= before
    assert epochs == sorted(epochs)
    # After the last kill the run finishes normally from where it was.
    final = 2 * epochs[-1] + 4
    assert run_cli(*args, "--max_steps", str(final), "--resume", "auto") == 0
    assert safe_load(latest_checkpoint(out))["epoch"] == epochs[-1] + 2
    assert not any(out.joinpath("checkpoints").glob(".*.tmp")), "stale temporaries cleaned"
    assert mid_write >= KILLS // 5
    print(f"{KILLS} kills survived; {mid_write} inside a checkpoint write; epochs {epochs}")

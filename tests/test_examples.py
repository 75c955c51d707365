"""The scripts of examples/ run end to end with tiny settings, as a user would start them (the
conditional example is tested in tests/test_conditional.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import write_idx_blobs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""},
        timeout=300,
        check=False,
    )


def test_the_fashion_mnist_example_trains_the_command_lines_recipe(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "run"
    done = run_example(
        "train_fashion_mnist.py", "--out", str(out), "--data-root",
        write_idx_blobs(data, n=64, size=28), "--batch-size", "16", "--metric-samples", "0",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert list((out / "checkpoints").glob("gan*.model"))
    assert list((out / "images").glob("epoch1_*.png"))


def test_the_stocks_example_writes_the_plot_and_series_in_dollars(tmp_path):
    out = tmp_path / "run"
    done = run_example(
        "train_stocks.py", "--out", str(out), "--epochs", "1", "--limit", "256",
        "--hidden-size", "8", "--no-metrics",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "real_vs_generated.png").is_file()
    assert (out / "generated.npy").is_file()

"""The torchgan-lstm command line on real Fashion-MNIST: train, resume, sample, evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from torchgan_lstm.data import DEBIAN_FASHION_MNIST

needs_fashion_mnist = pytest.mark.skipif(
    not DEBIAN_FASHION_MNIST.is_dir() and not os.environ.get("TORCHGAN_LSTM_DATA"),
    reason="needs Fashion-MNIST on disk (apt-get install dataset-fashion-mnist)",
)
TINY = [
    "--hidden-size",
    "16",
    "--g-step-channels",
    "8",
    "--d-step-channels",
    "8",
    "--encoding-dims",
    "16",
    "--batch-size",
    "16",
    "--metric-samples",
    "200",
    "--no-progress",
]


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m torchgan_lstm`` in a fresh process, as a user would."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torchgan_lstm", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    if not DEBIAN_FASHION_MNIST.is_dir() and not os.environ.get("TORCHGAN_LSTM_DATA"):
        pytest.skip("needs Fashion-MNIST on disk")
    out = tmp_path_factory.mktemp("run")
    cli("train", "--max-steps", "6", "--eval-every", "3", "--out", str(out), *TINY)
    return out


@needs_fashion_mnist
def test_train_leaves_grid_logs_checkpoint_and_metrics(trained_run):
    out = trained_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 6
    assert set(summary["metrics"]) == {
        "FrechetClassifierDistance",
        "ClassCoverage",
        "ClassImbalance",
    }
    assert summary["metrics"]["FrechetClassifierDistance"] > 0
    assert 1 <= summary["metrics"]["ClassCoverage"] <= 10
    assert sorted(p.name for p in (out / "images").iterdir()) == [
        "epoch1_generator.png",
        "epoch2_generator.png",
    ]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["gan0.model", "gan1.model"]
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    fcd = events.Scalars("Metrics/FrechetClassifierDistance")
    assert [e.step for e in fcd] == [1, 2]  # one evaluation per TorchGAN epoch (3 steps)
    assert fcd[-1].value == pytest.approx(summary["metrics"]["FrechetClassifierDistance"])
    assert "Metrics/ClassCoverage" in events.Tags()["scalars"]
    grid = Image.open(out / "samples.png")
    assert grid.size == (8 * 34 + 2, 8 * 34 + 2)  # 64 images of 32 px, 2 px padding
    assert Image.open(out / "loss_curves.png").size[0] >= 600
    assert summary["config"]["decoder"] == "conv" and summary["config"]["channels"] == 1


@needs_fashion_mnist
def test_one_channel_sample_grid_keeps_the_grey_images(trained_run):
    image = Image.open(trained_run / "images" / "epoch2_generator.png")
    grid = torch.tensor(np.asarray(image))
    # make_grid repeats a single channel into RGB: the three channels must be equal.
    assert image.mode == "RGB" and grid.shape[-1] == 3
    assert torch.equal(grid[..., 0], grid[..., 1]) and torch.equal(grid[..., 1], grid[..., 2])
    assert grid.float().std() > 0, "not a blank image"


@needs_fashion_mnist
def test_resume_continues_from_the_newest_checkpoint(trained_run, tmp_path):
    out = tmp_path / "resumed"
    import shutil

    shutil.copytree(trained_run, out)
    proc = cli(
        "train",
        "--max-steps",
        "9",
        "--eval-every",
        "3",
        "--out",
        str(out),
        "--resume",
        "auto",
        *TINY,
    )
    assert "Loading Model From" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 9
    assert (out / "images" / "epoch3_generator.png").exists()


@needs_fashion_mnist
def test_resume_with_other_models_names_both_sides(trained_run):
    proc = cli(
        "train",
        "--max-steps",
        "9",
        "--out",
        str(trained_run),
        "--resume",
        "auto",
        *TINY[:-1],
        "--hidden-size",
        "24",
        "--decoder",
        "rows",
        check=False,
    )
    assert proc.returncode == 2
    assert "decoder: checkpoint 'conv' vs requested 'rows'" in proc.stderr
    assert "hidden_size: checkpoint 16 vs requested 24" in proc.stderr
    assert "Traceback" not in proc.stderr


@needs_fashion_mnist
def test_sample_writes_a_grid_and_single_images(trained_run, tmp_path):
    checkpoint = trained_run / "checkpoints" / "gan1.model"
    grid = tmp_path / "grid.png"
    cli("sample", str(checkpoint), "--out", str(grid), "--n", "16", "--singles", "3")
    assert Image.open(grid).size == (8 * 34 + 2, 2 * 34 + 2)  # 8 per row
    singles = sorted(p.name for p in tmp_path.glob("grid_*.png"))
    assert singles == ["grid_000.png", "grid_001.png", "grid_002.png"]
    assert Image.open(tmp_path / "grid_000.png").size == (32, 32)


@needs_fashion_mnist
def test_evaluate_prints_and_writes_the_metrics(trained_run, tmp_path):
    checkpoint = trained_run / "checkpoints" / "gan1.model"
    report = tmp_path / "metrics.json"
    proc = cli("evaluate", str(checkpoint), "--samples", "300", "--json", str(report))
    printed = json.loads(proc.stdout)
    assert printed == json.loads(report.read_text())
    assert printed["frechet_classifier_distance"] > 0
    assert 1 <= printed["class_coverage"] <= 10
    assert len(printed["class_histogram"]) == 10
    assert sum(printed["class_histogram"]) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--image-size", "4"], "image_size must be >= 8, got 4"),
        (["--max-steps", "0"], "--max-steps: must be >= 1, got 0"),
        (
            ["--batch-size", "100000"],
            "batch_size must be between 1 and the 60000 samples per epoch",
        ),
        (["--data-root", "/nonexistent/fashion"], "Fashion-MNIST (train split) not found"),
        (["--generator", "dcgan", "--image-size", "28"], "power of two >= 16"),
        (["--discriminator", "dcgan", "--image-size", "24"], "DCGAN discriminator, got 24"),
        (["--decoder", "pixelcnn"], "argument --decoder: invalid choice: 'pixelcnn'"),
        (["--lstm-dropout", "0.5", "--num-layers", "1"], "dropout acts between LSTM layers"),
        (["--d-dropout", "0"], "d_dropout=0.0 is only read by discriminator='conv'"),
        (["--loss", "wgan-gp"], "loss='wgan-gp' penalises each image's gradient"),
        (["--decoder", "rows", "--lstm-gate"], "lstm_gate=True needs decoder='conv'"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(args, message, tmp_path):
    if "--batch-size" in args and not DEBIAN_FASHION_MNIST.is_dir():
        pytest.skip("needs Fashion-MNIST on disk")
    proc = cli(
        "train", "--out", str(tmp_path), "--no-download", "--no-progress", *args, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "error" in line]) == 1
    assert not (tmp_path / "checkpoints").exists() or not any((tmp_path / "checkpoints").iterdir())


def test_sample_of_a_missing_checkpoint_is_a_clear_error(tmp_path):
    proc = cli("sample", str(tmp_path / "nope.model"), check=False)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr


@needs_fashion_mnist
def test_time_budget_stops_after_an_evaluated_checkpoint_and_ema_is_sampled(tmp_path):
    from torchgan_lstm.app.run import latest_checkpoint, load_generator
    from torchgan_lstm.checkpoint import safe_load

    out = tmp_path / "budget"
    args = ["--eval-every", "3", "--ema-decay", "0.9", "--amp", "--out", str(out), *TINY]
    cli("train", "--max-steps", "3", *args)
    # Resumed with a budget the first step spends: that epoch ends there, checkpointed and
    # evaluated, and the run stops.
    cli("train", "--max-steps", "40", "--max-seconds", "1e-9", "--resume", "auto", *args)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["stopped_by"] == "max_seconds"
    assert len(summary["metric_history"]["FrechetClassifierDistance"]) == 1
    checkpoint = latest_checkpoint(out)
    saved = safe_load(checkpoint)
    assert saved["generator_ema"]["n_averaged"] == 4 and saved["run_config"]["amp"] is True
    generator, config = load_generator(checkpoint)
    assert config.ema_decay == 0.9
    state = generator.state_dict()
    for name, value in state.items():  # sampling uses the average, not the live weights
        torch.testing.assert_close(value, saved["generator_ema"]["module." + name])
    assert any(
        not torch.equal(value, saved["generator"][name])
        for name, value in state.items()
        if value.is_floating_point()
    )

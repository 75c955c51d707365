"""``sample``, ``evaluate`` and ``export`` in bounded memory: batches streamed to disk, and
requests that cannot fit refused with an estimate before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from torchgan_lstm.app import cli, commands

from .conftest import cli_exit as run
from .conftest import write_idx_blobs


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    root = write_idx_blobs(tmp_path_factory.mktemp("idx"), n=32)
    out = tmp_path_factory.mktemp("images") / "run"
    argv = ["train", "--data.root", root, "--data.image_size", "16", "--max_steps", "2",
            "--eval_every", "2", "--metric_samples", "0", "--batch_size", "16",
            "--generator.hidden_size", "8", "--generator.step_channels", "4",
            "--discriminator.step_channels", "4", "--sample_size", "4", "--progress", "false",
            "--device", "cpu", "--out", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    return out


def test_sequences_stream_to_npy_and_csv_in_batches(sines_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(commands, "CHUNK", 7)  # several batches for a small n
    assert run(["sample", sines_run, "--out", tmp_path / "a.npy", "--n", "20"], capsys)[0] == 0
    assert run(["sample", sines_run, "--out", tmp_path / "a.csv", "--n", "20"], capsys)[0] == 0
    streamed = np.load(tmp_path / "a.npy")
    assert streamed.shape == (20, 24, 5) and np.isfinite(streamed).all()
    rows = np.loadtxt(tmp_path / "a.csv", delimiter=",", skiprows=1)
    assert rows.shape == (20 * 24, 2 + 5)
    np.testing.assert_allclose(rows[:, 2:].reshape(20, 24, 5), streamed, rtol=1e-6)
    monkeypatch.setattr(commands, "CHUNK", 500)
    assert run(["sample", sines_run, "--out", tmp_path / "b.npy", "--n", "7"], capsys)[0] == 0
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), streamed[:7])  # same first batch


def test_image_folders_stream_one_png_per_sample(image_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(commands, "CHUNK", 3)
    folder = tmp_path / "fid"
    assert run(["sample", image_run, "--out", folder, "--n", "8"], capsys)[0] == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"{i:06d}.png" for i in range(8)]
    assert Image.open(folder / "000007.png").size == (16, 16)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n", "1000000000", "--out", "x.npz"], "needs about"),
        (["--n", "1000000000", "--out", "grid.png"], "--format png needs about"),
        (["--n", "1000000000000", "--out", "fid_folder"], "on disk"),
    ],
)
def test_image_requests_that_cannot_fit_are_refused_up_front(
    image_run, tmp_path, capsys, monkeypatch, argv, message
):
    monkeypatch.chdir(tmp_path)
    code, err = run(["sample", image_run, *argv], capsys)
    assert code == 2 and message in err and "--n" in err
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "fid_folder"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n", "1000000000000", "--out", "x.npy"], "on disk"),
        (["--n", "10", "--seq_len", "1000000000", "--out", "x.npy"], "seq_len=1000000000 needs"),
        (["--n", "10", "--out", "x.png"], "must end in .npy or .csv"),
        (["--n", "10", "--out", "x.npy", "--format", "png"], "--format must be npy or csv"),
    ],
)
def test_sequence_requests_that_cannot_fit_are_refused_up_front(
    sines_run, tmp_path, capsys, monkeypatch, argv, message
):
    monkeypatch.chdir(tmp_path)
    code, err = run(["sample", sines_run, *argv], capsys)
    assert code == 2 and message in err
    assert not (tmp_path / "x.npy").exists()


def test_evaluate_refuses_more_samples_than_memory_holds(image_run, capsys):
    code, err = run(["evaluate", image_run, "--samples", "100000000000"], capsys)
    assert code == 2 and "--samples 100000000000 needs about" in err


@pytest.mark.parametrize(
    "option", [["--posthoc_iterations", "5"], ["--context_fid_iterations", "5"]]
)
def test_sequence_only_evaluate_options_are_refused_for_an_image_checkpoint(
    option, tiny_checkpoint, capsys
):
    code, err = run(["evaluate", tiny_checkpoint, *option, "--device", "cpu"], capsys)
    assert code == 2 and f"{option[0]}: for sequence checkpoints only" in err

"""Runs that go wrong stop where they go wrong, say so in one line, and keep the last checkpoint."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch

from torchgan_lstm import DataLoaderFailed, TrainingDiverged
from torchgan_lstm.app import cli
from torchgan_lstm.app import run as training
from torchgan_lstm.app.cli import config_from_args
from torchgan_lstm.app.run import latest_checkpoint

from .conftest import blob_images, write_idx_blobs
from .test_reproducibility import EVAL_EVERY, run_cli, tiny_args


def config(tmp_path, *extra: str, max_steps: int = 2 * EVAL_EVERY):
    args = cli.train_parser().parse_args(
        [
            *(*tiny_args(write_idx_blobs(tmp_path)), "--max_steps", str(max_steps)),
            *("--out", str(tmp_path / "run"), *extra),
        ]
    )
    return config_from_args(args)


def snapshot(out):
    """Name, bytes and mtime of every checkpoint: what must survive a failed run."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "checkpoints").glob("*")}


def quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def test_nan_loss_stops_naming_the_loss_and_step_and_keeps_the_checkpoint(tmp_path):
    cfg = config(tmp_path)

    def poison_after_first_checkpoint(trainer):
        def hook(module, inputs, output):
            if trainer.loss_information["discriminator_iters"] >= EVAL_EVERY + 1:
                return output * float("nan")  # from step EVAL_EVERY + 2 on
            return output

        trainer.discriminator.register_forward_hook(hook)

    with pytest.raises(TrainingDiverged, match=rf"Minimax\w+Loss is nan at step {EVAL_EVERY + 2}"):
        quiet(training.train, cfg, on_trainer=poison_after_first_checkpoint)
    out = tmp_path / "run"
    assert sorted(snapshot(out)) == ["gan0.model"], "no checkpoint written after the nan"
    good = snapshot(out)
    state = torch.load(out / "checkpoints" / "gan0.model", weights_only=False)
    assert all(torch.isfinite(p).all() for p in state["generator"].values())
    # Resuming (without the poison) continues from the kept checkpoint and leaves it alone.
    quiet(training.train, config(tmp_path), resume="auto")
    assert snapshot(out)["gan0.model"] == good["gan0.model"]
    assert latest_checkpoint(out).name == "gan1.model"


def test_cli_reports_divergence_in_one_line_with_status_1(tmp_path, capfd):
    args = [
        *tiny_args(write_idx_blobs(tmp_path)),
        "--max_steps",
        "50",
        "--out",
        str(tmp_path / "run"),
    ]
    with pytest.raises(SystemExit) as info:
        cli.main(["train", *args, "--d_lr", "1e38", "--g_lr", "1e38"])
    assert info.value.code == 1
    lines = capfd.readouterr().err.splitlines()  # everything written to the terminal's stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("torchgan-lstm train: error: training diverged: ")
    assert " at step " in lines[0]


class _FailingDataset(torch.utils.data.Dataset):
    """Blob images that raise ``OSError`` from the ``fail_from``-th item read on."""

    def __init__(self, fail_from: int):
        self.images, self.reads, self.fail_from = blob_images(48), 0, fail_from

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        self.reads += 1
        if self.reads >= self.fail_from:
            raise OSError("the network drive went away")
        return self.images[i], 0


def test_data_loader_that_raises_is_reported_at_its_step_and_keeps_the_checkpoint(
    tmp_path, monkeypatch
):
    cfg = config(tmp_path)
    # 1 read for the shape check, 8 per step: the 3rd read of step EVAL_EVERY + 2 fails.
    dataset = _FailingDataset(fail_from=1 + 8 * (EVAL_EVERY + 1) + 3)
    monkeypatch.setattr(training, "build_dataset", lambda *a, **k: dataset)
    with pytest.raises(DataLoaderFailed, match=rf"at step {EVAL_EVERY + 2} .*OSError: the network"):
        quiet(training.train, cfg)
    assert sorted(snapshot(tmp_path / "run")) == ["gan0.model"]


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        (torch.utils.data.TensorDataset(torch.zeros(0, 1, 16, 16)), "empty dataset"),
        (
            torch.utils.data.TensorDataset(torch.zeros(48, 3, 16, 16), torch.zeros(48)),
            r"images have shape \(3, 16, 16\), but the models are built for .* = \(1, 16, 16\)",
        ),
        (
            torch.utils.data.TensorDataset(torch.zeros(48, 1, 8, 8), torch.zeros(48)),
            r"images have shape \(1, 8, 8\)",
        ),
    ],
)
def test_bad_dataset_is_refused_before_training_and_the_checkpoint_kept(
    tmp_path, monkeypatch, dataset, message
):
    cfg = config(tmp_path, max_steps=EVAL_EVERY)
    quiet(training.train, cfg)
    good = snapshot(tmp_path / "run")
    monkeypatch.setattr(training, "build_dataset", lambda *a, **k: dataset)
    with pytest.raises(ValueError, match=message):
        quiet(training.train, config(tmp_path), resume="auto")
    assert snapshot(tmp_path / "run") == good
    assert latest_checkpoint(tmp_path / "run").name == "gan0.model"
    # And through the command line: status 2, one line.
    code = run_cli("train", *tiny_args(str(tmp_path)), "--out", str(tmp_path / "run"))
    assert code == 2
    assert snapshot(tmp_path / "run") == good

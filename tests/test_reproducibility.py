"""Exact resume and determinism on CPU: the same seed gives the same run, killed or not."""

from __future__ import annotations

import contextlib
import io
import random

import numpy as np
import pytest
import torch

from torchgan_lstm.app import cli
from torchgan_lstm.app.run import latest_checkpoint
from torchgan_lstm.checkpoint import safe_load
from torchgan_lstm.metrics import ClassCoverage
from torchgan_lstm.models import LSTMGenerator
from torchgan_lstm.trainer.reproducibility import capture_rng_state, restore_rng_state
from torchgan_lstm.trainer.steps import StepLoader

from .conftest import SMALL_GENERATOR, write_idx_blobs

EVAL_EVERY = 5  # 48 images in batches of 8: 6 batches a pass, so a checkpoint falls mid-pass


def tiny_args(data_root: str) -> list[str]:
    """CLI options for a seconds-long run of tiny models on 16x16 blobs (dropout on)."""
    return [
        *("--data.dataset", "fashion-mnist", "--data.root", data_root, "--data.download", "false"),
        *(
            "--data.image_size",
            "16",
            "--generator.hidden_size",
            "16",
            "--generator.encoding_dims",
            "16",
        ),
        *("--generator.step_channels", "8", "--discriminator.step_channels", "8"),
        *("--discriminator", "ConvDiscriminator", "--discriminator.num_layers", "2"),
        *("--batch_size", "8", "--metric_samples", "0", "--progress", "false"),
        *("--eval_every", str(EVAL_EVERY)),
    ]


def run_cli(*argv: str) -> int:
    """``torchgan-lstm ...`` in this process, its chatter swallowed; the exit status."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return cli.main(list(argv))
        except SystemExit as exit_:
            return exit_.code


def _same_tensors(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same_tensors(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("restored", [True, False])
def test_cli_resume_is_bit_identical_to_an_unbroken_run(tmp_path, monkeypatch, restored):
    data = write_idx_blobs(tmp_path)
    args = tiny_args(data)
    steps = str(2 * EVAL_EVERY)
    assert run_cli("train", "--max_steps", steps, "--out", str(tmp_path / "straight"), *args) == 0
    if not restored:  # control: TorchGAN's own resume, without the RNG and data-order state
        monkeypatch.setattr(StepLoader, "restore", lambda self, state: None)
    broken = str(tmp_path / "broken")
    assert run_cli("train", "--max_steps", str(EVAL_EVERY), "--out", broken, *args) == 0
    assert run_cli("train", "--max_steps", steps, "--out", broken, "--resume", "auto", *args) == 0

    straight = safe_load(latest_checkpoint(tmp_path / "straight"))
    resumed = safe_load(latest_checkpoint(broken))
    assert straight["epoch"] == resumed["epoch"] == 2
    same = {
        k: _same_tensors(straight[k], resumed[k])
        for k in (
            "generator",
            "discriminator",
            "optimizer_generator",
            "optimizer_discriminator",
            "loss_logs",
            "loss_information",
        )
    }
    if restored:
        assert all(same.values()), same
    else:
        assert not same["generator"] and not same["loss_logs"], "the control must differ"


def test_same_seed_gives_the_same_run_and_the_same_samples(tmp_path):
    data = write_idx_blobs(tmp_path)
    for name in ("a", "b"):
        assert (
            run_cli("train", "--max_steps", "3", "--out", str(tmp_path / name), *tiny_args(data))
            == 0
        )
    a, b = (safe_load(latest_checkpoint(tmp_path / n)) for n in ("a", "b"))
    assert _same_tensors(a["generator"], b["generator"])
    assert (tmp_path / "a" / "samples.png").read_bytes() == (
        tmp_path / "b" / "samples.png"
    ).read_bytes()
    checkpoint = str(latest_checkpoint(tmp_path / "a"))
    grids = {}
    for name, seed in (("s1", "7"), ("s2", "7"), ("other", "8")):
        grids[name] = tmp_path / f"{name}.png"
        assert (
            run_cli(
                "sample",
                checkpoint,
                "--out",
                str(grids[name]),
                "--seed",
                seed,
                "--n",
                "8",
                "--device",
                "cpu",
            )
            == 0
        )
    assert grids["s1"].read_bytes() == grids["s2"].read_bytes()
    assert grids["s1"].read_bytes() != grids["other"].read_bytes()


def test_metric_evaluation_leaves_the_training_rng_untouched():
    torch.manual_seed(0)
    generator = LSTMGenerator(**{**SMALL_GENERATOR, "out_size": 28}).eval()
    before = torch.get_rng_state()
    ClassCoverage(sample_size=16, device="cpu").metric_ops(generator, "cpu")
    assert torch.equal(torch.get_rng_state(), before)


def test_rng_state_survives_a_weights_only_checkpoint(tmp_path):
    torch.manual_seed(1)
    random.seed(2)
    np.random.seed(3)
    state = capture_rng_state()
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.save({"rng": state}, tmp_path / "state.pt")
    torch.manual_seed(99)
    random.seed(99)
    np.random.seed(99)
    restore_rng_state(safe_load(tmp_path / "state.pt")["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert (random.random(), np.random.rand()) == expected[1:]
    with pytest.raises(ValueError, match=r"state must hold the RNG states \['numpy'\]"):
        restore_rng_state({k: v for k, v in state.items() if k != "numpy"})

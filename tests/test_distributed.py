"""Training under the real ``torchrun``: 2 CPU processes with gloo, against 1 process."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from torchgan_lstm.app import cli
from torchgan_lstm.app.run import load_generator
from torchgan_lstm.trainer.distributed import check_batch_split

from .conftest import blob_images

# Tiny models; no batch norm and no discriminator dropout: on CPU there is no
# SyncBatchNorm, and dropout masks are per rank, so only this configuration can match exactly.
TINY = [
    "train", "--backend", "gloo", "--device", "cpu", "--data.dataset", "folder",
    "--data.image_size", "16", "--data.channels", "1",
    "--generator.hidden_size", "16", "--generator.num_layers", "1",
    "--generator.step_channels", "8", "--generator.encoding_dims", "8",
    "--generator.batchnorm", "false",
    "--discriminator", "ConvDiscriminator", "--discriminator.step_channels", "8",
    "--discriminator.num_layers", "2", "--discriminator.norm", "none",
    "--batch_size", "8", "--eval_every", "3", "--metric_samples", "0",
    "--sample_size", "16", "--progress", "false",
]  # fmt: skip


@pytest.fixture(scope="module")
def blobs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("blobs")
    (root / "x").mkdir()
    for i, image in enumerate(blob_images(64)):
        pixels = ((image[0] + 1) * 127.5).round().byte().numpy()
        Image.fromarray(pixels, "L").save(root / "x" / f"{i:03d}.png")
    return root


def torchrun(nproc: int, *args: str) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=nproc -m torchgan_lstm ...`` in a fresh process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc_per_node={nproc}", "-m", "torchgan_lstm", *args]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(
            f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def final_state(out: Path) -> dict:
    checkpoint = torch.load(out / "checkpoints" / "gan1.model", weights_only=False)
    return {m: checkpoint[m] for m in ("generator", "discriminator")}


def test_two_ranks_stay_in_sync_and_match_one_process_on_the_same_global_batch(blobs, tmp_path):
    runs = {}
    for nproc in (2, 1):
        out = tmp_path / f"ranks{nproc}"
        proc = torchrun(
            nproc, *TINY, "--data.root", str(blobs), "--max_steps", "6", "--out", str(out)
        )
        summary = json.loads((out / "summary.json").read_text())
        assert summary["steps"] == 6 and summary["world_size"] == nproc
        assert summary["replica_max_abs_diff"] == 0.0  # parameters identical on every rank
        runs[nproc] = final_state(out)
        assert proc.stdout.count("Epoch 1 Summary") == 1  # only rank 0 prints
    for model in ("generator", "discriminator"):
        for key, single in runs[1][model].items():
            torch.testing.assert_close(runs[2][model][key], single, rtol=1e-5, atol=1e-6)
    # Rank 0's checkpoint holds the unwrapped models: the one-process loader reads it.
    generator, config = load_generator(tmp_path / "ranks2" / "checkpoints" / "gan1.model")
    assert config.batch_size == 8 and generator(torch.randn(2, 8)).shape == (2, 1, 16, 16)
    # Ranks > 0 wrote nothing: one TensorBoard event file, from rank 0.
    assert len(list((tmp_path / "ranks2" / "tensorboard").glob("events.out.tfevents.*"))) == 1


def test_wgan_gp_trains_on_two_ranks_in_sync_and_resumes_on_both(blobs, tmp_path):
    args = [*TINY, "--data.root", str(blobs), "--loss", "wgan-gp", "--out", str(tmp_path)]
    torchrun(2, *args, "--max_steps", "3")
    first = json.loads((tmp_path / "summary.json").read_text())
    assert first["steps"] == 3 and first["replica_max_abs_diff"] == 0.0
    proc = torchrun(2, *args, "--max_steps", "6", "--resume", "auto")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["replica_max_abs_diff"] == 0.0
    assert proc.stdout.count("Loading Model From") == 1  # both ranks load; only rank 0 prints
    logs = torch.load(summary["checkpoint"], weights_only=False)["loss_logs"]
    penalty = logs["WassersteinGradientPenalty"]
    assert len(penalty) == 6 and all(math.isfinite(v) for v in penalty)


def test_batch_size_not_divisible_by_the_world_size_exits_2_before_training(
    monkeypatch, capsys, tmp_path
):
    for name, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "3")):
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*TINY, "--data.root", str(tmp_path), "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "batch_size must be a multiple of the world size 3" in err and "got 8" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("batch, world", [(7, 2), (1, 2), (9, 4)])
def test_check_batch_split_names_batch_size_and_world_size(batch, world):
    with pytest.raises(
        ValueError, match=f"batch_size must be a multiple of the world size {world}"
    ):
        check_batch_split(batch, world)
    assert check_batch_split(8, 2) == 4


def test_compile_is_refused_under_torchrun_before_any_work(monkeypatch):
    from torchgan_lstm.app.config import RunConfig
    from torchgan_lstm.trainer.distributed import Torchrun

    for name, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "2")):
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="compile=True is not supported under torchrun"):
        Torchrun("cpu", "gloo").check(RunConfig(compile=True))


def _states(out: Path, name: str) -> dict:
    checkpoint = torch.load(out / "checkpoints" / name, weights_only=False)
    keys = ("generator", "discriminator", "optimizer_generator", "optimizer_discriminator")
    return {k: checkpoint[k] for k in keys} | {"loss_logs": checkpoint["loss_logs"]}


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_two_ranks_resume_exactly_with_dropout_and_an_average(blobs, tmp_path):
    # Dropout draws per-rank masks and the average follows the generator: only every rank's
    # own random state, the shared noise stream and the place in the data, all restored, make
    # the resumed job bit-identical to the straight one.
    args = [
        *TINY,
        "--data.root",
        str(blobs),
        "--discriminator.dropout",
        "0.3",
        "--ema_decay",
        "0.9",
    ]
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    torchrun(2, *args, "--max_steps", "6", "--out", str(straight))
    torchrun(2, *args, "--max_steps", "3", "--out", str(broken))
    torchrun(2, *args, "--max_steps", "6", "--out", str(broken), "--resume", "auto")
    a, b = _states(straight, "gan1.model"), _states(broken, "gan1.model")
    assert _same(a, b)
    saved = torch.load(straight / "checkpoints" / "gan1.model", weights_only=False)
    assert saved["generator_ema"]["n_averaged"] == 6
    assert len(saved["resume_state"]["rng"]) == 2  # every rank's own random state


def test_two_ranks_stop_together_on_a_time_budget_and_on_divergence(blobs, tmp_path):
    args = [*TINY, "--data.root", str(blobs), "--max_steps", "30"]
    torchrun(2, *args, "--max_seconds", "1e-9", "--out", str(tmp_path / "budget"))
    summary = json.loads((tmp_path / "budget" / "summary.json").read_text())
    assert summary["steps"] == 1 and summary["stopped_by"] == "max_seconds"
    assert summary["replica_max_abs_diff"] == 0.0
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command += ["-m", "torchgan_lstm", *args, "--g_lr", "1e38", "--d_lr", "1e38"]
    command += ["--out", str(tmp_path / "diverged")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    assert proc.stderr.count("torchgan-lstm train: error: training diverged") == 2  # each rank
    assert "Traceback" not in proc.stderr.split("torchgan-lstm train: error")[0]


def test_more_processes_than_gpus_is_refused_by_name(monkeypatch):
    from torchgan_lstm.trainer.ddp import _resolve_backend

    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="LOCAL_RANK=1 has no GPU: this machine has 1"):
        _resolve_backend("nccl", "cuda")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert _resolve_backend("nccl", "cuda") == ("nccl", torch.device("cuda", 0))


def test_a_sequence_gan_trains_on_two_ranks_in_sync(tmp_path):
    args = ["train", "--backend", "gloo", "--device", "cpu", "--data.dataset", "sines"]
    args += ["--generator.hidden_size", "8", "--discriminator.step_channels", "8"]
    args += ["--batch_size", "32", "--max_steps", "4", "--eval_every", "2"]
    args += ["--metric_samples", "0", "--progress", "false", "--out", str(tmp_path)]
    torchrun(2, *args)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["world_size"] == 2
    assert summary["replica_max_abs_diff"] == 0.0

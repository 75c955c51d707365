"""Sizes from configs, checkpoints and options are checked against memory before allocation."""

from __future__ import annotations

import contextlib
import io
import resource
import time

import pytest
import torch

from torchgan_lstm import ModelSpec, RunConfig
from torchgan_lstm._memory import check_memory, format_bytes, memory_limit
from torchgan_lstm.app import cli
from torchgan_lstm.app.config import DataConfig
from torchgan_lstm.app.resources import activation_elements, parameter_bytes
from torchgan_lstm.checkpoint import safe_load

from .conftest import write_idx_blobs

HUGE = 10**9


def refused(argv: list[str], capsys) -> str:
    """Run the command line; assert it exits 2 within seconds, with one line and no growth of
    this process's peak memory by more than 200 MiB; return the line."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exit_, contextlib.redirect_stdout(io.StringIO()):
        cli.main(argv)
    assert exit_.value.code == 2
    assert time.perf_counter() - start < 30
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200 * 1024
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--generator.hidden_size", str(HUGE)],
            r"generator\.init_args\.hidden_size=1000000000 needs about .* for its weights; "
            r"this machine has .*iB",
        ),
        (
            ["--discriminator.step_channels", str(HUGE)],
            r"discriminator\.init_args\.step_channels=1000000000 needs about .* for its weights",
        ),
        (["--generator.num_layers", str(HUGE)], r"num_layers must be <= 256, got 1000000000"),
        (["--batch_size", str(HUGE)], r"batch_size=1000000000.* needs about .* to train"),
        (["--sample_size", str(HUGE)], r"sample_size=1000000000.* needs about .* to train"),
        (["--metric_samples", str(HUGE)], r"metric_samples=1000000000.* needs about .* to train"),
        (["--data.image_size", str(HUGE)], r"size=1000000000 needs about"),
    ],
)
def test_an_image_run_too_big_for_memory_exits_2_before_building(
    options, message, tmp_path, capsys
):
    argv = ["train", "--out", str(tmp_path / "run"), "--data.root", write_idx_blobs(tmp_path)]
    err = refused([*argv, "--data.download", "false", *options], capsys)
    assert pytest.importorskip("re").search(message, err), err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--data.seq_len", str(HUGE)], r"seq_len=1000000000 needs about .* for 10000 sines"),
        (["--generator.hidden_size", str(HUGE)], r"hidden_size=1000000000 needs about"),
    ],
)
def test_a_sequence_run_too_big_for_memory_exits_2(options, message, tmp_path, capsys):
    argv = ["train", "--data.dataset", "sines", "--out", str(tmp_path / "run"), *options]
    err = refused(argv, capsys)
    assert pytest.importorskip("re").search(message, err), err


def test_windows_of_a_small_csv_too_big_for_memory_are_refused(tmp_path, capsys):
    rows = "\n".join(f"{i},{i % 7}" for i in range(200_000))
    (tmp_path / "long.csv").write_text(f"a,b\n{rows}\n")
    argv = ["train", "--data.dataset", f"csv:{tmp_path / 'long.csv'}", "--data.seq_len", "100000"]
    err = refused([*argv, "--out", str(tmp_path / "run")], capsys)
    assert "seq_len=100000 with stride=1 needs about" in err and "for 100001 windows" in err


def _stored_config_poisoned(checkpoint_path, folder, **generator_args):
    checkpoint = safe_load(checkpoint_path)
    checkpoint["run_config"]["generator"]["init_args"].update(generator_args)
    folder.mkdir()
    torch.save(checkpoint, folder / "gan0.model")
    return folder / "gan0.model"


@pytest.mark.parametrize("command", ["sample", "evaluate", "export"])
def test_a_checkpoints_stored_config_too_big_for_memory_is_refused(
    command, tiny_checkpoint, tmp_path, capsys
):
    path = _stored_config_poisoned(tiny_checkpoint, tmp_path / "c", hidden_size=HUGE)
    out = str(tmp_path / "out")
    argv = {
        "sample": ["sample", str(path), "--out", f"{out}.png"],
        "evaluate": ["evaluate", str(path)],
        "export": ["export", str(path), out],
    }[command]
    err = refused(argv, capsys)
    assert f"checkpoint '{path}': generator.init_args.hidden_size=1000000000 needs about" in err
    assert "for its weights" in err


def test_evaluate_with_more_samples_than_memory_holds_exits_2(tiny_checkpoint, capsys):
    err = refused(["evaluate", str(tiny_checkpoint), "--samples", str(10**12)], capsys)
    assert "--samples 1000000000000 needs about" in err


@pytest.fixture(scope="module")
def sines_checkpoint(tmp_path_factory):
    from torchgan_lstm import train

    config = RunConfig(
        data=DataConfig("sines", seq_len=8),
        batch_size=16, max_steps=2, eval_every=2, metric_samples=0, sample_size=4,
    )  # fmt: skip
    config.generator = ModelSpec("LSTMSequenceGenerator", {"hidden_size": 4, "encoding_dims": 2})
    config.discriminator = ModelSpec("LSTMSequenceDiscriminator", {"hidden_size": 4})
    config.out = str(tmp_path_factory.mktemp("sines") / "run")
    with contextlib.redirect_stdout(io.StringIO()):
        return train(config, progress=False)["checkpoint"]


def test_a_sequence_roll_out_too_long_for_memory_exits_2(sines_checkpoint, tmp_path, capsys):
    out = tmp_path / "s.npy"
    err = refused(["sample", sines_checkpoint, "--out", str(out), "--seq_len", str(HUGE)], capsys)
    assert "n=64 with seq_len=1000000000 needs about" in err
    assert not out.exists()
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["sample", sines_checkpoint, "--out", str(out), "--seq_len", "30"]) == 0
    assert out.exists()


def test_weights_are_counted_on_the_meta_device_as_built():
    images, sequences = RunConfig().resolved(), RunConfig(data=DataConfig("sines")).resolved()
    dcgan = ModelSpec("DCGANGenerator", {"out_size": 32, "out_channels": 1})
    for spec in (images.generator, images.discriminator, sequences.generator, dcgan):
        model = spec.build()
        tensors = [*model.parameters(), *model.buffers()]
        assert parameter_bytes(spec) == sum(t.numel() * t.element_size() for t in tensors), spec
    wide = ModelSpec("LSTMGenerator", {"out_size": 32, "out_channels": 1, "hidden_size": HUGE})
    assert parameter_bytes(wide) >= 2**80  # PyTorch's own size arithmetic overflows


def test_activations_grow_with_every_size_and_the_defaults_fit():
    base = {"seq_len": 24, "features": 5, "hidden_size": 64, "num_layers": 1}
    small = activation_elements(ModelSpec("LSTMSequenceGenerator", base))
    for name in ("seq_len", "hidden_size", "num_layers", "features"):
        bigger = ModelSpec("LSTMSequenceGenerator", {**base, name: base[name] * 2})
        assert activation_elements(bigger) > small, name
    for dataset in ("fashion-mnist", "sines"):
        RunConfig(data=DataConfig(dataset)).validate()


def test_the_refusal_names_the_value_the_estimate_and_the_machine(monkeypatch):
    monkeypatch.setattr("torchgan_lstm._memory.memory_limit", lambda: 24 * 2**30)
    check_memory("x=1", 24 * 2**30)
    with pytest.raises(
        ValueError,
        match=r"^x=2 needs about 32 EiB for it; this machine has 24 GiB "
        r"\(TORCHGAN_LSTM_MAX_MEMORY_GIB sets a lower limit\)$",
    ):
        check_memory("x=2", 32 * 2**60, "for it")
    assert format_bytes(1536) == "1.5 KiB"


def test_the_environment_can_lower_the_limit_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.setenv("TORCHGAN_LSTM_MAX_MEMORY_GIB", "0.5")
    assert memory_limit() == 2**29
    monkeypatch.setenv("TORCHGAN_LSTM_MAX_MEMORY_GIB", "lots")
    with pytest.raises(ValueError, match="TORCHGAN_LSTM_MAX_MEMORY_GIB must be a number of GiB"):
        memory_limit()

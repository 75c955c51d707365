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
    "--generator.hidden_size",
    "16",
    "--generator.step_channels",
    "8",
    "--discriminator.step_channels",
    "8",
    "--generator.encoding_dims",
    "16",
    "--batch_size",
    "16",
    "--metric_samples",
    "200",
    "--progress",
    "false",
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
    cli("train", "--max_steps", "6", "--eval_every", "3", "--out", str(out), *TINY)
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
    assert summary["config"]["generator"]["init_args"]["decoder"] == "conv"
    assert summary["config"]["data"]["channels"] == 1
    assert (out / "config.yaml").read_text().startswith("data:\n  dataset: fashion-mnist")


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
        "--max_steps",
        "9",
        "--eval_every",
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
        "--max_steps",
        "9",
        "--out",
        str(trained_run),
        "--resume",
        "auto",
        *TINY[:-2],
        "--generator.hidden_size",
        "24",
        "--generator.decoder",
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
        (["--data.image_size", "4"], "image_size must be >= 8, got 4"),
        (["--max_steps", "0"], "max_steps must be >= 1, got 0"),
        (
            ["--max_steps", "many"],
            'Parser key "max_steps": Does not validate against any of the Union',
        ),
        (["--hidden_size", "16"], "unrecognized arguments: --hidden_size 16"),
        (  # models small enough for a batch of 100000 to fit in a workstation's memory
            [
                "--batch_size",
                "100000",
                "--generator.step_channels",
                "4",
                "--generator.hidden_size",
                "4",
                "--discriminator.step_channels",
                "4",
            ],
            "batch_size must be between 1 and the 60000 samples per epoch",
        ),
        (["--data.root", "/nonexistent/fashion"], "Fashion-MNIST (train split) not found"),
        (["--generator", "DCGANGenerator", "--data.image_size", "28"], "DCGANGenerator refused"),
        (
            ["--discriminator", "DCGANDiscriminator", "--data.image_size", "24"],
            "DCGANDiscriminator refused its arguments",
        ),
        (["--generator.decoder", "pixelcnn"], "decoder must be one of 'conv', 'rows', 'canvas'"),
        (
            ["--generator.dropout", "0.5", "--generator.num_layers", "1"],
            "dropout acts between LSTM layers",
        ),
        (
            ["--generator", "DCGANGenerator", "--generator.init_args.encoding_dims", "0"],
            "DCGANGenerator's encoding_dims must be >= 1, got 0",
        ),
        (
            ["--discriminator", "DCGANDiscriminator", "--discriminator.step_channels", "-1"],
            "DCGANDiscriminator's step_channels must be >= 1, got -1",
        ),
        (
            ["--discriminator", "DCGANDiscriminator", "--discriminator.dropout", "0"],
            "Option 'dropout' is not accepted",
        ),
        (["--generator", "ConvDiscriminator"], 'Parser key "generator"'),
        (["--config", "/nonexistent.yaml"], "/nonexistent.yaml"),
        (["--loss", "wgan-gp"], "loss='wgan-gp' penalises each image's gradient"),
        (
            ["--discriminator.pack", "3"],
            "batch_size must be a multiple of the discriminator's pack=3",
        ),
        (
            ["--generator.decoder", "rows", "--generator.lstm_gate", "true"],
            "lstm_gate=True needs decoder='conv'",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(args, message, tmp_path):
    if "--batch_size" in args and not DEBIAN_FASHION_MNIST.is_dir():
        pytest.skip("needs Fashion-MNIST on disk")
    proc = cli(
        "train",
        "--out",
        str(tmp_path),
        "--data.download",
        "false",
        "--progress",
        "false",
        *args,
        check=False,
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
    args = ["--eval_every", "3", "--ema_decay", "0.9", "--amp", "true", "--out", str(out), *TINY]
    cli("train", "--max_steps", "3", *args)
    # Resumed with a budget the first step spends: that epoch ends there, checkpointed and
    # evaluated, and the run stops.
    cli("train", "--max_steps", "40", "--max_seconds", "1e-9", "--resume", "auto", *args)
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


@needs_fashion_mnist
@pytest.mark.parametrize("fmt", ["npz", "pt", "folder"])
def test_sample_writes_arrays_tensors_and_image_folders(trained_run, tmp_path, fmt):
    out = tmp_path / ("fake" if fmt == "folder" else f"samples.{fmt}")
    cli("sample", str(trained_run), "--out", str(out), "--n", "12", "--format", fmt)
    if fmt == "npz":
        images = np.load(out)["arr_0"]
        assert images.shape == (12, 32, 32, 1) and images.dtype == np.uint8
    elif fmt == "pt":
        images = torch.load(out, weights_only=True)
        assert images.shape == (12, 1, 32, 32) and images.min() >= -1 and images.max() <= 1
    else:
        assert sorted(p.name for p in out.iterdir())[:2] == ["000000.png", "000001.png"]
        assert len(list(out.iterdir())) == 12


@needs_fashion_mnist
def test_export_writes_safetensors_that_load_without_pickle(trained_run, tmp_path):
    from torchgan_lstm import load_generator
    from torchgan_lstm.app.export import load_exported

    cli("export", str(trained_run), str(tmp_path / "export"))
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    exported = load_exported(tmp_path / "export")
    generator, _ = load_generator(trained_run)
    z = torch.randn(4, 16)
    torch.testing.assert_close(exported(z), generator(z))


@needs_fashion_mnist
def test_resume_reads_the_runs_config_yaml_and_records_hparams(trained_run, tmp_path):
    import shutil

    out = tmp_path / "resumed"
    shutil.copytree(trained_run, out)
    # No model options: they come from the run's config.yaml.
    cli("train", "--resume", str(out), "--max_steps", "9", "--progress", "false")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 9
    assert summary["config"]["generator"]["init_args"]["hidden_size"] == 16
    hparams = list((out / "tensorboard" / "hparams").glob("events.out.tfevents.*"))
    assert hparams, "an hparams entry beside the run's scalars"
    events = EventAccumulator(str(hparams[-1].parent))
    events.Reload()
    assert "final/FrechetClassifierDistance" in events.Tags()["scalars"]


def test_print_config_prints_the_resolved_yaml_that_reruns_it(tmp_path):
    proc = cli("train", "--print-config", "--data.image_size", "16", "--generator.hidden_size", "8")
    assert "out_size: 16" in proc.stdout and "hidden_size: 8" in proc.stdout
    (tmp_path / "run.yaml").write_text(proc.stdout)
    again = cli("train", "--config", str(tmp_path / "run.yaml"), "--print-config")
    assert again.stdout == proc.stdout


def test_help_says_what_each_option_does_and_its_default():
    proc = cli("train", "--help")
    text = " ".join(proc.stdout.split())
    assert (
        "--max_steps MAX_STEPS training steps in the whole run; null: the data kind's default "
        "(1,000 images, 4,000 sequences). (type: int | null, default: 1000)"
    ) in text
    sequences = " ".join(cli("train", "--data.dataset", "sines", "--help").stdout.split())
    assert "(type: int | null, default: 4000)" in sequences
    assert "--data.image_size" in proc.stdout and "--generator CONFIG | CLASS_PATH_OR_NAME" in (
        proc.stdout
    )


def test_version_prints_the_packages_version_and_exits_0(capsys):
    import torchgan_lstm
    from torchgan_lstm.app.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"torchgan-lstm {torchgan_lstm.__version__}"


def test_an_unexpected_error_keeps_its_traceback(monkeypatch, tmp_path):
    from torchgan_lstm.app import cli as cli_module
    from torchgan_lstm.app import run

    def broken(*args, **kwargs):
        raise ValueError("a bug inside torch, not bad input")

    monkeypatch.setattr(run, "train", broken)
    with pytest.raises(ValueError, match="a bug inside torch"):
        cli_module.main(["train", "--out", str(tmp_path), "--progress", "false"])


SEQ_TINY = [
    "--generator.hidden_size", "8", "--generator.encoding_dims", "4",
    "--discriminator.step_channels", "8", "--batch_size", "32", "--metric_samples", "64",
    "--progress", "false",
]  # fmt: skip


@pytest.fixture(scope="module")
def stocks_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stocks")
    cli("train", "--data.dataset", "stocks", "--max_steps", "4", "--eval_every", "2",
        "--out", str(out), *SEQ_TINY)  # fmt: skip
    return out


def test_a_sequence_dataset_trains_the_sequence_pair_with_its_metrics_and_plots(stocks_run):
    summary = json.loads((stocks_run / "summary.json").read_text())
    assert summary["steps"] == 4
    assert summary["config"]["generator"]["class_path"] == "torchgan_lstm.LSTMSequenceGenerator"
    assert summary["config"]["generator"]["init_args"]["features"] == 6  # the stocks' columns
    assert set(summary["metrics"]) == {
        "DiscriminativeScore",
        "PredictiveScore",
        "CorrelationalScore",
    }
    assert 0 <= summary["metrics"]["DiscriminativeScore"] <= 0.5
    assert sorted(p.name for p in (stocks_run / "images").iterdir()) == [
        "epoch1_generator.png",
        "epoch1_generator_pca.png",  # TimeGAN's PCA picture with every evaluation
        "epoch2_generator.png",
        "epoch2_generator_pca.png",
    ]


def test_a_whitened_sequence_critic_is_fitted_on_the_training_data(tmp_path):
    from torchgan_lstm.checkpoint import safe_load

    cli("train", "--data.dataset", "stocks", "--max_steps", "2", "--eval_every", "2",
        "--metric_samples", "0", "--discriminator.input_norm", "whiten",
        "--out", str(tmp_path), *SEQ_TINY[:-4], *SEQ_TINY[-2:])  # fmt: skip
    (checkpoint,) = (tmp_path / "checkpoints").glob("gan*.model")
    state = safe_load(checkpoint, map_location="cpu")["discriminator"]
    assert bool(state["input_fitted"]) and not torch.equal(state["input_transform"], torch.eye(6))


def test_sequence_samples_come_back_in_the_datas_units_at_any_length(stocks_run, tmp_path):
    import numpy as np

    from torchgan_lstm.data import build_sequence_dataset

    cli("sample", str(stocks_run), "--out", str(tmp_path / "s.npy"), "--n", "5", "--seq_len", "40")
    fake = np.load(tmp_path / "s.npy")
    assert fake.shape == (5, 40, 6)
    scaler = build_sequence_dataset("stocks").scaler
    inside = (fake >= scaler.min - 1e-6) & (fake <= scaler.max + 1e-6)
    assert inside.all() and fake[..., 5].max() > 1000, "volumes in shares, not in [0, 1]"
    cli("sample", str(stocks_run), "--out", str(tmp_path / "s.csv"), "--n", "2")
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "sequence,step,Open,High,Low,Close,Adj_Close,Volume"
    assert len(lines) == 1 + 2 * 24
    proc = cli("sample", str(stocks_run), "--out", str(tmp_path / "grid.png"), check=False)
    assert proc.returncode == 2 and "must end in .npy or .csv" in proc.stderr


def test_evaluate_gives_timegans_scores_with_their_spread(stocks_run, tmp_path):
    proc = cli("evaluate", str(stocks_run), "--runs", "2", "--context_fid_iterations", "2",
               "--posthoc_iterations", "20")  # fmt: skip
    results = json.loads(proc.stdout)
    assert results["sequences"] == 3661  # TimeGAN's protocol: the whole set
    scores = ("discriminative_score", "predictive_score", "correlational_score", "context_fid")
    for name in scores:
        assert len(results[name]["scores"]) == 2 and results[name]["sd"] >= 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data.dataset", "sines", "--data.image_size", "16"], "only image datasets read it"),
        (["--data.seq_len", "12"], "only sequence datasets read it"),
        (["--data.dataset", "sines", "--generator", "LSTMGenerator"], "does not make sequences"),
        (["--data.dataset", "csv:/nonexistent.csv"], "/nonexistent.csv' does not exist"),
        (["--data.dataset", "sines", "--data.seq_len", "1"], "seq_len must be"),
    ],
)
def test_options_of_the_other_modality_exit_2_with_one_line(args, message, tmp_path):
    proc = cli("train", "--out", str(tmp_path), *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_a_csv_with_a_bad_cell_exits_2_naming_file_line_and_column(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(30)) + "3,x\n")
    proc = cli("train", "--data.dataset", f"csv:{data}", "--out", str(tmp_path / "r"), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "bad.csv" in proc.stderr and "'b'" in proc.stderr and "'x'" in proc.stderr
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_a_sequence_run_resumes_from_its_folder(stocks_run, tmp_path):
    import shutil

    out = tmp_path / "resumed"
    shutil.copytree(stocks_run, out)
    cli("train", "--resume", str(out), "--max_steps", "6")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["config"]["data"]["dataset"] == "stocks"


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ([1, 2], "run_config must be a mapping, got list"),
        (None, "run_config must be a mapping, got NoneType"),
        ({"betas": 5}, "holds a malformed run configuration (TypeError"),
        ({"data": [1]}, "data must be a mapping, got [1]"),
        ({"zzz": 1}, "unknown run configuration keys ['zzz']"),
        ({"generator": {"class_path": "LSTMSequenceGenerator", "init_args": "x"}}, "malformed"),
    ],
)
def test_a_checkpoint_with_a_malformed_configuration_exits_2_naming_it(
    sines_run, tmp_path, capsys, stored, message
):
    from torchgan_lstm.checkpoint import safe_load

    from .conftest import cli_exit

    checkpoint = safe_load(sines_run / "checkpoints" / "gan0.model")
    if isinstance(stored, dict):
        stored = {**checkpoint["run_config"], **stored}
    torch.save({**checkpoint, "run_config": stored}, tmp_path / "bad.model")
    code, err = cli_exit(["sample", tmp_path / "bad.model", "--out", tmp_path / "x.npy"], capsys)
    assert code == 2 and "checkpoint '" in err and message in err, err


def test_empty_and_garbage_checkpoints_are_refused_with_a_reason(tmp_path, capsys):
    from .conftest import cli_exit

    (tmp_path / "empty.model").write_bytes(b"")
    code, err = cli_exit(["sample", tmp_path / "empty.model"], capsys)
    assert code == 2 and "is empty (0 bytes), not a checkpoint" in err
    (tmp_path / "junk.model").write_bytes(bytes(range(100)))
    code, err = cli_exit(["sample", tmp_path / "junk.model"], capsys)
    assert code == 2 and err.rstrip().split("junk.model': ")[1], "a reason follows"


def test_resuming_with_another_loss_family_exits_2_before_training(sines_run, capsys):
    from .conftest import SINES_TINY, cli_exit, tree

    before = tree(sines_run)
    code, err = cli_exit(
        ["train", *SINES_TINY, "--resume", "auto", "--out", sines_run, "--loss", "hinge"], capsys
    )
    assert code == 2 and "loss: checkpoint 'minimax' vs requested 'hinge'" in err
    assert tree(sines_run) == before


def test_a_bad_csv_is_reported_in_its_own_words_not_jsonargparses(tmp_path, capsys):
    from .conftest import cli_exit

    (tmp_path / "short.csv").write_text("a,b\n1,2\n3,4\n")
    code, err = cli_exit(["train", "--data.dataset", f"csv:{tmp_path / 'short.csv'}"], capsys)
    assert code == 2 and "short.csv has 2 data rows, fewer than seq_len=24" in err
    assert "compute_fn" not in err

"""A table run end to end (train from the command line, sample back the table's layout), and
sampling for given labels or static attributes (torchgan_lstm.app.table_samples)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from torchgan_lstm._validation import InputError
from torchgan_lstm.app import commands
from torchgan_lstm.app.cli import main
from torchgan_lstm.app.data_config import DataConfig, check_data
from torchgan_lstm.app.table_samples import generate_table, read_given
from torchgan_lstm.data import TableRoles, table_dataset, table_sines


def _sample_args(checkpoint, out, **kw) -> argparse.Namespace:
    values = {"n": 6, "format": None, "singles": 0, "seq_len": None, "given": None, "seed": 0}
    values |= {"device": "cpu", "overwrite": False} | kw
    return argparse.Namespace(checkpoint=str(checkpoint), out=str(out), **values)


def test_a_table_trains_from_the_command_line_and_samples_back_its_layout(tmp_path, capsys):
    table = table_sines(entities=48, min_length=4, max_length=8, seed=3)
    table = table.rename(columns={"entity": "station"})  # no longer inferred: named
    path = tmp_path / "weather.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "run"
    main(
        ["train", "--data.dataset", f"table:{path}", "--data.seq_len", "8",
         "--data.id", "station", "--max_steps", "2", "--eval_every", "2",
         "--metric_samples", "0", "--batch_size", "16", "--device", "cpu",
         "--out", str(out), "--progress", "false"]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert "id:     station" in printed and "static: kind (categorical)" in printed
    assert "station" in (out / "config.yaml").read_text()
    sample = tmp_path / "generated.parquet"
    commands.sample(_sample_args(out, sample))
    back = pd.read_parquet(sample)
    assert list(back.columns) == list(table.columns)
    assert back["station"].nunique() == 6 and back.groupby("station").size().max() <= 8
    assert back.groupby("station")["kind"].nunique().max() == 1
    assert set(back["kind"]) <= {"slow", "medium", "fast"}
    assert set(back["weather"].dropna()) <= {"dry", "wet", "snow"}
    steps = back.groupby("station")["date"].diff().dropna()
    assert (steps == pd.Timedelta(days=1)).all()
    assert back["value"].dropna().between(-1, 1).all()
    # The table's own generator and critic by default, and the table's scores in evaluate.
    assert "class_path: torchgan_lstm.TableSequenceGenerator" in (out / "config.yaml").read_text()
    capsys.readouterr()
    main(["evaluate", str(out), "--runs", "1", "--posthoc_iterations", "2",
          "--context_fid_iterations", "2", "--device", "cpu"])  # fmt: skip
    scores = json.loads(capsys.readouterr().out)["table"]
    for key in ("length_distance", "category_distance/static/kind", "missing_rate_distance"):
        assert scores[key] >= 0, key


def test_table_roles_are_refused_for_other_datasets():
    with pytest.raises(InputError, match=r"data\.id='station': only tables"):
        check_data(DataConfig("sines", id="station"))


class _EchoStatic(nn.Module):
    """A stand-in generator that writes the given static attributes into its output."""

    num_classes = None

    def __init__(self, features: int, static_width: int):
        super().__init__()
        self.features, self.static_width = features, static_width
        self.weight = nn.Parameter(torch.zeros(1))

    def sampler(self, size: int, device) -> list[torch.Tensor]:
        return [torch.rand(size, 6, self.features, device=device)]

    def forward(self, z: torch.Tensor, static: torch.Tensor | None = None) -> torch.Tensor:
        out = z.clone()
        out[..., -1] = 1.0
        if static is not None:
            out[..., : self.static_width] = static[:, None, :]
        return out


def test_given_static_attributes_come_back_in_the_samples(tmp_path):
    table = table_sines(entities=40, min_length=3, max_length=6, seed=2)
    dataset = table_dataset(table, TableRoles(static=["kind"]), seq_len=6)
    codec = dataset.codec
    given = tmp_path / "given.csv"
    pd.DataFrame({"kind": ["fast", "slow", "fast"]}).to_csv(given, index=False)
    labels, static = read_given(given, codec)
    assert labels is None and static.shape == (3, codec.static_width) == (3, 3)
    generator = _EchoStatic(dataset.features, codec.static_width)
    back = generate_table(generator, codec, 3, static=static)
    assert back.groupby("entity", sort=False)["kind"].first().tolist() == ["fast", "slow", "fast"]
    with pytest.raises(InputError, match="cannot take them"):
        generate_table(nn.Linear(1, 1), codec, 3, static=static)


def test_given_values_the_training_table_lacks_are_refused(tmp_path):
    table = table_sines(entities=40, min_length=3, max_length=6, seed=2)
    table["outcome"] = np.where(table["kind"] == "fast", "up", "down")
    dataset = table_dataset(table, TableRoles(label="outcome"), seq_len=6)
    given = tmp_path / "given.csv"
    pd.DataFrame({"outcome": ["up", "sideways"]}).to_csv(given, index=False)
    with pytest.raises(InputError, match="row 2: outcome='sideways' is not a class"):
        read_given(given, dataset.codec)
    pd.DataFrame({"kind": ["glacial"]}).to_csv(given, index=False)
    with pytest.raises(InputError, match="row 1: kind='glacial' is not one of"):
        read_given(given, dataset.codec)


def test_a_label_column_sets_the_models_classes_and_needs_a_conditional_generator(tmp_path):
    from torchgan_lstm.app.config import ModelSpec, RunConfig

    table = table_sines(entities=40, min_length=3, max_length=6, seed=2)
    table["outcome"] = np.where(table["kind"] == "fast", "up", "down")
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    data = DataConfig(f"table:{path}", seq_len=6, label="outcome")
    with pytest.raises(InputError, match=r"add --generator\.label_type generated"):
        RunConfig(data=data).resolved()
    generator = ModelSpec("torchgan_lstm.LSTMSequenceGenerator", {"label_type": "generated"})
    critic = ModelSpec("torchgan_lstm.ConvSequenceDiscriminator", {"label_type": "required"})
    resolved = RunConfig(data=data, generator=generator, discriminator=critic).resolved()
    assert resolved.generator.init_args["num_classes"] == 2
    assert resolved.discriminator.init_args["num_classes"] == 2


def test_a_table_run_resumes_and_reruns_from_its_config_yaml(tmp_path, capsys):
    table = table_sines(entities=48, min_length=4, max_length=8, seed=3)
    path = tmp_path / "weather.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "run"
    common = ["--metric_samples", "0", "--progress", "false"]
    main(
        ["train", "--data.dataset", f"table:{path}", "--data.seq_len", "8", "--max_steps", "2",
         "--eval_every", "2", "--batch_size", "16", "--device", "cpu", "--out", str(out), *common]
    )  # fmt: skip
    assert main(["train", "--resume", str(out), "--max_steps", "4", *common]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["checkpoint"].endswith("gan1.model")
    again = tmp_path / "again"
    config = ["--config", str(out / "config.yaml")]
    assert main(["train", *config, "--out", str(again), *common]) == 0
    assert (again / "config.yaml").read_text() == (out / "config.yaml").read_text().replace(
        str(out), str(again)
    )
    # The same widths with other categories: resuming would give the weights other meanings.
    table["weather"] = table["weather"].replace({"snow": "hail"})
    table.to_csv(path, index=False)
    before = sorted(p.name for p in (out / "checkpoints").iterdir())
    with pytest.raises(SystemExit) as stop:
        main(["train", "--resume", str(out), "--max_steps", "6", *common])
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert "was trained on other data than" in error[-1] and "table specs" in error[-1]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before


def test_a_table_models_channels_are_plain_data_in_a_run_configuration():
    from torchgan_lstm.app.model_spec import check_plain

    dataset = table_dataset(table_sines(entities=20, min_length=3, max_length=6), seq_len=6)
    check_plain("generator", {"channels": dataset.channels})  # lists of string-keyed mappings
    with pytest.raises(InputError, match=r"generator\.init_args\.channels must be"):
        check_plain("generator", {"channels": [{"name": nn.Linear}]})
    with pytest.raises(InputError, match=r"generator\.init_args\.channels must be"):
        check_plain("generator", {"channels": [{1: "x"}]})


def test_a_bad_table_exits_2_with_one_line_naming_file_column_and_row(tmp_path):
    """In a fresh process: the table is read outside the import guard of parsing (pandas and
    pyarrow import parts of themselves on first use)."""
    import subprocess
    import sys

    path = tmp_path / "bad.csv"
    path.write_text("id,date,x\na,2024-01-01,1\na,2024-01-01,2\nb,2024-01-01,3\nb,2024-01-02,4\n")
    done = subprocess.run(
        [sys.executable, "-m", "torchgan_lstm", "train", "--data.dataset", f"table:{path}",
         "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and "duplicate rows within entity id='a': lines 2, 3" in err
    assert not (tmp_path / "run").exists()  # refused before anything was written

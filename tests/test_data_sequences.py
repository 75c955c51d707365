"""Sequence datasets: TimeGAN's sines and stocks, CSV windows, scaling and back, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from torchgan_lstm.data import (
    MinMaxScaler,
    SequenceDataset,
    build_sequence_dataset,
    csv_sequences,
    fashion_mnist_rows,
    make_dataloader,
    sines,
    sliding_windows,
    stocks,
)
from torchgan_lstm.data.sequences import STOCKS_FILE

from .conftest import write_idx_blobs


def test_sines_follow_timegans_formula_with_small_frequencies_and_phases():
    x = sines(200, seq_len=24, features=5, seed=3)
    assert x.shape == (200, 24, 5)
    assert x.min() >= 0.5 - 1e-12 and x.max() <= 1
    # Recover each series' phase and frequency from its first two steps, then check all steps.
    phase = np.arcsin(2 * x[:, 0] - 1)
    freq = np.arcsin(2 * x[:, 1] - 1) - phase
    assert (phase >= 0).all() and (phase <= 0.1).all()
    assert (freq >= 0).all() and (freq <= 0.1).all()
    t = np.arange(24)[None, :, None]
    np.testing.assert_allclose(x, (np.sin(freq[:, None] * t + phase[:, None]) + 1) / 2, atol=1e-9)
    # Drawn per sequence and feature, uniformly: quartiles near 0.025, 0.05, 0.075.
    np.testing.assert_allclose(
        np.quantile(freq, [0.25, 0.5, 0.75]), [0.025, 0.05, 0.075], atol=0.01
    )


def test_sines_are_reproducible_by_seed():
    assert np.array_equal(sines(10, seed=1), sines(10, seed=1))
    assert not np.array_equal(sines(10, seed=1), sines(10, seed=2))


def test_sines_dataset_yields_float_sequences_and_int_labels():
    dataset = build_sequence_dataset("sines", seq_len=16)
    assert len(dataset) == 10000 and (dataset.seq_len, dataset.features) == (16, 5)
    x, y = dataset[0]
    assert x.dtype == torch.float32 and x.shape == (16, 5) and y == 0
    assert dataset.num_classes is None
    np.testing.assert_allclose(dataset.scaler.inverse_transform(x), x.numpy(), rtol=1e-6)


def test_stocks_are_timegans_3661_windows_of_24_by_6_scaled_per_column():
    dataset = build_sequence_dataset("stocks")
    assert len(dataset) == 3661 and (dataset.seq_len, dataset.features) == (24, 6)
    assert dataset.feature_names == ["Open", "High", "Low", "Close", "Adj_Close", "Volume"]
    flat = dataset.sequences.reshape(-1, 6)
    # Scaled over all rows; the left-out last window holds the oldest day, one column's minimum.
    assert (flat.min(0).values >= 0).all() and (flat.min(0).values < 0.002).all()
    assert torch.allclose(flat.max(0).values, torch.ones(6))
    # TimeGAN flips the file's rows: the first window starts at its last row, in its units.
    last_row = np.loadtxt(STOCKS_FILE, delimiter=",", skiprows=1)[-1]
    first_step = dataset.scaler.inverse_transform(dataset[0][0][0])
    np.testing.assert_allclose(first_step, last_row, rtol=1e-5)
    # Stride-1 windows overlap by all but one step.
    torch.testing.assert_close(dataset[1][0][:-1], dataset[0][0][1:])


def test_stocks_ship_with_the_package_with_their_attribution():
    assert STOCKS_FILE.parent == Path(stocks.__code__.co_filename).parent
    attribution = STOCKS_FILE.with_name("STOCKS_ATTRIBUTION.md").read_text()
    assert "jsyoon0823/TimeGAN" in attribution and "Apache License" in attribution
    assert "stock_data.csv" in Path("setup.cfg").read_text()


def write_csv(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def ramp_csv(tmp_path, rows: int = 10) -> str:
    lines = ["time,price,flat"] + [f"{i},{100 + 10 * i},7" for i in range(rows)]
    return write_csv(tmp_path / "ramp.csv", "\n".join(lines) + "\n")


def test_csv_windows_with_stride_and_invertible_scaling(tmp_path):
    dataset = build_sequence_dataset(f"csv:{ramp_csv(tmp_path)}", seq_len=4, stride=3)
    assert len(dataset) == 3  # windows starting at rows 0, 3, 6
    assert dataset.feature_names == ["time", "price", "flat"]
    x, _ = dataset[1]
    np.testing.assert_allclose(x[:, 0], np.arange(3, 7) / 9, rtol=1e-6)
    assert torch.equal(x[:, 2], torch.zeros(4))  # a constant column scales to 0, no NaN
    restored = dataset.scaler.inverse_transform(dataset.sequences)
    np.testing.assert_allclose(restored[2, :, 1], [160, 170, 180, 190], rtol=1e-6)
    np.testing.assert_allclose(restored[:, :, 2], 7)


def test_scaler_maps_generated_samples_back_to_the_data_units():
    scaler = MinMaxScaler.fit(np.array([[0.0, -5.0], [10.0, 5.0]]))
    np.testing.assert_allclose(scaler.transform([[5.0, 0.0]]), [[0.5, 0.5]])
    generated = torch.tensor([[[0.0, 1.0], [0.25, 0.5]]])
    np.testing.assert_allclose(scaler.inverse_transform(generated), [[[0, 5], [2.5, 0]]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "date,price\n2020-01-01,1\n",
            r"column 'date' is not numeric \(line 2 holds '2020-01-01'\)",
        ),
        ("a,b\n1,2\n3,nan\n", r"column 'b' holds 'nan' at line 3"),
        ("a,b\n1,2\n3,\n", r"column 'b' has an empty cell at line 3"),
        ("a,b\n1,2\n3\n", r"line 3: 1 cells, but the header names 2 columns"),
        ("a,b\n", "no data rows"),
        ("", "empty file"),
        ("a,b\n1,2\n3,4\n", r"has 2 data rows, fewer than seq_len=3"),
    ],
)
def test_bad_csv_is_refused_naming_file_line_and_column(tmp_path, text, message):
    path = write_csv(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=message) as info:
        csv_sequences(path, seq_len=3)
    assert "bad.csv" in str(info.value)


def test_missing_csv_file_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"nothere\.csv' does not exist"):
        build_sequence_dataset(f"csv:{tmp_path / 'nothere.csv'}")


def test_a_folder_or_a_file_that_is_not_utf8_is_named_with_the_real_problem(tmp_path):
    with pytest.raises(ValueError, match=r"is a folder; name a \.csv file"):
        build_sequence_dataset(f"csv:{tmp_path}")
    (tmp_path / "latin1.csv").write_bytes("a,b\ncaf\xe9,2\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.csv' is not UTF-8 text"):
        build_sequence_dataset(f"csv:{tmp_path / 'latin1.csv'}")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "sines", "seq_len": 1}, "seq_len must be >= 2, got 1"),
        ({"name": "stocks", "stride": 0}, "stride must be >= 1, got 0"),
        ({"name": "sines", "stride": 2}, "stride applies to 'stocks', 'csv:PATH' and tables only"),
        (
            {"name": "sines", "root": "/data"},
            "root applies to 'stocks', 'etth', 'fashion-mnist-rows'",
        ),
        (
            {"name": "energy"},
            "name must be one of sines, stocks, etth, mujoco, csv:PATH, table:FILE, "
            "table-sines, fashion-mnist-rows",
        ),
        ({"name": "csv:"}, "name must be one of"),
        ({"name": "fashion-mnist-rows"}, "fashion-mnist-rows has seq_len 28"),
    ],
)
def test_build_refuses_bad_options_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_sequence_dataset(**kwargs)


def test_sliding_windows_count_and_refusals():
    data = np.arange(20.0).reshape(10, 2)
    assert sliding_windows(data, 4).shape == (7, 4, 2)
    assert sliding_windows(data, 4, stride=2).shape == (4, 4, 2)
    with pytest.raises(ValueError, match="the data has 10 rows, fewer than seq_len=11"):
        sliding_windows(data, 11)


def test_sequence_dataset_batches_as_torchgans_trainer_unpacks_them():
    dataset = SequenceDataset(np.random.rand(20, 6, 2), torch.arange(20) % 3, num_classes=3)
    x, y = next(iter(make_dataloader(dataset, batch_size=8, seed=0)))
    assert x.shape == (8, 6, 2) and x.dtype == torch.float32
    assert y.shape == (8,) and y.dtype == torch.int64
    with pytest.raises(ValueError, match=r"labels must have shape \(20,\)"):
        SequenceDataset(np.random.rand(20, 6, 2), torch.arange(5))


def test_fashion_mnist_rows_are_labelled_sequences_of_rows(tmp_path):
    dataset = fashion_mnist_rows(write_idx_blobs(tmp_path, n=12))
    assert len(dataset) == 12 and (dataset.seq_len, dataset.features) == (16, 16)
    assert dataset.num_classes == 10 and dataset[3][1] == 3
    x = dataset.sequences
    assert x.min() == 0 and x.max() == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            ["5,7"] * 6,
            r"data\.csv: at least one column must vary, got every column constant \('a', 'b'\)",
        ),
        (
            [f"{i},{1e308 if i == 3 else i}" for i in range(6)],
            r"data\.csv: column 'b' must hold values within \+-1e\+30 .*, got 1e\+308",
        ),
        (
            [f"{-3e38 * i},{i}" for i in range(6)],
            r"data\.csv: column 'a' must hold values within \+-1e\+30 .*, got 1.5e\+39",
        ),
    ],
)
def test_a_csv_training_cannot_scale_exits_2_before_training(rows, message, tmp_path, capsys):
    from torchgan_lstm.app import cli

    path = write_csv(tmp_path / "data.csv", "\n".join(["a,b", *rows]) + "\n")
    with pytest.raises(SystemExit) as exit_:
        cli.main(
            ["train", "--data.dataset", f"csv:{path}", "--data.seq_len", "3",
             "--out", str(tmp_path / "run"), "--max_steps", "2", "--progress", "false"]
        )  # fmt: skip
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err
    assert not (tmp_path / "run").exists()

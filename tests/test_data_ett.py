"""ETTh1 in Diffusion-TS's preparation: found by folder or environment, scaled, windowed."""

from __future__ import annotations

import numpy as np
import pytest

from torchgan_lstm._validation import InputError
from torchgan_lstm.data import build_sequence_dataset, etth

from .conftest import SINES_TINY, cli_exit

ROWS = [
    ("2016-07-01 00:00:00", 5.0, 2.0, 1.5, 0.5, 4.0, 1.0, 30.0),
    ("2016-07-01 01:00:00", 7.0, 1.0, 1.5, 0.4, 4.5, 1.5, 27.5),
    ("2016-07-01 02:00:00", 6.0, 3.0, 1.5, 0.3, 3.0, 2.0, 25.0),
    ("2016-07-01 03:00:00", 9.0, 2.5, 1.5, 0.6, 5.0, 1.2, 35.0),
]


def write_etth(folder, rows=ROWS, header="date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT"):
    lines = [header] + [",".join(str(v) for v in row) for row in rows]
    (folder / "ETTh1.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_etth_drops_the_date_scales_each_column_and_cuts_stride_1_windows(tmp_path):
    dataset = etth(seq_len=3, root=write_etth(tmp_path))
    assert dataset.feature_names == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert tuple(dataset.sequences.shape) == (2, 3, 7)  # rows - seq_len + 1 windows
    # By hand: HUFL spans 5..9, so row 2 (7.0) scales to 0.5; OT spans 25..35, so 27.5 -> 0.25;
    # the constant MUFL scales to 0; the second window starts at row 2.
    second = dataset.sequences[1].double().numpy()
    assert second[0, 0] == pytest.approx(0.5)
    assert second[0, 6] == pytest.approx(0.25)
    assert second[2, 0] == pytest.approx(1.0) and second[1, 6] == pytest.approx(0.0)
    assert (second[:, 2] == 0).all()
    assert second[2, 3] == pytest.approx((0.6 - 0.3) / 0.3)
    restored = dataset.scaler.inverse_transform(dataset.sequences[1])
    assert np.allclose(restored, np.asarray([r[1:] for r in ROWS[1:]]), atol=1e-5)


def test_etth_is_found_through_the_environment_and_named_when_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("TORCHGAN_LSTM_DATA", raising=False)
    with pytest.raises(InputError, match=r"ETTh1\.csv.*--data\.root.*TORCHGAN_LSTM_DATA"):
        build_sequence_dataset("etth", seq_len=2)
    with pytest.raises(InputError, match="does not exist"):
        build_sequence_dataset("etth", seq_len=2, root=str(tmp_path))
    monkeypatch.setenv("TORCHGAN_LSTM_DATA", str(write_etth(tmp_path)))
    assert len(build_sequence_dataset("etth", seq_len=2)) == 3


@pytest.mark.parametrize(
    ("header", "cell", "message"),
    [
        ("HUFL,HULL,MUFL,MULL,LUFL,LULL,OT", 1.0, "header must be date,HUFL"),
        ("date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT", "hot", "column 'HULL' holds 'hot' at line 3"),
    ],
)
def test_a_file_that_is_not_etth1_is_refused_by_name(tmp_path, header, cell, message):
    rows = [ROWS[0], (*ROWS[1][:2], cell, *ROWS[1][3:])]
    with pytest.raises(InputError, match=message):
        etth(seq_len=2, root=write_etth(tmp_path, rows, header))


def test_the_command_line_trains_etth_by_name(tmp_path, capsys):
    root = write_etth(tmp_path, ROWS * 6)
    argv = ["train", *SINES_TINY, "--data.dataset", "etth", "--data.root", root]
    code, err = cli_exit([*argv, "--data.seq_len", "4", "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    assert (tmp_path / "run").is_dir()

"""ETTh1, the "ETTh" dataset of the time-series generation benchmarks (Diffusion-TS, Tables 1-2).

Hourly readings of one electricity transformer, 2016-07-01 to 2018-06-26 (17,420 rows): six load
features and the oil temperature, columns ``date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT``. It comes
from the ETDataset repository (zhouhaoyi/ETDataset, ``ETT-small/ETTh1.csv``; Zhou et al.,
"Informer", AAAI 2021) under Creative Commons Attribution-NoDerivatives 4.0.

The package does not ship a copy; it reads ``ETTh1.csv`` from a folder the user names (``root``,
the command line's ``--data.root``) or from ``$TORCHGAN_LSTM_DATA``. The file is ten times the
size of the shipped Stocks file, and the NoDerivatives licence binds everyone who passes it on
to pass it unchanged with its attribution, a term the package's own licence does not carry:
kept apart, the package stays under one licence and users fetch the file (with its licence)
from its source once.

Prepared as Diffusion-TS's ``CustomDataset`` prepares it: the date column dropped, each column
min-max scaled to ``[0, 1]`` over all rows, every stride-1 window of ``seq_len`` rows (17,397
windows of 24 x 7).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from .._validation import InputError, check_int
from .idx import ENV_VAR, DataNotFoundError

__all__ = ["ETTH_COLUMNS", "ETTH_FILE", "etth", "find_etth", "read_etth"]

ETTH_FILE = "ETTh1.csv"
ETTH_COLUMNS = ("date", "HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")


def find_etth(root: str | os.PathLike | None = None) -> Path:
    """Where ``ETTh1.csv`` is: in ``root``, else in ``$TORCHGAN_LSTM_DATA``.

    Args:
        root: a folder holding ``ETTh1.csv``; ``None`` looks in ``$TORCHGAN_LSTM_DATA``.

    Returns:
        The file's path.

    Raises:
        DataNotFoundError: no ``root`` and no ``$TORCHGAN_LSTM_DATA``, or the folder named
            holds no ``ETTh1.csv``.
    """
    if root is None:
        root = os.environ.get(ENV_VAR)
        if not root:
            raise DataNotFoundError(
                f"etth needs {ETTH_FILE} (ETDataset's ETT-small/ETTh1.csv, CC BY-ND 4.0): name "
                f"its folder with --data.root (root=) or ${ENV_VAR}; it is not shipped"
            )
    path = Path(root) / ETTH_FILE
    if not path.is_file():
        raise DataNotFoundError(f"etth: {str(path)!r} does not exist (root={str(root)!r})")
    return path


def read_etth(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Read ETTh1's readings, its first (date) column dropped.

    Args:
        path: the CSV file, header ``date,HUFL,...,OT``.

    Returns:
        ``(values, names)``: float64 ``(rows, 7)`` and the seven column names.

    Raises:
        InputError: the header is not ETTh1's, a row has the wrong number of cells, or a cell
            is not a finite number (the message names the file, line and column).
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = [name.strip() for name in next(reader, [])]
        if tuple(header) != ETTH_COLUMNS:
            raise InputError(
                f"{path}: header must be {','.join(ETTH_COLUMNS)} (ETTh1.csv), got "
                f"{','.join(header) or 'an empty file'}"
            )
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(f"{path}, line {line}: {len(row)} cells, expected {len(header)}")
            rows.append(
                [_number(path, line, name, cell) for name, cell in zip(header, row, strict=True)][
                    1:
                ]
            )
    if not rows:
        raise InputError(f"{path}: no data rows under the header")
    return np.asarray(rows, np.float64), list(header[1:])


def _number(path: Path, line: int, column: str, cell: str) -> float | None:
    if column == "date":
        return None
    try:
        value = float(cell)
    except ValueError:
        raise InputError(f"{path}: column {column!r} holds {cell!r} at line {line}") from None
    if not np.isfinite(value):
        raise InputError(f"{path}: column {column!r} holds {cell!r} at line {line}")
    return value


def etth(seq_len: int = 24, root: str | os.PathLike | None = None):
    """ETTh1 in Diffusion-TS's preparation: columns scaled to ``[0, 1]``, stride-1 windows.

    Args:
        seq_len: hours per sequence, ``>= 2`` (Diffusion-TS: 24, 64, 128, 256).
        root: a folder holding ``ETTh1.csv``; ``None``: ``$TORCHGAN_LSTM_DATA``.

    Returns:
        A :class:`~torchgan_lstm.data.sequences.SequenceDataset` of ``rows - seq_len + 1``
        windows ``(seq_len, 7)``, its ``scaler`` restoring the file's units.

    Raises:
        DataNotFoundError: as :func:`find_etth`.
        InputError: as :func:`read_etth`, or the file has fewer rows than ``seq_len``.
    """
    from .sequences import MinMaxScaler, SequenceDataset, sliding_windows

    check_int("seq_len", seq_len, minimum=2)
    path = find_etth(root)
    values, names = read_etth(path)
    if len(values) < seq_len:
        raise InputError(f"{path} has {len(values)} data rows, fewer than seq_len={seq_len}")
    scaler = MinMaxScaler.fit(values)
    windows = sliding_windows(scaler.transform(values), seq_len)
    return SequenceDataset(windows, scaler=scaler, feature_names=names)

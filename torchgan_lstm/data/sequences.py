"""Time-series datasets for sequence GANs, offline, in the TimeGAN benchmark's preparation.

Every dataset yields ``(sequence, label)``: a float32 tensor ``(seq_len, features)`` with each
feature min-max scaled to ``[0, 1]`` (the range of a sigmoid generator) and an ``int`` label
(0 for unlabelled data). The dataset's ``scaler`` maps generated sequences back to the data's
own units.

- ``"sines"``: TimeGAN's synthetic sines, each feature ``(sin(f t + p) + 1) / 2`` with
  ``f, p ~ U(0, 0.1)`` drawn per sequence and feature, ``t = 0 .. seq_len - 1``.
- ``"stocks"``: TimeGAN's Google stock prices (shipped with the package, see
  ``STOCKS_ATTRIBUTION.md``), prepared exactly as TimeGAN's loader: rows reversed, columns
  min-max scaled, stride-1 windows.
- ``"etth"``, ``"mujoco"``: Diffusion-TS's ETTh1 and hopper data (:mod:`.ett`, :mod:`.hopper`).
- ``"csv:PATH"``: any CSV file with a header row and numeric columns, rows in time order.
- ``"fashion-mnist-rows"``: Fashion-MNIST images read as 28 steps of 28 pixels, labelled by
  class (a conditional test: each class is a different kind of sequence).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .._memory import check_memory
from .._validation import InputError, check_int
from .idx import load_fashion_mnist

__all__ = [
    "SEQUENCE_DATASETS",
    "MinMaxScaler",
    "SequenceDataset",
    "check_scalable",
    "csv_sequences",
    "fashion_mnist_rows",
    "read_numeric_csv",
    "sines",
    "sliding_windows",
    "stocks",
]

SEQUENCE_DATASETS = (
    "sines", "stocks", "etth", "mujoco", "csv:PATH", "table:FILE", "table-sines",
    "fashion-mnist-rows",
)  # fmt: skip
# The largest magnitude a column may hold: min-max scaling and its inverse then stay far inside
# float32 (about 3.4e38), in which the models train and samples are drawn.
MAX_ABS_VALUE = 1e30
STOCKS_FILE = Path(__file__).with_name("stock_data.csv")


@dataclass(frozen=True)
class MinMaxScaler:
    """Per-feature min-max scaling to ``[0, 1]`` and back.

    A constant feature (``max == min``) is scaled to 0 and restored exactly.

    Attributes:
        min: the data's minimum per feature, float64 ``(features,)``.
        max: the data's maximum per feature, float64 ``(features,)``.
    """

    min: np.ndarray
    max: np.ndarray

    @classmethod
    def fit(cls, data: np.ndarray) -> MinMaxScaler:
        """The scaler of ``data`` ``(..., features)``: extremes over all other axes."""
        flat = np.asarray(data, np.float64).reshape(-1, np.shape(data)[-1])
        return cls(flat.min(axis=0), flat.max(axis=0))

    @classmethod
    def identity(cls, features: int) -> MinMaxScaler:
        """The scaler of data already in ``[0, 1]``: changes nothing."""
        return cls(np.zeros(features), np.ones(features))

    @property
    def _range(self) -> np.ndarray:
        span = self.max - self.min
        return np.where(span > 0, span, 1.0)

    def transform(self, array: np.ndarray | torch.Tensor) -> np.ndarray:
        """Data ``(..., features)`` in its units -> ``[0, 1]``, as float64."""
        return (_numpy(array) - self.min) / self._range

    def inverse_transform(self, array: np.ndarray | torch.Tensor) -> np.ndarray:
        """Scaled sequences ``(..., features)`` (e.g. generated) -> the data's units, float64."""
        return _numpy(array) * self._range + self.min


def _numpy(array: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    return np.asarray(array, np.float64)


class SequenceDataset(Dataset):
    """Sequences in memory: ``(sequence, int label)`` pairs.

    Args:
        sequences: ``(N, seq_len, features)``, scaled to ``[0, 1]``; stored as float32.
        labels: int64 ``(N,)``; ``None`` labels every sequence 0 (unlabelled data).
        scaler: maps ``sequences`` back to the data's units.
        feature_names: a name per feature.
        num_classes: the number of classes of labelled data, ``None`` for unlabelled.

    Attributes:
        seq_len, features: the shape of one sequence.

    Raises:
        ValueError: the shapes do not fit together.
    """

    def __init__(
        self,
        sequences: np.ndarray | torch.Tensor,
        labels: torch.Tensor | None = None,
        scaler: MinMaxScaler | None = None,
        feature_names: list[str] | None = None,
        num_classes: int | None = None,
    ):
        self.sequences = torch.as_tensor(np.asarray(sequences, np.float32))
        if self.sequences.dim() != 3 or len(self.sequences) == 0:
            raise InputError(
                f"sequences must have shape (N, seq_len, features) with N >= 1, got "
                f"{tuple(self.sequences.shape)}"
            )
        count, self.seq_len, self.features = self.sequences.shape
        self.labels = torch.zeros(count, dtype=torch.int64) if labels is None else labels
        if tuple(self.labels.shape) != (count,):
            raise InputError(f"labels must have shape ({count},), got {tuple(self.labels.shape)}")
        self.scaler = MinMaxScaler.identity(self.features) if scaler is None else scaler
        self.feature_names = feature_names or [f"feature {k}" for k in range(self.features)]
        if len(self.feature_names) != self.features:
            raise InputError(
                f"feature_names must name {self.features} features, got {self.feature_names}"
            )
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.sequences[index], int(self.labels[index])


def _check_window(seq_len: int, stride: int) -> None:
    check_int("seq_len", seq_len, minimum=2)
    check_int("stride", stride)


def sines(n: int = 10000, seq_len: int = 24, features: int = 5, seed: int = 0) -> np.ndarray:
    """TimeGAN's sines: each feature ``(sin(f t + p) + 1) / 2``, ``f, p ~ U(0, 0.1)``.

    Args:
        n: number of sequences.
        seq_len: steps per sequence, ``t = 0 .. seq_len - 1``.
        features: sines per sequence, each with its own frequency and phase.
        seed: seeds the draws.

    Returns:
        float64 ``(n, seq_len, features)`` in ``[0, 1]``.

    Raises:
        ValueError: an argument is out of range, or the sines would not fit in this machine's
            memory.
    """
    check_int("n", n)
    check_int("seq_len", seq_len, minimum=2)
    check_int("features", features)
    # float64 draws and their broadcast, then the dataset's float32 copy
    check_memory(f"seq_len={seq_len}", n * seq_len * features * 28, f"for {n} sines")
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0, 0.1, (n, 1, features))
    phase = rng.uniform(0, 0.1, (n, 1, features))
    t = np.arange(seq_len, dtype=np.float64)[None, :, None]
    return (np.sin(freq * t + phase) + 1) / 2


def read_numeric_csv(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Read a CSV file of numeric columns under a header row.

    Args:
        path: the file.

    Returns:
        ``(values, names)``: float64 ``(rows, columns)`` and the header's column names.

    Raises:
        InputError: no such file, a folder, or not UTF-8 text; the file has no header or no
            data rows, a row has the wrong number of cells, a cell is not a number (the message
            names the file, line and column; a column that is not numeric, such as dates, must
            be removed), or a cell is empty or NaN or infinite (named the same way).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"CSV file {str(path)!r} is a folder; name a .csv file")
    if not path.is_file():
        raise InputError(f"CSV file {str(path)!r} does not exist")
    try:
        return _read_rows(path)
    except UnicodeDecodeError as err:
        raise InputError(
            f"CSV file {str(path)!r} is not UTF-8 text ({err.reason} at byte {err.start}); "
            f"save it as UTF-8"
        ) from None


def _read_rows(path: Path) -> tuple[np.ndarray, list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if not header:
            raise InputError(f"{path}: empty file, expected a header row of column names")
        names = [name.strip() for name in header]
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(names):
                raise InputError(
                    f"{path}, line {line}: {len(row)} cells, but the header names "
                    f"{len(names)} columns"
                )
            rows.append(
                [_cell(path, line, name, cell) for name, cell in zip(names, row, strict=True)]
            )
    if not rows:
        raise InputError(f"{path}: no data rows under the header")
    return np.asarray(rows, np.float64), names


def _cell(path: Path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    if not text:
        raise InputError(f"{path}: column {column!r} has an empty cell at line {line}")
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"{path}: column {column!r} is not numeric (line {line} holds {cell!r}); remove "
            f"or encode it"
        ) from None
    if not math.isfinite(value):
        raise InputError(f"{path}: column {column!r} holds {cell!r} at line {line}")
    return value


def sliding_windows(data: np.ndarray, seq_len: int, stride: int = 1) -> np.ndarray:
    """Windows of ``seq_len`` consecutive rows, starting every ``stride`` rows.

    Args:
        data: ``(rows, features)``.
        seq_len: rows per window, ``>= 2``.
        stride: rows between the starts of consecutive windows.

    Returns:
        ``(windows, seq_len, features)``, ``windows = (rows - seq_len) // stride + 1``, a copy.

    Raises:
        ValueError: ``seq_len`` or ``stride`` is out of range, ``data`` has fewer rows than
            ``seq_len``, or the windows would not fit in this machine's memory.
    """
    _check_window(seq_len, stride)
    if len(data) < seq_len:
        raise InputError(f"the data has {len(data)} rows, fewer than seq_len={seq_len}")
    starts = np.arange(0, len(data) - seq_len + 1, stride)
    # float64 windows, then the dataset's float32 copy
    check_memory(
        f"seq_len={seq_len} with stride={stride}",
        len(starts) * seq_len * np.shape(data)[-1] * 12,
        f"for {len(starts)} windows",
    )
    return np.stack([data[s : s + seq_len] for s in starts])


def _windowed_dataset(
    values: np.ndarray, names: list[str], seq_len: int, stride: int, source: str
) -> SequenceDataset:
    if len(values) < seq_len:
        raise InputError(f"{source} has {len(values)} data rows, fewer than seq_len={seq_len}")
    check_scalable(values, names, source)
    scaler = MinMaxScaler.fit(values)
    windows = sliding_windows(scaler.transform(values), seq_len, stride)
    return SequenceDataset(windows, scaler=scaler, feature_names=names)


def check_scalable(values: np.ndarray, names: list[str], source: str) -> None:
    """Check that a table's columns can be min-max scaled for float32 training.

    A constant column among varying ones is kept (it scales to 0 and is restored exactly).

    Args:
        values: ``(rows, columns)``, finite.
        names: a name per column.
        source: the file, for the message.

    Raises:
        InputError: every column is constant (there is nothing to learn), or a column holds a
            value beyond ``MAX_ABS_VALUE`` in magnitude; the message names the file and column.
    """
    magnitude = np.abs(values).max(axis=0)
    for name, largest in zip(names, magnitude, strict=True):
        if not largest <= MAX_ABS_VALUE:
            raise InputError(
                f"{source}: column {name!r} must hold values within +-{MAX_ABS_VALUE:g} (float32 "
                f"training scales it), got {largest:g}"
            )
    if np.all(values.max(axis=0) == values.min(axis=0)):
        raise InputError(
            f"{source}: at least one column must vary, got every column constant "
            f"({', '.join(repr(n) for n in names)}): there is nothing to learn"
        )


def _drop_final_window(dataset: SequenceDataset, rows: int, stride: int) -> SequenceDataset:
    if (rows - dataset.seq_len) % stride or len(dataset) == 1:
        return dataset
    return SequenceDataset(
        dataset.sequences[:-1], scaler=dataset.scaler, feature_names=dataset.feature_names
    )


def csv_sequences(path: str | os.PathLike, seq_len: int = 24, stride: int = 1) -> SequenceDataset:
    """Windows of a CSV file's rows (in time order), each column min-max scaled to ``[0, 1]``.

    Args:
        path: a CSV file with a header row and only numeric columns.
        seq_len: rows per sequence, ``>= 2``.
        stride: rows between the starts of consecutive sequences.

    Returns:
        A :class:`SequenceDataset` whose ``scaler`` restores the file's units.

    Raises:
        FileNotFoundError, ValueError: as :func:`read_numeric_csv`; also when the file has
            fewer data rows than ``seq_len``, ``seq_len`` / ``stride`` is out of range, or the
            columns cannot be scaled (:func:`check_scalable`).
    """
    _check_window(seq_len, stride)
    values, names = read_numeric_csv(path)
    return _windowed_dataset(values, names, seq_len, stride, str(path))


def stocks(
    seq_len: int = 24, stride: int = 1, root: str | os.PathLike | None = None
) -> SequenceDataset:
    """TimeGAN's Stocks: Google's daily prices, scaled per column, in windows.

    Prepared as TimeGAN's ``real_data_loading`` does, so scores compare with the papers'. Its
    comment says the flip makes the data chronological, but the file runs from the oldest day
    (2004-08-19) to the newest, so after the flip every window runs backwards in time. TimeGAN
    scales over all rows but its windows stop one short of the end
    (``range(0, rows - seq_len, stride)``), which gives its 3,661 sequences of 24 x 6; this does
    the same, so scores compare.

    Args:
        seq_len: days per sequence, ``>= 2``.
        stride: days between the starts of consecutive sequences.
        root: a folder holding ``stock_data.csv``; ``None`` uses the copy shipped with the
            package.

    Returns:
        A :class:`SequenceDataset` of ``ceil((rows - seq_len) / stride)`` sequences (at least
        one).

    Raises:
        FileNotFoundError, ValueError: as :func:`csv_sequences`.
    """
    _check_window(seq_len, stride)
    path = STOCKS_FILE if root is None else Path(root) / "stock_data.csv"
    values, names = read_numeric_csv(path)
    values = values[::-1]  # newest first, as TimeGAN
    dataset = _windowed_dataset(values, names, seq_len, stride, str(path))
    return _drop_final_window(dataset, len(values), stride)


def fashion_mnist_rows(
    root: str | os.PathLike | None = None, split: str = "train"
) -> SequenceDataset:
    """Fashion-MNIST images as sequences: 28 steps (rows) of 28 features (pixels) in ``[0, 1]``.

    Args:
        root: a folder holding the IDX files; ``None`` searches the default places.
        split: ``"train"`` or ``"test"``.

    Returns:
        A labelled :class:`SequenceDataset` (10 classes).

    Raises:
        DataNotFoundError: the files are not found.
    """
    images, labels = load_fashion_mnist(root, split)
    return SequenceDataset(images.float().numpy() / 255.0, labels, num_classes=10)

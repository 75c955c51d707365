"""Sequence datasets by name: the one entry point the run configuration and the benchmarks use."""

from __future__ import annotations

import os

from .._validation import InputError
from .ett import etth
from .hopper import mujoco
from .sequences import (
    SEQUENCE_DATASETS,
    SequenceDataset,
    _check_window,
    csv_sequences,
    fashion_mnist_rows,
    sines,
    stocks,
)

__all__ = ["build_sequence_dataset"]


def build_sequence_dataset(
    name: str,
    seq_len: int = 24,
    stride: int = 1,
    root: str | os.PathLike | None = None,
    seed: int = 0,
    **table,
) -> SequenceDataset:
    """Build a sequence dataset by name.

    Args:
        name: ``"sines"`` (10,000 sequences of 5 features), ``"stocks"``, ``"etth"``,
            ``"mujoco"``, ``"csv:PATH"``, ``"table:FILE"``, ``"table-sines"`` or
            ``"fashion-mnist-rows"``.
        seq_len: steps per sequence, ``>= 2`` (``"fashion-mnist-rows"``: 28).
        stride: steps between window starts (``"stocks"``, ``"csv:PATH"``, tables); 1
            otherwise.
        root: the folder of ``stock_data.csv`` (``None``: the shipped copy), ``ETTh1.csv``
            (``None``: ``$TORCHGAN_LSTM_DATA``) or the IDX files; ``None`` for the others.
        seed: seeds ``"sines"``, ``"table-sines"``. **table: tables' ``roles``, ``min_length``.

    Returns:
        A :class:`SequenceDataset` with ``seq_len``, ``features``, ``scaler`` and
        ``num_classes``.

    Raises:
        ValueError: an unknown name, an option the dataset does not use, or bad data (the
            message names the file, line, column or value).
        FileNotFoundError: a file is missing.
    """
    _check_window(seq_len, stride)
    if not isinstance(name, str):
        raise InputError(f"name must be one of {', '.join(SEQUENCE_DATASETS)}, got {name!r}")
    windowed = name == "stocks" or name.startswith(("csv:", "table"))
    if stride != 1 and not windowed:
        raise InputError(
            f"stride applies to 'stocks', 'csv:PATH' and tables only, got stride={stride}"
        )
    if root is not None and name not in ("stocks", "etth", "fashion-mnist-rows"):
        raise InputError(f"root applies to 'stocks', 'etth', 'fashion-mnist-rows', not {name!r}")
    if name == "sines":
        return SequenceDataset(sines(seq_len=seq_len, seed=seed))
    if (name.startswith("table:") and len(name) > 6) or name == "table-sines":
        from .tables import named_table_dataset  # tables build on this module

        return named_table_dataset(name, seq_len=seq_len, stride=stride, seed=seed, **table)
    if name == "stocks":
        return stocks(seq_len, stride, root)
    if name in ("etth", "mujoco"):
        return etth(seq_len, root) if name == "etth" else mujoco(seq_len=seq_len)
    if name.startswith("csv:") and len(name) > 4:
        return csv_sequences(name[4:], seq_len, stride)
    if name == "fashion-mnist-rows":
        if seq_len != 28:
            raise InputError(f"fashion-mnist-rows has seq_len 28 (image rows), got {seq_len}")
        return fashion_mnist_rows(root)
    raise InputError(f"name must be one of {', '.join(SEQUENCE_DATASETS)}, got {name!r}")

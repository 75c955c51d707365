"""Users' tables as sequence datasets: CSV, Parquet or a pandas DataFrame of many entities,
with dates, categories, static attributes, gaps and different lengths.

:func:`table_dataset` reads the table (pandas, with pyarrow for Parquet), decides the columns'
roles (:mod:`~torchgan_lstm.data.table_roles`), checks it
(:mod:`~torchgan_lstm.data.table_checks`) and packs every entity into one float32 tensor
``(seq_len, C)`` (:mod:`~torchgan_lstm.data.table_codec`):

- rows are put on the time column's regular grid where the steps between them are whole
  multiples of the most common one (a missing week becomes a row of missing cells);
- an entity of at most ``seq_len`` steps is one sequence, padded after its end (the
  ``present`` channel marks its length); a longer one is cut into windows of ``seq_len``
  steps starting every ``stride`` steps, as one series without an id is;
- its :attr:`TableDataset.codec` writes packed tensors, generated ones included, back as the
  user's long table (:meth:`~torchgan_lstm.data.table_codec.TableCodec.decode`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .._memory import check_memory
from .._validation import InputError, check_int
from .sequences import SequenceDataset
from .synthetic_tables import table_sines
from .table_checks import check_table
from .table_codec import TableCodec
from .table_roles import Roles, TableRoles, decide_roles, show

__all__ = [
    "TABLE_SUFFIXES",
    "TableDataset",
    "named_table_dataset",
    "read_table",
    "table_dataset",
    "table_sines",
    "write_table",
]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
# Filling a time grid may add at most this many rows per row of the table: beyond it the
# table is sampled too irregularly for a grid, and its rows are kept as they are.
_MAX_GRID_GROWTH = 4


def _suffix(path: Path, what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            f"{what} {str(path)!r} must end in {', '.join(TABLE_SUFFIXES)} (CSV or Parquet), "
            f"got {suffix or 'no extension'!r}"
        )
    return suffix


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV (header row) or Parquet file with pandas.

    Raises:
        InputError: no such file, a folder, an extension other than ``.csv``/``.parquet``/
            ``.pq``, or a file pandas cannot read (the message gives its reason).
    """
    path = Path(path)
    suffix = _suffix(path, "table file")
    if path.is_dir():
        raise InputError(f"table file {str(path)!r} is a folder; name a CSV or Parquet file")
    if not path.is_file():
        raise InputError(f"table file {str(path)!r} does not exist")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, skipinitialspace=True)
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the table is empty (no header row)") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{path} is not UTF-8 text ({err.reason}); save it as UTF-8") from None
    except (pd.errors.ParserError, ValueError, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{path} cannot be read as a table: {reason}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as CSV or Parquet, by ``path``'s extension (missing folders are made)."""
    path = Path(path)
    suffix = _suffix(path, "output file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _row_namer(kind: str, index: pd.Index):
    if kind == "csv":
        return lambda positions: (
            "line"
            + ("s " if len(positions) > 1 else " ")
            + ", ".join(str(int(p) + 2) for p in positions)
        )
    if kind == "parquet":
        return lambda positions: (
            "row"
            + ("s " if len(positions) > 1 else " ")
            + ", ".join(str(int(p) + 1) for p in positions)
        )
    return lambda positions: "index " + ", ".join(show(index[int(p)]) for p in positions)


def _parse_time(frame: pd.DataFrame, roles: Roles, source: str) -> None:
    if roles.time_kind != "datetime" or pd.api.types.is_datetime64_any_dtype(frame[roles.time]):
        return
    try:
        frame[roles.time] = pd.to_datetime(frame[roles.time], format="ISO8601")
    except (ValueError, TypeError) as err:
        raise InputError(f"{source}: time column {roles.time!r}: {err}") from None


def _time_numbers(column: pd.Series, kind: str) -> np.ndarray:
    if kind == "datetime":
        return column.astype("datetime64[ns]").astype("int64").to_numpy()
    return column.to_numpy(np.float64)


def _interval(frame: pd.DataFrame, roles: Roles, entities: dict) -> float | None:
    times = _time_numbers(frame[roles.time], roles.time_kind)
    steps = np.concatenate([np.diff(times[p]) for p in entities.values()])
    if steps.size == 0:
        return None
    values, counts = np.unique(steps, return_counts=True)
    return values[counts.argmax()].item()


def _on_grid(frame: pd.DataFrame, roles: Roles, entities: dict, interval) -> pd.DataFrame:
    """Rows on the time grid: a step skipped inside an entity becomes a row of missing cells."""
    if interval is None or not interval > 0:
        return frame
    times = _time_numbers(frame[roles.time], roles.time_kind)
    order = np.concatenate(list(entities.values()))
    firsts = np.asarray([p[0] for p in entities.values()])
    sizes = np.asarray([len(p) for p in entities.values()])
    ticks = (times[order] - np.repeat(times[firsts], sizes)) / interval
    if not np.allclose(ticks, np.round(ticks)):
        return frame
    ticks = np.round(ticks).astype(np.int64)
    ends = np.cumsum(sizes) - 1
    grid = ticks[ends] + 1  # each entity's steps on the grid
    added = int(grid.sum()) - len(frame)
    if added == 0 or added > _MAX_GRID_GROWTH * len(frame):
        return frame
    offsets = np.concatenate([[0], np.cumsum(grid)[:-1]])
    target = np.repeat(offsets, sizes) + ticks
    filled = pd.DataFrame(index=np.arange(int(grid.sum())), columns=frame.columns, dtype=object)
    source = frame.iloc[order].reset_index(drop=True)
    for column in frame.columns:
        values = np.full(len(filled), np.nan, dtype=object)
        values[target] = source[column].to_numpy(dtype=object)
        filled[column] = values
    for column in [roles.id, roles.label, *roles.static]:
        if column:
            filled[column] = np.repeat(frame[column].to_numpy(dtype=object)[firsts], grid)
    filled = filled.infer_objects()
    for column in frame.columns:
        if column != roles.time and not pd.api.types.is_integer_dtype(frame[column]):
            with contextlib.suppress(TypeError, ValueError):
                filled[column] = filled[column].astype(frame[column].dtype)
    within = np.concatenate([np.arange(k) for k in grid])
    numbers = np.repeat(times[firsts], grid) + within * interval
    if roles.time_kind == "datetime":
        filled[roles.time] = pd.to_datetime(numbers.astype(np.int64), unit="ns")
    else:
        filled[roles.time] = numbers.astype(frame[roles.time].dtype)
    return filled


def _groups(frame: pd.DataFrame, id_column: str | None) -> dict:
    if id_column is None:
        return {None: np.arange(len(frame))}
    return frame.groupby(id_column, sort=False).indices


class TableDataset(SequenceDataset):
    """A table's entities packed as sequences: ``(packed, label)`` pairs.

    ``packed`` is float32 ``(seq_len, C)`` (see :mod:`~torchgan_lstm.data.table_codec`);
    ``label`` the label column's class index, 0 without a label column.

    Args:
        sequences: packed entities ``(N, seq_len, C)``.
        labels: int64 ``(N,)`` or ``None``.
        codec: turns packed tensors back into the table.
        roles: the decided column roles.
        lengths: each sequence's length in steps, int ``(N,)``.
        ids: each sequence's entity id (windows of one entity share it); ``None``: 0..N-1.

    Attributes:
        channels: the codec's channel groups (the table models' constructor argument).
        codec: the :class:`~torchgan_lstm.data.table_codec.TableCodec`.
        roles: the decided :class:`~torchgan_lstm.data.table_roles.Roles`.
        lengths: each sequence's length in steps.
        seq_len: steps per sequence.
        features: channels per step, ``C``.
        num_classes: the label column's classes, ``None`` without one.
    """

    def __init__(
        self,
        sequences: np.ndarray,
        labels: torch.Tensor | None,
        codec: TableCodec,
        roles: Roles,
        lengths: np.ndarray,
        ids: np.ndarray | None = None,
    ):
        classes = len(codec.label["classes"]) if codec.label else None
        super().__init__(sequences, labels, feature_names=codec.feature_names, num_classes=classes)
        self.codec, self.roles, self.lengths = codec, roles, np.asarray(lengths)
        self.ids = np.arange(len(self.sequences)) if ids is None else np.asarray(ids, dtype=object)

    @property
    def channels(self) -> list[dict]:
        """The packed channel groups (JSON-plain)."""
        return self.codec.channels

    def describe(self) -> str:
        """The decided roles and the packed shape, one compact block."""
        lengths = self.lengths
        return "\n".join(
            [
                self.roles.describe(self.codec.source),
                f"  {len(self)} sequences of {self.seq_len} steps x {self.features} channels; "
                f"lengths {lengths.min()}-{lengths.max()} (median {int(np.median(lengths))})",
            ]
        )

    def decode(self, packed=None, labels=None, seed: int = 0) -> pd.DataFrame:
        """Packed entities as the user's long table.

        Args:
            packed: ``(n, steps, C)`` (e.g. generated); ``None``: the dataset itself, under
                its real entity ids and start times.
            labels: ``(n,)`` class indices of ``packed`` (conditional generators).
            seed: seeds the start times of ``packed``'s entities.

        Returns:
            The long table (see :meth:`~torchgan_lstm.data.table_codec.TableCodec.decode`).
        """
        own = packed is None
        if own:
            packed, labels = self.sequences, self.labels
        if isinstance(packed, torch.Tensor):
            packed = packed.detach().cpu().numpy()
        if isinstance(labels, torch.Tensor):
            labels = labels.detach().cpu().numpy()
        if not own:
            return self.codec.decode(packed, labels, seed=seed)
        starts = np.arange(len(packed)) if self.codec.time else None
        return self.codec.decode(packed, labels, ids=self.ids, starts=starts)


def _pack(frame, codec: TableCodec, roles: Roles, seq_len: int, stride: int):
    rows = codec.encode_rows(frame)
    entities = _groups(frame, roles.id)
    starts = [
        range(0, max(len(p) - seq_len, 0) + 1, stride if len(p) > seq_len else 1)
        for p in entities.values()
    ]
    count = sum(len(s) for s in starts)
    check_memory(f"seq_len={seq_len}", count * seq_len * codec.features * 8, f"for {count} rows")
    packed = np.zeros((count, seq_len, codec.features), np.float32)
    lengths = np.zeros(count, np.int64)
    first_rows = np.zeros(count, np.int64)
    static = codec.static_slices()
    k = 0
    for positions, window_starts in zip(entities.values(), starts, strict=True):
        for start in window_starts:
            block = rows[positions[start : start + seq_len]]
            packed[k, : len(block)] = block
            for low, high in static:
                packed[k, len(block) :, low:high] = block[0, low:high]
            lengths[k], first_rows[k] = len(block), positions[start]
            k += 1
    labels = None
    if roles.label:
        index = {v: i for i, v in enumerate(codec.label["classes"])}
        values = frame[roles.label].to_numpy()[first_rows]
        labels = torch.as_tensor([index[v.item() if hasattr(v, "item") else v] for v in values])
    ids = None if roles.id is None else frame[roles.id].to_numpy()[first_rows]
    return packed, labels, lengths, first_rows, ids


def table_dataset(
    table: str | os.PathLike | pd.DataFrame,
    roles: TableRoles | None = None,
    seq_len: int = 24,
    stride: int = 1,
    min_length: int = 2,
    source: str | None = None,
) -> TableDataset:
    """A table of many entities (or one series) as a :class:`TableDataset`.

    Args:
        table: a ``.csv`` / ``.parquet`` file, or a pandas DataFrame.
        roles: the columns' roles (:class:`~torchgan_lstm.data.table_roles.TableRoles`);
            ``None`` infers them all.
        seq_len: steps per sequence, ``>= 2``; longer entities are cut into windows.
        stride: steps between the starts of a long entity's windows.
        min_length: the fewest rows an entity may have, ``>= 1``.
        source: names a DataFrame in messages (default ``"DataFrame"``).

    Returns:
        The packed dataset; ``dataset.codec.decode`` writes packed tensors back as a table.

    Raises:
        InputError: an unreadable file, a bad role or argument, or a table
            :func:`~torchgan_lstm.data.table_checks.check_table` refuses (the message names
            the file, column and row).
    """
    check_int("seq_len", seq_len, minimum=2)
    check_int("stride", stride)
    check_int("min_length", min_length)
    roles = TableRoles() if roles is None else roles
    if isinstance(table, pd.DataFrame):
        source, kind = source or "DataFrame", "frame"
        index = table.index
        frame = table.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
    else:
        source = str(table)
        frame = read_table(table)
        kind, index = ("csv" if source.lower().endswith(".csv") else "parquet"), frame.index
    rows = _row_namer(kind, index)
    if len(frame.columns) == 0 or len(frame) == 0:
        raise InputError(f"{source}: the table is empty (no data rows under the header)")
    decided = decide_roles(frame, roles, source)
    _parse_time(frame, decided, source)
    check_table(frame, decided, source, rows, min_length, roles.categorical or ())
    dtypes = dict(frame.dtypes)
    interval = None
    if decided.time:
        interval = _interval(frame, decided, _groups(frame, decided.id))
        frame = _on_grid(frame, decided, _groups(frame, decided.id), interval)
    codec = TableCodec.fit(frame, decided, seq_len, source, dtypes)
    packed, labels, lengths, firsts, ids = _pack(frame, codec, decided, seq_len, stride)
    if decided.time:
        starts = frame[decided.time].iloc[firsts]
        if decided.time_kind == "datetime":
            plain = [t.isoformat() for t in pd.to_datetime(starts)]
        else:
            plain = [v.item() if hasattr(v, "item") else v for v in starts.to_numpy()]
        default = pd.Timedelta(days=1).value if decided.time_kind == "datetime" else 1
        codec.time |= {"starts": plain, "interval": default if interval is None else interval}
    return TableDataset(packed, labels, codec, decided, lengths, ids)


def named_table_dataset(
    name: str,
    roles: TableRoles | None = None,
    seq_len: int = 24,
    stride: int = 1,
    min_length: int = 2,
    seed: int = 0,
) -> TableDataset:
    """``"table:FILE"`` (a CSV or Parquet file) or ``"table-sines"`` (:func:`table_sines` of
    ``seed``, lengths from ``min(8, seq_len)`` to ``seq_len``) as a :class:`TableDataset`."""
    if name == "table-sines":
        table = table_sines(min_length=min(8, seq_len), max_length=seq_len, seed=seed)
    else:
        table = name[6:]
    return table_dataset(table, roles, seq_len, stride, min_length, source=name)

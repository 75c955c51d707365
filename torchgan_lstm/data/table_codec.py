"""A table's columns as the channels of one float tensor per entity, and back.

The packed layout, shared with the table models: per entity a float32 ``(seq_len, C)`` in
``[0, 1]`` whose channels are described by ``channels``, a JSON-plain list of groups
``{"name", "kind", "role", "width"}`` in channel order (static groups first, then series
groups, then the one ``present`` group):

- ``numeric`` (width 1): the column min-max scaled over its values (a missing cell: 0);
- ``categorical`` (width = categories, >= 2): one-hot (a missing cell: all 0);
- ``observed`` (width 1): 1 where column ``name`` has a value, for columns with gaps;
- ``present`` (width 1, ``"__present__"``): 1 within the entity's length, 0 in the padding.

Padding steps hold 0 in every series channel; static channels keep the attribute. A column
with a single value takes no value channel (only ``observed`` if it has gaps): it comes back
as that value. :class:`TableCodec` keeps everything needed to write generated tensors back as
the user's table, as JSON-plain data (:meth:`TableCodec.to_dict`), stored with a run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import InputError

__all__ = ["PRESENT", "TableCodec", "channel_names"]

PRESENT = "__present__"
_NS = 1_000_000_000


def _plain(value):
    """A JSON-plain copy of a pandas/numpy scalar (str, int, float or bool)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def _column_spec(column: pd.Series, name: str, role: str, categorical: bool, dtype) -> dict:
    values = column.dropna()
    spec = {
        "name": name,
        "role": role,
        "dtype": str(dtype),
        "observed": bool(column.isna().any()),
    }
    if categorical:
        categories = sorted(values.unique().tolist(), key=lambda v: (str(type(v)), v))
        spec |= {"kind": "categorical", "categories": [_plain(v) for v in categories]}
        if isinstance(dtype, pd.CategoricalDtype):
            spec["dtype"] = "category"
    else:
        numbers = values.to_numpy(np.float64)
        spec |= {
            "kind": "numeric",
            "min": float(numbers.min()),
            "max": float(numbers.max()),
            "integer": bool(pd.api.types.is_integer_dtype(dtype)),
        }
    if values.nunique() == 1:
        spec["kind"], spec["value"] = "constant", _plain(values.iloc[0])
    return spec


def _groups(spec: dict) -> list[dict]:
    groups = []
    if spec["kind"] == "numeric":
        groups.append({"name": spec["name"], "kind": "numeric", "role": spec["role"], "width": 1})
    elif spec["kind"] == "categorical":
        width = len(spec["categories"])
        groups.append(
            {"name": spec["name"], "kind": "categorical", "role": spec["role"], "width": width}
        )
    if spec["observed"]:
        groups.append({"name": spec["name"], "kind": "observed", "role": spec["role"], "width": 1})
    return groups


def channel_names(channels: list[dict], categories: dict[str, list] | None = None) -> list[str]:
    """A name per channel: ``col``, ``col=category`` (one-hot), ``col observed``, ``present``."""
    names = []
    for group in channels:
        if group["kind"] == "categorical":
            labels = (categories or {}).get(group["name"]) or range(group["width"])
            names += [f"{group['name']}={label}" for label in labels]
        elif group["kind"] == "observed":
            names.append(f"{group['name']} observed")
        elif group["kind"] == "present":
            names.append("present")
        else:
            names.append(group["name"])
    return names


@dataclass
class TableCodec:
    """How a table's rows become packed channels and how packed tensors become rows again.

    Attributes:
        columns: the user's column names, in the table's order, as samples will have them.
        specs: per series/static column: role, kind, dtype, scaling, categories, gaps.
        channels: the packed channel groups (see the module docstring).
        seq_len: steps per packed entity.
        id: ``{"name", "dtype", "added"}``: the entity id column (``added``: the table had
            none, so samples number their sequences in a column of that name).
        time: ``None`` or ``{"name", "kind", "dtype", "starts", "interval"}``: start times of
            the real entities (ISO text or numbers) and the most common step between rows
            (nanoseconds for dates).
        label: ``None`` or ``{"name", "dtype", "classes"}``.
        source: where the table came from, for messages.
    """

    columns: list[str]
    specs: list[dict]
    channels: list[dict]
    seq_len: int
    id: dict
    time: dict | None = None
    label: dict | None = None
    source: str = "table"
    _offsets: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start = 0
        for group in self.channels:
            self._offsets[(group["name"], group["kind"])] = (start, start + group["width"])
            start += group["width"]

    @property
    def features(self) -> int:
        """Channels per step, ``C``."""
        return sum(group["width"] for group in self.channels)

    @property
    def feature_names(self) -> list[str]:
        """A name per channel (see :func:`channel_names`)."""
        categories = {s["name"]: s["categories"] for s in self.specs if "categories" in s}
        return channel_names(self.channels, categories)

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, roles, seq_len: int, source: str, dtypes: dict | None = None
    ) -> TableCodec:
        """The codec of a checked table (see :func:`~torchgan_lstm.data.table_checks.check_table`).

        Args:
            frame: the table, rows of each entity in time order.
            roles: its decided :class:`~torchgan_lstm.data.table_roles.Roles`.
            seq_len: steps per packed entity.
            source: the file, for messages.
            dtypes: the columns' dtypes as the user's table has them (default: ``frame``'s;
                filling a time grid makes integer columns float).
        """
        dtypes = {**dict(frame.dtypes), **(dtypes or {})}
        specs = [
            _column_spec(frame[c], c, role, c in roles.categorical, dtypes[c])
            for role, names in (("static", roles.static), ("series", roles.series))
            for c in names
        ]
        channels = [g for spec in specs for g in _groups(spec)]
        channels.append({"name": PRESENT, "kind": "present", "role": "series", "width": 1})
        kept = {c for c in (roles.id, roles.time, roles.label) if c}
        kept |= {spec["name"] for spec in specs}
        columns = [str(c) for c in frame.columns if str(c) in kept]
        if roles.id:
            id_spec = {"name": roles.id, "dtype": str(dtypes[roles.id]), "added": False}
        else:
            name = "sequence" if "sequence" not in frame.columns else "__sequence__"
            id_spec = {"name": name, "dtype": "int64", "added": True}
            columns.insert(0, name)
        label = None
        if roles.label:
            classes = sorted(frame[roles.label].unique().tolist(), key=lambda v: (str(type(v)), v))
            label = {
                "name": roles.label,
                "dtype": str(dtypes[roles.label]),
                "classes": [_plain(v) for v in classes],
            }
        time = None
        if roles.time:
            kind, dtype = roles.time_kind, str(dtypes[roles.time])
            time = {"name": roles.time, "kind": kind, "dtype": dtype}
        return cls(columns, specs, channels, seq_len, id_spec, time, label, source)

    def to_dict(self) -> dict:
        """The codec as JSON-plain data (stored with a run's checkpoints)."""
        names = ("columns", "specs", "channels", "seq_len", "id", "time", "label", "source")
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_dict(cls, data: object, where: str = "table codec") -> TableCodec:
        """Inverse of :meth:`to_dict`, for data read from a file.

        Raises:
            InputError: not a mapping of the expected keys and types; names ``where``.
        """
        keys = ("columns", "specs", "channels", "seq_len", "id", "time", "label", "source")
        if not isinstance(data, dict) or set(data) != set(keys):
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise InputError(f"{where} must be a mapping of {list(keys)}, got {got}")
        from .table_stored import check_stored_codec

        check_stored_codec(data, where, _groups)
        return cls(**data)

    def encode_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Every row's channels, ``(rows, C)`` float32, ``present`` 1 (padding is added per
        entity by the dataset)."""
        out = np.zeros((len(frame), self.features), np.float32)
        for spec in self.specs:
            column = frame[spec["name"]]
            missing = column.isna().to_numpy()
            if spec["kind"] == "numeric":
                low, _ = self._offsets[(spec["name"], "numeric")]
                span = spec["max"] - spec["min"]
                values = column.to_numpy(np.float64, na_value=np.nan)
                scaled = (values - spec["min"]) / (span if span > 0 else 1.0)
                out[:, low] = np.where(missing, 0.0, scaled)
            elif spec["kind"] == "categorical":
                low, _ = self._offsets[(spec["name"], "categorical")]
                index = {v: k for k, v in enumerate(spec["categories"])}
                codes = [index.get(_plain(v), -1) for v in column.tolist()]
                rows = np.flatnonzero(~missing)
                out[rows, low + np.asarray(codes, np.int64)[rows]] = 1.0
            if spec["observed"]:
                low, _ = self._offsets[(spec["name"], "observed")]
                out[:, low] = (~missing).astype(np.float32)
        out[:, self._offsets[(PRESENT, "present")][0]] = 1.0
        return out

    @property
    def static_width(self) -> int:
        """The static channels' width (they come first)."""
        return sum(g["width"] for g in self.channels if g["role"] == "static")

    def encode_static(self, frame: pd.DataFrame, where: str = "table") -> np.ndarray:
        """Given static attributes, one row per entity, packed as the static channels.

        Args:
            frame: a table holding every static column that takes channels.
            where: the file, for messages.

        Returns:
            float32 ``(rows, static_width)``.

        Raises:
            InputError: a static column is missing, a category is not one of the training
                table's, or a number lies outside the training table's range.
        """
        needed = [s for s in self.specs if s["role"] == "static" and s["kind"] != "constant"]
        for spec in needed:
            name = spec["name"]
            if name not in frame.columns:
                raise InputError(f"{where} must hold the static column {name!r}")
            values = frame[name]
            if spec["kind"] == "categorical":
                bad = ~values.isna() & ~values.map(_plain).isin(spec["categories"])
                allowed = ", ".join(map(str, spec["categories"]))
            else:
                numbers = pd.to_numeric(values, errors="coerce")
                bad = values.notna() & ~numbers.between(spec["min"], spec["max"])
                allowed = f"numbers in [{spec['min']:g}, {spec['max']:g}]"
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    f"{where}, row {row + 1}: {name}={values.iloc[row]!r} is not one of the "
                    f"training table's values ({allowed})"
                )
        full = frame.reindex(columns=[s["name"] for s in self.specs])
        return self.encode_rows(full)[:, : self.static_width]

    def static_slices(self) -> list[tuple[int, int]]:
        """The channel ranges of the static groups."""
        return [
            self._offsets[(g["name"], g["kind"])] for g in self.channels if g["role"] == "static"
        ]

    def lengths(self, packed: np.ndarray) -> np.ndarray:
        """Each entity's length: the steps before ``present`` (made non-increasing) drops
        below 0.5; at least 1."""
        present = packed[..., self._offsets[(PRESENT, "present")][0]]
        kept = np.minimum.accumulate(present, axis=1) >= 0.5
        return np.maximum(kept.sum(axis=1), 1)

    def decode(
        self,
        packed: np.ndarray,
        labels: np.ndarray | None = None,
        seed: int = 0,
        first_id: int = 0,
        ids: np.ndarray | list | None = None,
        starts: np.ndarray | list | None = None,
    ) -> pd.DataFrame:
        """Packed entities (real or generated) as the user's long table.

        Args:
            packed: ``(n, steps, C)`` in ``[0, 1]`` (values outside are clipped).
            labels: ``(n,)`` class indices for the label column (``None``: the first class).
            seed: seeds the start times drawn from the real entities' starts.
            first_id: the number of the first new entity id.
            ids: ``(n,)`` entity ids to use instead of new ones (e.g. the real entities').
            starts: ``(n,)`` indices into the real start times instead of random ones.

        Returns:
            One row per present step of every entity, the user's columns, names, dtypes and
            order; static attributes repeated on every row of their entity.

        Raises:
            InputError: ``packed`` is not ``(n, steps, C)`` with this codec's ``C``.
        """
        packed = np.clip(np.asarray(packed, np.float64), 0.0, 1.0)
        if packed.ndim != 3 or packed.shape[2] != self.features:
            raise InputError(
                f"packed must have shape (n, steps, {self.features}), got {packed.shape}"
            )
        n, steps, _ = packed.shape
        lengths = self.lengths(packed)
        valid = np.arange(steps)[None, :] < lengths[:, None]
        rows = {}
        entity = np.repeat(np.arange(n), lengths)
        step = np.concatenate([np.arange(k) for k in lengths])
        for spec in self.specs:
            rows[spec["name"]] = self._decode_column(spec, packed, valid, lengths, entity)
        new_ids = self._new_ids(n, first_id) if ids is None else np.asarray(ids, dtype=object)
        rows[self.id["name"]] = new_ids[entity]
        if self.time is not None:
            times = self._times(n, seed, starts)
            rows[self.time["name"]] = times[entity] + step * self._interval()
        if self.label is not None:
            index = np.zeros(n, np.int64) if labels is None else np.asarray(labels, np.int64)
            classes = np.asarray(self.label["classes"], dtype=object)
            rows[self.label["name"]] = classes[index][entity]
        frame = pd.DataFrame({c: rows[c] for c in self.columns})
        return self._restore_dtypes(frame)

    def _decode_column(self, spec, packed, valid, lengths, entity) -> np.ndarray:
        name = spec["name"]

        def per_step(low: int, high: int) -> np.ndarray:
            values = packed[:, :, low:high]
            if spec["role"] == "static":  # the attribute: its mean over the entity's steps
                mean = (values * valid[..., None]).sum(1) / lengths[:, None]
                return mean[entity]
            return values[valid]

        if spec["kind"] == "numeric":
            scaled = per_step(*self._offsets[(name, "numeric")])[:, 0]
            values = scaled * (spec["max"] - spec["min"]) + spec["min"]
            values = np.round(values) if spec["integer"] else values
        elif spec["kind"] == "categorical":
            codes = per_step(*self._offsets[(name, "categorical")]).argmax(axis=1)
            values = np.asarray(spec["categories"], dtype=object)[codes]
        else:
            values = np.full(len(entity), spec["value"], dtype=object)
        if spec["observed"]:
            seen = per_step(*self._offsets[(name, "observed")])[:, 0] >= 0.5
            values = np.where(seen, values, None if values.dtype == object else np.nan)
        return values

    def _new_ids(self, n: int, first: int) -> np.ndarray:
        numbers = np.arange(first, first + n)
        if self.id["added"] or "int" in self.id["dtype"]:
            return numbers
        return np.asarray([f"generated-{k}" for k in numbers], dtype=object)

    def _interval(self):
        interval = self.time["interval"]
        if self.time["kind"] == "datetime":
            return pd.Timedelta(int(interval), unit="ns")
        return interval

    def _times(self, n: int, seed: int, picked=None) -> np.ndarray:
        starts = self.time["starts"]
        if picked is None:
            picked = np.random.default_rng(seed).integers(0, len(starts), n)
        if self.time["kind"] == "datetime":
            values = pd.to_datetime(pd.Series(starts), format="ISO8601")
            return values.to_numpy()[picked]
        return np.asarray(starts)[picked]

    def _restore_dtypes(self, frame: pd.DataFrame) -> pd.DataFrame:
        dtypes = {s["name"]: s["dtype"] for s in self.specs}
        dtypes[self.id["name"]] = self.id["dtype"]
        if self.time is not None:
            dtypes[self.time["name"]] = self.time["dtype"]
        if self.label is not None:
            dtypes[self.label["name"]] = self.label["dtype"]
        for name, dtype in dtypes.items():
            column = frame[name]
            if dtype == "category":
                spec = next(s for s in self.specs if s["name"] == name)
                frame[name] = pd.Categorical(column, categories=spec["categories"])
                continue
            if "int" in dtype and column.isna().any():
                dtype = "Int64"  # integers with gaps: pandas' nullable integers
            try:
                frame[name] = column.astype(dtype)
            except (TypeError, ValueError):
                frame[name] = column.infer_objects()
        return frame

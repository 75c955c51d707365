"""Checks of a table before it is packed: each problem is one :class:`InputError` line that
names the file, the column and the row(s).

Refused: an empty table, a column without a single value, a text column mixing numbers and
other text, a column of dates other than the time column, infinite or huge numbers, a missing
id/time/label, a time column that goes back within an entity (or repeats a time: duplicate
``(id, time)`` rows), a label or a named static
column that changes within an entity, an entity shorter than ``min_length``, and a category
seen only once (one row of a series column, one entity of a static or label column): a GAN
cannot learn a category from a single example, and any sample of it would repeat that one
row, which is what synthetic data is meant not to do. Merge such a category into another, or
drop its rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .._validation import InputError
from .table_roles import Roles, first_rows, show, time_kind

__all__ = ["MAX_ABS_VALUE", "RowNamer", "check_table"]

# As for numeric CSV files: min-max scaling and its inverse stay far inside float32.
MAX_ABS_VALUE = 1e30

RowNamer = Callable[[list[int]], str]


def _empty(frame: pd.DataFrame, source: str) -> None:
    if len(frame.columns) == 0 or len(frame) == 0:
        raise InputError(f"{source}: the table is empty (no data rows under the header)")


def _no_value(frame: pd.DataFrame, source: str, columns: list[str]) -> None:
    for column in columns:
        if frame[column].isna().all():
            raise InputError(
                f"{source}: column {column!r} holds no value (every cell is missing): there is "
                f"nothing to learn or generate; drop the column or give it no role"
            )


def _mixed(frame: pd.DataFrame, source: str, rows: RowNamer, columns: list[str]) -> None:
    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype):
            continue
        present = values.dropna()
        numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce").notna()
        if numbers.any() and not numbers.all():
            text = present.index[~numbers.to_numpy()][0]
            number = present.index[numbers.to_numpy()][0]
            a, b = show(values[number]), show(values[text])
            raise InputError(
                f"{source}: column {column!r} mixes numbers and text ({rows([number])} holds "
                f"{a}, {rows([text])} holds {b}); fix the cells, or name the column in "
                f"data.categorical to read every value as a category"
            )


def _dates(frame: pd.DataFrame, source: str, columns: list[str]) -> None:
    for column in columns:
        values = frame[column].dropna()
        if values.empty or pd.api.types.is_bool_dtype(values):
            continue
        first = values.iloc[:1]
        if pd.api.types.is_numeric_dtype(values) or time_kind(first) != "datetime":
            continue
        if time_kind(values) == "datetime":
            raise InputError(
                f"{source}: column {column!r} holds dates, which only the time column can hold; "
                f"name it data.time, name it in data.categorical to keep each date as a "
                f"category, or drop it"
            )


def _finite(frame: pd.DataFrame, source: str, rows: RowNamer, columns: list[str]) -> None:
    for column in columns:
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        numbers = values.to_numpy(np.float64, na_value=np.nan)
        bad = ~np.isnan(numbers) & ~(np.abs(numbers) <= MAX_ABS_VALUE)
        if bad.any():
            at = first_rows(bad)
            raise InputError(
                f"{source}: column {column!r} must hold finite values within "
                f"+-{MAX_ABS_VALUE:g}, got {numbers[at[0]]} at {rows(at)}"
            )


def _complete(frame: pd.DataFrame, source: str, rows: RowNamer, roles: Roles) -> None:
    for role, column in (("id", roles.id), ("time", roles.time), ("label", roles.label)):
        if column and frame[column].isna().any():
            raise InputError(
                f"{source}: the {role} column {column!r} has empty cells at "
                f"{rows(first_rows(frame[column].isna()))}; every row needs its {role}"
            )


def _entities(frame: pd.DataFrame, roles: Roles) -> dict:
    if roles.id is None:
        return {None: np.arange(len(frame))}
    return frame.groupby(roles.id, sort=False).indices


def _time_order(frame: pd.DataFrame, source: str, rows: RowNamer, roles: Roles, entities):
    if roles.time is None:
        return
    times = frame[roles.time].to_numpy()
    for entity, positions in entities.items():
        steps = np.diff(times[positions])
        where = "" if entity is None else f" within entity {roles.id}={show(entity)}"
        zero = steps == np.zeros((), steps.dtype)
        if zero.any():
            k = int(np.flatnonzero(zero)[0])
            raise InputError(
                f"{source}: duplicate rows{where}: {rows([positions[k], positions[k + 1]])} "
                f"have the same {roles.time} {show(frame[roles.time].iloc[positions[k]])}; keep one"
            )
        back = steps < np.zeros((), steps.dtype)
        if back.any():
            k = int(np.flatnonzero(back)[0])
            before, after = positions[k], positions[k + 1]
            then, now = (show(frame[roles.time].iloc[p]) for p in (before, after))
            raise InputError(
                f"{source}: time column {roles.time!r} is not increasing{where}: "
                f"{rows([after])} ({now}) comes after {rows([before])} ({then}); sort the rows "
                f"by time"
            )


def _per_entity(frame: pd.DataFrame, source: str, rows: RowNamer, roles: Roles, entities):
    fixed = [("label", roles.label)] if roles.label else []
    fixed += [("static", c) for c in roles.static]
    for role, column in fixed:
        values = frame[column]
        counts = values.groupby(frame[roles.id], sort=False).nunique(dropna=False)
        for entity in counts.index[counts.to_numpy() > 1][:1]:
            positions = entities[entity]
            part = values.iloc[positions]
            if part.nunique(dropna=False) > 1:
                other = first_rows(part.ne(part.iloc[0]).to_numpy() & part.notna().to_numpy())
                other = other or first_rows(part.isna())
                at = [positions[0], positions[other[0]]]
                raise InputError(
                    f"{source}: {role} column {column!r} changes within entity "
                    f"{roles.id}={show(entity)} ({rows(at)}); a {role} column holds one value per "
                    f"entity"
                )


def _lengths(source: str, rows: RowNamer, roles: Roles, entities, min_length: int) -> None:
    for entity, positions in entities.items():
        if len(positions) < min_length:
            which = "the table" if entity is None else f"entity {roles.id}={show(entity)}"
            raise InputError(
                f"{source}: {which} has {len(positions)} row(s) ({rows(list(positions[:3]))}), "
                f"fewer than data.min_length={min_length}; drop it or lower data.min_length"
            )


def _single_categories(
    frame: pd.DataFrame, source: str, rows: RowNamer, roles: Roles, entities
) -> None:
    once_per_entity = [*([roles.label] if roles.label else []), *roles.static]
    for column in [*roles.categorical, *([roles.label] if roles.label else [])]:
        values = frame[column]
        if column in once_per_entity and roles.id is not None:
            firsts = np.asarray([positions[0] for positions in entities.values()])
            values = values.iloc[firsts]
        counts = values.value_counts(dropna=True)
        if len(counts) < 2:
            continue  # a constant column comes back as its value: nothing to learn
        once = counts.index[counts.to_numpy() == 1]
        if len(once):
            at = first_rows(values.eq(once[0]).to_numpy())
            unit = "entity" if column in once_per_entity and roles.id else "row"
            raise InputError(
                f"{source}: category {show(once[0])} of column {column!r} appears in one {unit} "
                f"only ({rows([int(values.index[at[0]])])}): a GAN cannot learn it from one "
                f"example, and a sample of it would repeat that {unit}; merge it into another "
                f"category or drop it"
            )


def check_table(
    frame: pd.DataFrame,
    roles: Roles,
    source: str,
    rows: RowNamer,
    min_length: int = 2,
    named_categorical: list[str] | tuple[str, ...] = (),
) -> None:
    """Refuse a table that cannot be packed, with one line naming the column and row(s).

    Args:
        frame: the table (a ``RangeIndex``: row positions), its time column already parsed.
        roles: the decided roles.
        source: the file (or ``"DataFrame"``), for messages.
        rows: names row positions for messages (a CSV file's line numbers, for instance).
        min_length: the fewest rows an entity may have.
        named_categorical: the columns the user named categorical (a text column mixing
            numbers and text is refused unless named so).

    Raises:
        InputError: see the module docstring for every case.
    """
    _empty(frame, source)
    used = [*roles.static, *roles.series]
    _no_value(frame, source, used)
    _mixed(frame, source, rows, [c for c in used if c not in named_categorical])
    _dates(frame, source, [c for c in used if c not in named_categorical])
    _finite(frame, source, rows, [c for c in used if c not in roles.categorical])
    _complete(frame, source, rows, roles)
    entities = _entities(frame, roles)
    _time_order(frame, source, rows, roles, entities)
    _per_entity(frame, source, rows, roles, entities)
    _lengths(source, rows, roles, entities, min_length)
    _single_categories(frame, source, rows, roles, entities)

"""The roles of a table's columns (entity id, time, series, static, label) and how the ones not
given are decided.

A role the user names is taken as named; a role left out is inferred, by rules a user can
predict and that are printed once at the start of a run (:meth:`Roles.describe`):

- ``id``: the one column named ``id``, ``entity``, ``entity_id``, ``series_id`` or ``group``
  (case-insensitive); none, or several, such columns: no id (the table is one series, cut into
  windows of ``seq_len``).
- ``time``: the one column named ``date``, ``time``, ``timestamp`` or ``datetime`` whose values
  are numbers or dates; otherwise the row order is the time.
- ``static``: with an id, the columns whose value never changes within an entity (a column
  constant over the whole table included); without an id there are no entities, so none.
- categorical vs numeric: text, boolean and pandas ``category`` columns are categorical;
  numbers are numeric, integers included (a column of integer codes is categorical only when
  named in ``categorical``: counts and ages are integers too, and guessing from the number of
  distinct values would change a column's kind with the amount of data).
- ``series``: every other column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import InputError

__all__ = ["ID_NAMES", "TIME_NAMES", "Roles", "TableRoles", "decide_roles", "show"]

ID_NAMES = ("id", "entity", "entity_id", "series_id", "group")
TIME_NAMES = ("date", "time", "timestamp", "datetime")


@dataclass
class TableRoles:
    """The roles a user gives a table's columns; ``None`` leaves a role to inference.

    Args:
        id: the entity id column (many series in one long table); ``None``: inferred by name,
            ``""``: no id (one series cut into windows).
        time: the time column, dates or numbers, increasing within each entity; ``None``:
            inferred by name, ``""``: the row order.
        series: the time-varying columns; ``None``: every column without another role.
        static: the per-entity attributes; ``None``: the columns constant within every entity.
        categorical: the columns read as categories whatever their dtype (e.g. integer codes);
            the other columns' kind follows their dtype.
        label: a per-entity class column to condition on (RCGAN's labels); ``None``: none.
    """

    id: str | None = None
    time: str | None = None
    series: list[str] | None = None
    static: list[str] | None = None
    categorical: list[str] | None = None
    label: str | None = None


@dataclass
class Roles:
    """The decided roles of every column used (see the module's rules).

    Attributes:
        id: the entity id column, or ``None``.
        time: the time column, or ``None``.
        time_kind: ``"datetime"``, ``"numeric"`` or ``None`` (no time column).
        series: the time-varying columns, in the table's order.
        static: the per-entity attribute columns, in the table's order.
        categorical: the categorical ones among ``series`` and ``static``.
        label: the label column, or ``None``.
        unused: the columns without a role (left out of training and of samples).
        inferred: the roles that were inferred rather than given.
    """

    id: str | None
    time: str | None
    time_kind: str | None
    series: list[str]
    static: list[str]
    categorical: list[str]
    label: str | None
    unused: list[str] = field(default_factory=list)
    inferred: list[str] = field(default_factory=list)

    def describe(self, source: str) -> str:
        """The decided roles as one compact block, for the start of a run."""

        def names(columns: list[str]) -> str:
            shown = [f"{c} (categorical)" if c in self.categorical else c for c in columns]
            return ", ".join(shown) or "-"

        by = f" (inferred: {', '.join(self.inferred)})" if self.inferred else ""
        return "\n".join(
            [
                f"table {source}: column roles{by}",
                f"  id:     {self.id or '- (one series, cut into windows)'}",
                f"  time:   {self.time or '- (row order)'}"
                + (f" ({self.time_kind})" if self.time else ""),
                f"  static: {names(self.static)}",
                f"  series: {names(self.series)}",
                f"  label:  {self.label or '-'}",
                *([f"  unused: {', '.join(self.unused)}"] if self.unused else []),
            ]
        )


def _check_known(frame: pd.DataFrame, source: str, role: str, columns: list[str]) -> None:
    for name in columns:
        if name not in frame.columns:
            known = ", ".join(repr(str(c)) for c in frame.columns)
            raise InputError(
                f"{source}: data.{role} names column {name!r}, which the table does not have; "
                f"its columns are {known}"
            )


def _by_name(frame: pd.DataFrame, names: tuple[str, ...]) -> list[str]:
    return [str(c) for c in frame.columns if str(c).strip().lower() in names]


def time_kind(column: pd.Series) -> str | None:
    """``"datetime"`` or ``"numeric"`` when ``column`` holds dates or numbers, else ``None``."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return "datetime"
    if pd.api.types.is_bool_dtype(column):
        return None
    if pd.api.types.is_numeric_dtype(column):
        return "numeric"
    values = column.dropna()
    if values.empty:
        return None
    try:
        pd.to_datetime(values.astype(str), format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        return None
    return "datetime"


def is_categorical_dtype(column: pd.Series) -> bool:
    """Whether a column's dtype makes it categorical (text, boolean or pandas ``category``)."""
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _decide_id(frame: pd.DataFrame, roles: TableRoles, inferred: list[str]) -> str | None:
    if roles.id is not None:
        return roles.id or None
    found = _by_name(frame, ID_NAMES)
    if len(found) == 1:
        inferred.append("id")
        return found[0]
    return None


def _decide_time(
    frame: pd.DataFrame, roles: TableRoles, source: str, inferred: list[str]
) -> tuple[str | None, str | None]:
    if roles.time is not None:
        if not roles.time:
            return None, None
        kind = time_kind(frame[roles.time])
        if kind is None:
            raise InputError(
                f"{source}: data.time column {roles.time!r} must hold numbers or dates (ISO "
                f"8601, e.g. 2024-01-31), got {frame[roles.time].dropna().iloc[0]!r}"
                if frame[roles.time].notna().any()
                else f"{source}: data.time column {roles.time!r} holds no value"
            )
        return roles.time, kind
    found = [c for c in _by_name(frame, TIME_NAMES) if time_kind(frame[c]) is not None]
    if len(found) == 1:
        inferred.append("time")
        return found[0], time_kind(frame[found[0]])
    return None, None


def _constant_within(frame: pd.DataFrame, id_column: str, column: str) -> bool:
    counts = frame.groupby(id_column, sort=False, dropna=False)[column].nunique(dropna=True)
    if counts.max() > 1:
        return False
    # a gap beside a value is no attribute: an entity's value must be known at every row or none
    missing = frame[column].isna().groupby(frame[id_column], sort=False, dropna=False)
    return bool(((missing.sum() == 0) | (missing.sum() == missing.size())).all())


def decide_roles(frame: pd.DataFrame, roles: TableRoles, source: str) -> Roles:
    """Decide every column's role: the given ones checked, the others inferred.

    Args:
        frame: the table.
        roles: the roles the user gave.
        source: the file (or ``"DataFrame"``), for messages.

    Returns:
        The decided :class:`Roles`.

    Raises:
        InputError: a role names a column the table lacks (the message lists the columns), a
            column is given two roles, the time column holds neither numbers nor dates, or a
            label is given without an id (labels are per entity).
    """
    named = [r for r in (roles.id, roles.time, roles.label) if r]
    for role, columns in (
        ("id", [roles.id] if roles.id else []),
        ("time", [roles.time] if roles.time else []),
        ("label", [roles.label] if roles.label else []),
        ("series", roles.series or []),
        ("static", roles.static or []),
        ("categorical", roles.categorical or []),
    ):
        _check_known(frame, source, role, columns)
    inferred: list[str] = []
    id_column = _decide_id(frame, roles, inferred)
    time_column, kind = _decide_time(frame, roles, source, inferred)
    label = roles.label or None
    if label and not id_column:
        raise InputError(
            f"{source}: data.label={label!r} labels entities, but the table has no id column; "
            f"name it with data.id"
        )
    taken = {c for c in (id_column, time_column, label) if c}
    for role, columns in (("series", roles.series or []), ("static", roles.static or [])):
        clash = sorted(taken & set(columns))
        if clash:
            raise InputError(
                f"{source}: column {clash[0]!r} cannot be both {role} and id/time/label "
                f"({', '.join(named)})"
            )
    both = sorted(set(roles.series or []) & set(roles.static or []))
    if both:
        raise InputError(f"{source}: column {both[0]!r} is named both series and static")
    rest = [str(c) for c in frame.columns if str(c) not in taken]
    if roles.static is not None:
        static = [c for c in rest if c in roles.static]
    elif id_column:
        candidates = [c for c in rest if c not in (roles.series or [])]
        static = [c for c in candidates if _constant_within(frame, id_column, c)]
        inferred += ["static"] if static else []
    else:
        static = []
    if roles.series is not None:
        series = [c for c in rest if c in roles.series]
    else:
        series = [c for c in rest if c not in static]
        inferred += ["series"]
    unused = [c for c in rest if c not in static and c not in series]
    categorical = [
        c
        for c in [*static, *series]
        if c in (roles.categorical or []) or is_categorical_dtype(frame[c])
    ]
    return Roles(id_column, time_column, kind, series, static, categorical, label, unused, inferred)


def first_rows(mask: np.ndarray | pd.Series, limit: int = 3) -> list[int]:
    """The positions of the first ``limit`` true values of ``mask``."""
    return [int(i) for i in np.flatnonzero(np.asarray(mask))[:limit]]


def show(value: object) -> str:
    """A cell's value for a message: text quoted, numbers and dates as a user writes them."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat() if value != value.normalize() else value.strftime("%Y-%m-%d")
    return repr(value) if isinstance(value, str) else str(value)

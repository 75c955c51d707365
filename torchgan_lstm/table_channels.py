"""The packed-table layout shared by the table data, the table generator and the table metrics.

A table of many entities becomes one float tensor per entity, ``(seq_len, C)`` (a batch:
``(batch, seq_len, C)``). Its channels are described by ``channels``, a JSON-plain list of
groups in channel order, each exactly ``{"name": str, "kind": str, "role": str, "width": int}``:

- ``kind="numeric"``, width 1: a column min-max scaled to ``[0, 1]`` (a missing cell holds 0).
- ``kind="categorical"``, width = number of categories (>= 2): one-hot (a missing cell: all 0).
- ``kind="observed"``, width 1: 1 where the column ``name`` (of the same role) has a value.
- ``kind="present"``, exactly one, ``role="series"``, width 1, name ``"__present__"``: 1 for the
  steps within the entity's length, 0 after its end (padding).
- ``role="static"``: the same value at every step (padding included); ``role="series"``:
  time-varying, and 0 on every padding step.
- Order: the static groups, then the series groups, then ``present`` last.

:func:`check_channels` validates such a list; :func:`channel_slices` locates the groups;
:func:`harden` turns a generator's soft output into the data's hard 0/1 and one-hot values.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import torch

from ._validation import InputError

__all__ = [
    "KINDS",
    "PRESENT_NAME",
    "ROLES",
    "ChannelGroup",
    "channel_slices",
    "check_channels",
    "harden",
    "lengths",
]

KINDS = ("numeric", "categorical", "observed", "present")
ROLES = ("static", "series")
PRESENT_NAME = "__present__"
_KEYS = ("name", "kind", "role", "width")


@dataclass(frozen=True)
class ChannelGroup:
    """One group of ``channels`` and where it lies in the packed tensor.

    Attributes:
        name: the column's name (``"__present__"`` for the present flag).
        kind: ``"numeric"``, ``"categorical"``, ``"observed"`` or ``"present"``.
        role: ``"static"`` or ``"series"``.
        width: channels of the group.
        start: index of its first channel in the packed tensor.
    """

    name: str
    kind: str
    role: str
    width: int
    start: int

    @property
    def stop(self) -> int:
        """Index one past its last channel."""
        return self.start + self.width

    @property
    def slice(self) -> slice:
        """Its channels, for indexing the last dimension."""
        return slice(self.start, self.stop)


def _check_group(index: int, group: object) -> None:
    where = f"channels[{index}]"
    if not isinstance(group, dict) or set(group) != set(_KEYS):
        got = sorted(group) if isinstance(group, dict) else type(group).__name__
        raise InputError(f"{where} must be a dict with exactly the keys {list(_KEYS)}, got {got}")
    name, kind, role, width = (group[k] for k in _KEYS)
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}['name'] must be a non-empty string, got {name!r}")
    if kind not in KINDS:
        raise InputError(f"{where}['kind'] must be one of {list(KINDS)}, got {kind!r}")
    if role not in ROLES:
        raise InputError(f"{where}['role'] must be one of {list(ROLES)}, got {role!r}")
    if isinstance(width, bool) or not isinstance(width, int):
        raise InputError(f"{where}['width'] must be an integer, got {width!r}")
    if kind == "categorical" and width < 2:
        raise InputError(f"{where} ({name!r}): a categorical group needs width >= 2, got {width}")
    if kind != "categorical" and width != 1:
        raise InputError(f"{where} ({name!r}): a {kind} group has width 1, got {width}")
    if kind == "present" and (role != "series" or name != PRESENT_NAME):
        raise InputError(
            f"{where}: the present group has role 'series' and name {PRESENT_NAME!r}, got "
            f"role={role!r}, name={name!r}"
        )


def check_channels(channels: object) -> list[ChannelGroup]:
    """Validate a ``channels`` list (see the module docstring) and locate its groups.

    Args:
        channels: the list of groups, in channel order.

    Returns:
        The groups with their positions, in channel order.

    Raises:
        InputError: not a list of such dicts; an unknown kind or role; a wrong width; static
            groups after series groups; not exactly one ``present`` group, or not last; a
            value column named twice within a role; an ``observed`` group naming no value
            column of its role, or named twice. The message names the group's index.
    """
    if not isinstance(channels, list | tuple) or not channels:
        raise InputError(f"channels must be a non-empty list of groups, got {channels!r}")
    groups, start = [], 0
    for index, group in enumerate(channels):
        _check_group(index, group)
        groups.append(
            ChannelGroup(group["name"], group["kind"], group["role"], group["width"], start)
        )
        start += group["width"]
    presents = [i for i, g in enumerate(groups) if g.kind == "present"]
    if presents != [len(groups) - 1]:
        raise InputError(
            f"channels must hold exactly one 'present' group, the last one; found it at "
            f"indices {presents} of {len(groups)}"
        )
    for index, (before, after) in enumerate(pairwise(groups)):
        if before.role == "series" and after.role == "static":
            raise InputError(
                f"channels must list the static groups before the series groups, got static "
                f"channels[{index + 1}] ({after.name!r}) after series channels[{index}] "
                f"({before.name!r})"
            )
    seen: set[tuple[str, str, bool]] = set()
    for index, g in enumerate(groups):
        key = (g.role, g.name, g.kind == "observed")
        if key in seen:
            raise InputError(f"channels[{index}]: {g.role} {g.kind} {g.name!r} is listed twice")
        seen.add(key)
    for index, g in enumerate(groups):
        if g.kind == "observed" and (g.role, g.name, False) not in seen:
            raise InputError(
                f"channels[{index}]: observed {g.name!r} names no numeric or categorical "
                f"{g.role} column (its values' group must have the same name and role)"
            )
    return groups


def _observed_of(groups: list[ChannelGroup]) -> dict[tuple[str, str], ChannelGroup]:
    return {(g.role, g.name): g for g in groups if g.kind == "observed"}


def channel_slices(groups: list[ChannelGroup]) -> dict[str, object]:
    """Where the parts of a packed tensor lie.

    Args:
        groups: as :func:`check_channels` returns them.

    Returns:
        ``static`` (a slice over the static channels), ``series`` (over the series channels,
        the present flag included), ``present`` (the present channel's index) and
        ``observed`` (a dict ``(role, name) -> ChannelGroup`` of the observed flags).
    """
    static_width = sum(g.width for g in groups if g.role == "static")
    return {
        "static": slice(0, static_width),
        "series": slice(static_width, groups[-1].stop),
        "present": groups[-1].start,
        "observed": _observed_of(groups),
    }


def lengths(x: torch.Tensor, groups: list[ChannelGroup]) -> torch.Tensor:
    """Each entity's length: its steps whose present flag is above 0.5.

    Args:
        x: packed ``(batch, seq_len, C)``.
        groups: as :func:`check_channels` returns them.

    Returns:
        Integer lengths ``(batch,)``.
    """
    return (x[..., groups[-1].start] > 0.5).sum(dim=1)


def harden(x: torch.Tensor, groups: list[ChannelGroup]) -> torch.Tensor:
    """Soft packed values (a generator's output) snapped to the data's hard values.

    The present flag becomes 1 on the steps before its first value <= 0.5 and 0 after;
    observed flags become ``> 0.5``; a categorical group becomes the one-hot of its largest
    value; a value whose observed flag is 0 becomes 0, and every series channel is 0 on
    padding. Numeric values are kept. Hard data passes through unchanged.

    Args:
        x: packed ``(batch, seq_len, C)``.
        groups: as :func:`check_channels` returns them.

    Returns:
        A new tensor of the same shape.
    """
    out = x.detach().clone()
    present_index = groups[-1].start
    present = (out[..., present_index] > 0.5).float().cummin(dim=1).values
    out[..., present_index] = present
    for g in groups:
        if g.kind == "observed":
            out[..., g.slice] = (out[..., g.slice] > 0.5).float()
        elif g.kind == "categorical":
            hot = out[..., g.slice].argmax(dim=-1)
            out[..., g.slice] = torch.nn.functional.one_hot(hot, g.width).to(out.dtype)
    observed = _observed_of(groups)
    for g in groups:
        if g.kind in ("numeric", "categorical") and (g.role, g.name) in observed:
            out[..., g.slice] *= out[..., observed[(g.role, g.name)].slice]
    series = channel_slices(groups)["series"]
    out[..., series] *= present.unsqueeze(-1)
    return out

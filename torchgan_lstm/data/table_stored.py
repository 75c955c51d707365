"""A table codec read from a file (a checkpoint's ``data_info["table"]``) is untrusted data: its
every part is checked for kind and type before anything decodes with it."""

from __future__ import annotations

import math
from numbers import Real

from .._validation import InputError

__all__ = ["check_stored_codec"]

_PLAIN = (str, int, float, bool)


def _number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _plain_list(value: object, minimum: int = 0) -> bool:
    return (
        isinstance(value, list)
        and len(value) >= minimum
        and all(isinstance(v, _PLAIN) for v in value)
    )


def _spec_problem(spec: object) -> str | None:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        return "a column without a name"
    name = spec["name"]
    if spec.get("role") not in ("static", "series") or not isinstance(spec.get("dtype"), str):
        return f"column {name!r} has no role or dtype"
    if not isinstance(spec.get("observed"), bool):
        return f"column {name!r} has no observed flag"
    kind = spec.get("kind")
    if kind == "numeric":
        ok = _number(spec.get("min")) and _number(spec.get("max"))
        ok = ok and spec["min"] <= spec["max"] and isinstance(spec.get("integer"), bool)
        return None if ok else f"numeric column {name!r} has no finite min <= max"
    if kind == "categorical":
        ok = _plain_list(spec.get("categories"), minimum=2)
        return None if ok else f"categorical column {name!r} has fewer than 2 plain categories"
    if kind == "constant":
        value = spec.get("value")
        return None if value is None or isinstance(value, _PLAIN) else f"{name!r}: bad value"
    return f"column {name!r} has kind {kind!r}"


def _part_problem(data: dict) -> str | None:
    if not _plain_list(data["columns"], minimum=1) or not isinstance(data["source"], str):
        return "columns must be a list of names"
    if isinstance(data["seq_len"], bool) or not isinstance(data["seq_len"], int):
        return "seq_len must be an integer"
    ident = data["id"]
    if not (
        isinstance(ident, dict)
        and isinstance(ident.get("name"), str)
        and isinstance(ident.get("dtype"), str)
        and isinstance(ident.get("added"), bool)
    ):
        return "id must name a column and its dtype"
    time = data["time"]
    if time is not None and not (
        isinstance(time, dict)
        and isinstance(time.get("name"), str)
        and isinstance(time.get("dtype"), str)
        and time.get("kind") in ("datetime", "numeric")
        and _plain_list(time.get("starts"), minimum=1)
        and _number(time.get("interval"))
    ):
        return "time must name a column, its kind, start times and an interval"
    label = data["label"]
    if label is not None and not (
        isinstance(label, dict)
        and isinstance(label.get("name"), str)
        and isinstance(label.get("dtype"), str)
        and _plain_list(label.get("classes"), minimum=1)
    ):
        return "label must name a column, its dtype and its classes"
    return None


def check_stored_codec(data: object, where: str, groups) -> None:
    """Check a stored codec's parts, and that its channels are the ones its columns make.

    Args:
        data: the stored mapping (see :meth:`~torchgan_lstm.data.table_codec.TableCodec.to_dict`).
        where: names the file, for messages.
        groups: maps a column spec to its channel groups (the codec's own rule).

    Raises:
        InputError: a part of the wrong kind or type; the message names ``where`` and the part.
    """
    problem = _part_problem(data)
    specs = data["specs"]
    if problem is None and not isinstance(specs, list):
        problem = "specs must be a list"
    for spec in specs if problem is None else []:
        problem = problem or _spec_problem(spec)
    if problem is None:
        expected = [g for spec in specs for g in groups(spec)]
        expected.append({"name": "__present__", "kind": "present", "role": "series", "width": 1})
        if data["channels"] != expected:
            problem = "channels do not match the columns"
    if problem:
        raise InputError(f"{where} is malformed: {problem}")

"""What ``sample`` does with a generator trained on a table: entities generated in batches and
written back as the user's long table (CSV or Parquet), optionally for given labels."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .._random import forked_rng
from .._validation import InputError, check_int
from ..data import TableCodec, read_table, write_table
from ..data.tables import TABLE_SUFFIXES
from .output_paths import check_output_file
from .samples import check_finite_samples

__all__ = ["generate_table", "given_labels", "read_given", "sample_table"]


def generate_table(
    generator: torch.nn.Module,
    codec: TableCodec,
    n: int,
    seed: int = 0,
    seq_len: int | None = None,
    labels: np.ndarray | None = None,
    static: np.ndarray | None = None,
) -> pd.DataFrame:
    """Generate ``n`` entities and decode them as the user's long table.

    Args:
        generator: a trained generator of the table's packed channels.
        codec: the table's codec (a run's ``data_info["table"]``, or ``dataset.codec``).
        n: entities to generate.
        seed: seeds the noise and the start times (the caller's random state is left alone).
        seq_len: roll-out length (default: the training length).
        labels: ``(n,)`` class indices to condition a conditional generator on (default:
            drawn by the generator's ``sampler``).
        static: ``(n, static_width)`` packed static attributes to generate the series for
            (:meth:`~torchgan_lstm.data.TableCodec.encode_static`); needs a generator whose
            ``forward`` takes ``static``.

    Returns:
        The long table, new entity ids ``0 .. n - 1`` (or ``generated-k`` for text ids).

    Raises:
        InputError: ``n`` out of range, labels for an unconditional generator, or non-finite
            generated values.
    """
    from .commands import CHUNK

    check_int("n", n)
    device = next(generator.parameters()).device
    extra = {} if seq_len is None else {"seq_len": seq_len}
    if labels is not None and getattr(generator, "num_classes", None) is None:
        raise InputError("labels were given, but this generator is not conditional")
    if static is not None and "static" not in inspect.signature(generator.forward).parameters:
        raise InputError(
            f"static attributes were given, but {type(generator).__name__} cannot take them; "
            f"train with a table generator (e.g. TableSequenceGenerator)"
        )
    parts = []
    with forked_rng(device, seed), torch.no_grad():
        for start in range(0, n, CHUNK):
            size = min(CHUNK, n - start)
            inputs = list(generator.sampler(size, device, **extra))
            if labels is not None:
                inputs[1] = torch.as_tensor(labels[start : start + size], device=device)
            given = {}
            if static is not None:
                given["static"] = torch.as_tensor(static[start : start + size], device=device)
            packed = generator(*inputs, **given).cpu()
            check_finite_samples(packed, f"entities {start}-{start + size - 1}")
            drawn = inputs[1].cpu().numpy() if len(inputs) > 1 else None
            parts.append(codec.decode(packed.numpy(), drawn, seed=seed + start, first_id=start))
    return pd.concat(parts, ignore_index=True)


def read_given(path: str | Path, codec: TableCodec) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A ``--given`` table (one row per entity to generate) as labels and static attributes.

    Returns:
        ``(labels (rows,) or None, packed static attributes (rows, static_width) or None)``:
        labels when the run has a label column, static attributes when it has static columns
        that take channels and the file holds any of them.

    Raises:
        InputError: an empty file, one holding neither the label nor a static column, a class
            or attribute the training table did not have (the message names the file and row).
    """
    where = f"--given {str(path)!r}"
    table = read_table(path)
    statics = [s["name"] for s in codec.specs if s["role"] == "static" and s["kind"] != "constant"]
    label = codec.label["name"] if codec.label else None
    if len(table) == 0 or not ({label, *statics} & set(table.columns)):
        wanted = (
            ", ".join(repr(c) for c in [label, *statics] if c)
            or "nothing (no label or static column)"
        )
        raise InputError(f"{where} must hold one row per entity with its {wanted}")
    static = codec.encode_static(table, where) if set(statics) & set(table.columns) else None
    return (given_labels(table, codec, where) if label in table.columns else None), static


def given_labels(table: pd.DataFrame, codec: TableCodec, where: str) -> np.ndarray:
    """The class index of every row of a given table's label column.

    Raises:
        InputError: a row names a class the training table did not have.
    """
    name = codec.label["name"]
    classes = codec.label["classes"]
    index = {str(v): k for k, v in enumerate(classes)}
    codes = []
    for row, value in enumerate(table[name].tolist()):
        if str(value) not in index:
            raise InputError(
                f"{where}, row {row + 1}: {name}={value!r} is not a class of the training table "
                f"({', '.join(map(str, classes))})"
            )
        codes.append(index[str(value)])
    return np.asarray(codes, np.int64)


def sample_table(args, generator, config, table_info: dict) -> None:
    """``torchgan-lstm sample`` of a run trained on a table: ``--n`` entities (or one per row of
    ``--given``) written to ``--out`` (``.csv`` or ``.parquet``) in the table's own layout.

    Raises:
        InputError: a bad option or output path, a bad ``--given`` table, or non-finite values.
    """
    codec = TableCodec.from_dict(table_info, f"checkpoint {str(args.checkpoint)!r}: table")
    out = Path(args.out)
    if out.suffix.lower() not in TABLE_SUFFIXES or args.format not in (None, "csv", "parquet"):
        raise InputError(
            f"the checkpoint was trained on a table: --out must end in .csv or .parquet, got "
            f"{args.out!r}"
        )
    if args.singles:
        raise InputError("--singles is for image checkpoints; this one makes tables")
    out = check_output_file(out, "--out", args.overwrite)
    labels = static = None
    given = getattr(args, "given", None)
    if given is not None:
        labels, static = read_given(given, codec)
    n = args.n
    for part in (labels, static):
        n = len(part) if part is not None else n
    seq_len = None if args.seq_len is None else check_int("seq_len", args.seq_len, minimum=1)
    if "seq_len" not in inspect.signature(generator.sampler).parameters:
        seq_len = None
    frame = generate_table(generator, codec, n, args.seed, seq_len, labels, static)
    write_table(frame, out)
    print(f"wrote {n} entities ({len(frame)} rows) to {out}")

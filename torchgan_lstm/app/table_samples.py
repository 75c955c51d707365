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

__all__ = ["generate_table", "given_labels", "sample_table"]


def generate_table(
    generator: torch.nn.Module,
    codec: TableCodec,
    n: int,
    seed: int = 0,
    seq_len: int | None = None,
    labels: np.ndarray | None = None,
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
    parts = []
    with forked_rng(device, seed), torch.no_grad():
        for start in range(0, n, CHUNK):
            size = min(CHUNK, n - start)
            inputs = list(generator.sampler(size, device, **extra))
            if labels is not None:
                inputs[1] = torch.as_tensor(labels[start : start + size], device=device)
            packed = generator(*inputs).cpu()
            check_finite_samples(packed, f"entities {start}-{start + size - 1}")
            drawn = inputs[1].cpu().numpy() if len(inputs) > 1 else None
            parts.append(codec.decode(packed.numpy(), drawn, seed=seed + start, first_id=start))
    return pd.concat(parts, ignore_index=True)


def given_labels(path: str | Path, codec: TableCodec) -> np.ndarray:
    """The class index of every row of a ``--given`` table (one row per entity to generate).

    Raises:
        InputError: the run has no label column, the file lacks it, or a row names a class the
            training table did not have (the message names the file, row and the classes).
    """
    table = read_table(path)
    if codec.label is None:
        raise InputError(
            f"--given {str(path)!r}: this run was trained without a label column (data.label), "
            f"so there is nothing to give; static attributes need a generator that takes them"
        )
    name = codec.label["name"]
    if name not in table.columns or len(table) == 0:
        raise InputError(
            f"--given {str(path)!r} must hold the label column {name!r}, one row per entity"
        )
    classes = codec.label["classes"]
    index = {str(v): k for k, v in enumerate(classes)}
    codes = []
    for row, value in enumerate(table[name].tolist()):
        if str(value) not in index:
            raise InputError(
                f"--given {str(path)!r}, row {row + 1}: {name}={value!r} is not a class of the "
                f"training table ({', '.join(map(str, classes))})"
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
    labels = None
    given = getattr(args, "given", None)
    if given is not None:
        labels = given_labels(given, codec)
    n = len(labels) if labels is not None else args.n
    seq_len = None if args.seq_len is None else check_int("seq_len", args.seq_len, minimum=1)
    if "seq_len" not in inspect.signature(generator.sampler).parameters:
        seq_len = None
    frame = generate_table(generator, codec, n, args.seed, seq_len, labels)
    write_table(frame, out)
    print(f"wrote {n} entities ({len(frame)} rows) to {out}")

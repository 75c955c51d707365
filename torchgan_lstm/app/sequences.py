"""What ``sample`` and ``evaluate`` do with a sequence generator: roll-outs written in the data's
own units (``.npy`` / ``.csv``), and TimeGAN's protocol scores of a trained generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._random import forked_rng
from .._validation import InputError, check_int
from .resources import check_rollout_memory
from .samples import check_finite_samples

__all__ = ["SEQUENCE_FORMATS", "evaluate_sequence_generator", "write_sequence_samples"]

SEQUENCE_FORMATS = ("npy", "csv")


def write_sequence_samples(
    generator: torch.nn.Module,
    out: str | Path,
    n: int,
    seed: int,
    seq_len: int | None = None,
    fmt: str | None = None,
    data_info: dict | None = None,
) -> np.ndarray:
    """Generate ``n`` sequences and write them to ``out``, in the data's units where known.

    Args:
        generator: a trained sequence generator (``sampler(n, device, seq_len=...)``).
        out: ``.npy`` (an array ``(n, seq_len, features)``) or ``.csv`` (one row per sequence
            and step: ``sequence, step, <feature names>``).
        n: number of sequences.
        seed: seed of the noise (the caller's random state is left alone).
        seq_len: roll-out length (default: the training length).
        fmt: ``"npy"`` or ``"csv"``; default: ``out``'s suffix.
        data_info: the run's data facts (``scaler_min``, ``scaler_max``, ``feature_names``);
            without them the values stay in the model's [0, 1] range.

    Returns:
        The array written.

    Raises:
        InputError: an unknown format, ``n`` or ``seq_len`` out of range or too large for
            this machine's memory, or the generator produced NaN or infinite values (nothing is
            written).
    """
    out = Path(out)
    fmt = fmt or out.suffix.lower().lstrip(".")
    if fmt not in SEQUENCE_FORMATS:
        raise InputError(
            f"the checkpoint makes sequences: --out must end in .npy or .csv (or --format "
            f"npy|csv), got {str(out)!r}"
        )
    check_int("n", n)
    if seq_len is not None:
        check_int("seq_len", seq_len, minimum=1)
    check_rollout_memory(generator, n, seq_len)
    info = data_info or {}
    device = next(generator.parameters()).device
    with forked_rng(device, seed), torch.no_grad():
        fake = generator(*generator.sampler(n, device, seq_len=seq_len)).cpu().numpy()
    if info:  # back to the data's own units
        low, high = np.asarray(info["scaler_min"]), np.asarray(info["scaler_max"])
        fake = fake * np.where(high > low, high - low, 1.0) + low
    check_finite_samples(fake, "the generated sequences")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "npy":
        np.save(out, fake)
    else:
        names = info.get("feature_names") or [f"feature {k}" for k in range(fake.shape[2])]
        lines = [",".join(["sequence", "step", *names])]
        lines += [
            ",".join([str(i), str(t), *(repr(float(v)) for v in fake[i, t])])
            for i in range(fake.shape[0])
            for t in range(fake.shape[1])
        ]
        out.write_text("\n".join(lines) + "\n")
    return fake


def evaluate_sequence_generator(
    generator: torch.nn.Module,
    real: torch.Tensor,
    device: torch.device,
    runs: int,
    seed: int,
) -> dict:
    """TimeGAN's discriminative and predictive scores and Diffusion-TS's correlational score of
    ``generator`` against ``real`` (as many generated sequences as real ones), each the mean
    over ``runs`` metric runs with its spread (``{"mean", "sd", "scores"}``).

    Raises:
        InputError: ``runs`` is not a positive integer.
    """
    from ..metrics import CorrelationalScore, DiscriminativeScore, PredictiveScore

    check_int("runs", runs)
    results = {}
    for name, cls in (
        ("discriminative_score", DiscriminativeScore),
        ("predictive_score", PredictiveScore),
        ("correlational_score", CorrelationalScore),
    ):
        metric = cls(real, runs=runs, seed=seed)
        metric.metric_ops(generator, device)
        results[name] = metric.last_spread.as_dict()
    results["sequences"] = len(real)
    return results

"""What ``sample`` and ``evaluate`` do with a sequence generator: roll-outs written in the data's
own units (``.npy`` / ``.csv``), and TimeGAN's protocol scores of a trained generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._validation import InputError, check_int
from .resources import check_rollout_memory
from .samples import check_finite_samples

__all__ = [
    "SEQUENCE_FORMATS",
    "SequenceWriter",
    "evaluate_sequence_generator",
    "plot_options",
    "spread_sequences",
    "write_sequence_samples",
]

SEQUENCE_FORMATS = ("npy", "csv")


def write_sequence_samples(
    generator: torch.nn.Module,
    out: str | Path,
    n: int,
    seed: int,
    seq_len: int | None = None,
    fmt: str | None = None,
    data_info: dict | None = None,
) -> tuple[int, int, int]:
    """Generate ``n`` sequences and write them to ``out``, in the data's units where known.

    They are generated and written in batches (:data:`~torchgan_lstm.app.commands.CHUNK`), so
    memory stays bounded for any ``n``.

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
        The shape written, ``(n, seq_len, features)``.

    Raises:
        InputError: an unknown format, ``n`` or ``seq_len`` out of range or too large for
            this machine's memory, or the generator produced NaN or infinite values.
    """
    from .commands import CHUNK, generated_batches

    out = Path(out)
    fmt = fmt or out.suffix.lower().lstrip(".")
    if fmt not in SEQUENCE_FORMATS:
        raise InputError(f"format must be one of {SEQUENCE_FORMATS}, got {fmt!r} ({str(out)!r})")
    check_int("n", n)
    steps = generator.seq_len if seq_len is None else check_int("seq_len", seq_len)
    check_rollout_memory(generator, min(n, CHUNK), steps)
    shape = (n, steps, generator.features)
    with SequenceWriter(out, fmt, shape, data_info) as writer:
        for batch in generated_batches(generator, n, seed, seq_len=seq_len):
            writer.write(batch.numpy())
    return shape


class SequenceWriter:
    """Writes generated sequences batch by batch to ``.npy`` (a memory map) or ``.csv``, in the
    data's units where ``data_info`` gives its scaling.

    Args:
        out: the file (missing parent folders are created).
        fmt: ``"npy"`` or ``"csv"``.
        shape: ``(n, seq_len, features)`` of everything that will be written.
        data_info: ``{"scaler_min", "scaler_max", "feature_names"}`` or ``None``/``{}``.
    """

    def __init__(self, out: Path, fmt: str, shape: tuple[int, int, int], data_info: dict | None):
        self.out, self.fmt, self.shape = Path(out), fmt, shape
        info = data_info or {}
        self._scale = None
        if info:
            low, high = np.asarray(info["scaler_min"]), np.asarray(info["scaler_max"])
            self._scale = (np.where(high > low, high - low, 1.0), low)
        self.names = info.get("feature_names") or [f"feature {k}" for k in range(shape[2])]
        self._written = 0
        self._file = None

    def bytes_estimate(self) -> int:
        """About how many bytes the file will take."""
        n, steps, features = self.shape
        if self.fmt == "npy":
            return n * steps * features * (8 if self._scale else 4) + 128
        return n * steps * (16 + 25 * features)

    def __enter__(self) -> SequenceWriter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt == "npy":
            dtype = np.float64 if self._scale else np.float32
            self._file = np.lib.format.open_memmap(self.out, "w+", dtype, self.shape)
        else:
            self._file = self.out.open("w")
            self._file.write(",".join(["sequence", "step", *self.names]) + "\n")
        return self

    def write(self, batch: np.ndarray) -> None:
        """Append the next ``(batch, seq_len, features)`` sequences."""
        if self._scale is not None:
            batch = batch * self._scale[0] + self._scale[1]
            check_finite_samples(batch, "the sequences in the data's units")
        first = self._written
        if self.fmt == "npy":
            self._file[first : first + len(batch)] = batch
        else:
            self._file.writelines(
                ",".join([str(first + i), str(t), *(repr(float(v)) for v in batch[i, t])]) + "\n"
                for i in range(batch.shape[0])
                for t in range(batch.shape[1])
            )
        self._written += len(batch)

    def __exit__(self, *exc) -> None:
        if self.fmt == "npy":
            self._file.flush()
            del self._file
        else:
            self._file.close()
        self._file = None


def evaluate_sequence_generator(
    generator: torch.nn.Module,
    real: torch.Tensor,
    device: torch.device,
    runs: int,
    seed: int,
    context_fid_iterations: int | None = None,
    posthoc_iterations: int | None = None,
) -> dict:
    """TimeGAN's discriminative and predictive scores, Diffusion-TS's correlational score and
    context-FID of ``generator`` against ``real`` (as many generated sequences as real ones),
    each the mean over ``runs`` metric runs with its spread (``{"mean", "sd", "scores"}``).

    Args:
        generator: a sequence generator.
        real: ``(N, seq_len, features)`` in the generator's scale.
        device: where the generator runs.
        runs: metric runs per score.
        seed: the first metric run's seed.
        context_fid_iterations: the TS2Vec encoder's training steps per context-FID run;
            ``None``: TS2Vec's default (as Diffusion-TS).
        posthoc_iterations: training iterations of the discriminative score's classifier and
            the predictive score's predictor; ``None``: TimeGAN's 2,000 and 5,000.

    Raises:
        InputError: ``runs`` is not a positive integer.
    """
    from ..metrics import ContextFID, CorrelationalScore, DiscriminativeScore, PredictiveScore

    check_int("runs", runs)
    posthoc = posthoc_iterations
    results = {}
    for name, metric in (
        ("discriminative_score", DiscriminativeScore(real, runs, seed, iterations=posthoc)),
        ("predictive_score", PredictiveScore(real, runs, seed, iterations=posthoc)),
        ("correlational_score", CorrelationalScore(real, runs=runs, seed=seed)),
        ("context_fid", ContextFID(real, runs, seed, iterations=context_fid_iterations)),
    ):
        metric.metric_ops(generator, device)
        results[name] = metric.last_spread.as_dict()
    results["sequences"] = len(real)
    return results


def spread_sequences(dataset, n: int) -> torch.Tensor:
    """``min(n, len(dataset))`` of the dataset's sequences at evenly spaced indices, so that the
    real side of a plot spans the whole data (neighbouring stride-1 windows are near copies)."""
    count = min(n, len(dataset.sequences))
    return dataset.sequences[np.linspace(0, len(dataset.sequences) - 1, count).round().astype(int)]


def plot_options(dataset, reference: int = 1000) -> dict:
    """:class:`~torchgan_lstm.trainer.SequenceVisualize`'s options for a sequence dataset: its
    column names, its units (a table's packed channels stay scaled), and ``reference`` real
    sequences spread over the data for the PCA picture drawn with every evaluation."""
    if getattr(dataset, "codec", None) is not None:
        to_data_units, value_label = None, "packed, scaled"
    else:
        to_data_units, value_label = dataset.scaler.inverse_transform, "data units"
    return {
        "feature_names": list(dataset.feature_names),
        "to_data_units": to_data_units,
        "value_label": value_label,
        "reference": spread_sequences(dataset, reference) if reference else None,
    }

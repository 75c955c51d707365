"""Scores of generated time series against real ones, as defined by the papers that use them.

- :func:`discriminative_score` (TimeGAN, Yoon et al., 2019): train a post-hoc GRU classifier to
  tell real from generated sequences (80% of each set), report ``|accuracy - 0.5|`` on the
  held-out 20%. 0 is best.
- :func:`predictive_score` (TimeGAN): train a post-hoc GRU on the generated sequences to
  predict the next step's last feature from the other features, report its mean absolute
  error on the real sequences ("train on synthetic, test on real"). Lower is better; the
  error of a model trained on real data is the reference.
- :func:`correlational_score` (Diffusion-TS, Yuan & Qiao, 2024): L1 distance between the
  cross-correlation matrices of the features, real against generated, divided by 10.
- :func:`sequence_frechet_distance`: Fréchet distance between Gaussians fitted to the whole
  sequences (flattened to ``seq_len * features`` values): their means and covariances over
  time and features.

The post-hoc networks follow TimeGAN's code: one GRU layer of ``features // 2`` units, Adam at
its default rate, 2,000 (discriminative) or 5,000 (predictive) iterations of 128 sequences.
Their scores vary with the network's initialisation and batches; :func:`score_spread` repeats
a score with several seeds and reports mean and standard deviation, as the papers do.

The same scores as TorchGAN ``EvaluationMetric`` objects are in :mod:`.sequence`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._random import forked_rng
from .._validation import InputError, check_fraction, check_int
from .base import _device_name
from .frechet import feature_statistics, frechet_distance

__all__ = [
    "ScoreSpread",
    "correlational_score",
    "discriminative_score",
    "predictive_score",
    "score_spread",
    "sequence_frechet_distance",
]

SequenceArray = torch.Tensor | np.ndarray


def _as_sequences(name: str, x: SequenceArray, minimum: int = 2) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name} must be a tensor or array (N, seq_len, features), got {x!r}")
    if x.dim() != 3 or x.size(0) < minimum or x.size(1) < 2:
        raise InputError(
            f"{name} must have shape (N, seq_len, features) with N >= {minimum} and "
            f"seq_len >= 2, got {tuple(x.shape)}"
        )
    x = x.detach().float()
    if not torch.isfinite(x).all():
        raise InputError(f"{name} must be finite, got NaN or infinity")
    return x


def _pair(real: SequenceArray, fake: SequenceArray, minimum: int = 2):
    real, fake = _as_sequences("real", real, minimum), _as_sequences("fake", fake, minimum)
    if real.shape[1:] != fake.shape[1:]:
        raise InputError(
            f"real and fake must have the same (seq_len, features), got {tuple(real.shape)} "
            f"and {tuple(fake.shape)}"
        )
    return real, fake


class _PostHocGRU(nn.Module):
    """TimeGAN's post-hoc network: one GRU layer and a linear read-out."""

    def __init__(self, in_features: int, hidden_size: int):
        super().__init__()
        self.gru = nn.GRU(in_features, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-step outputs ``(batch, steps)`` and last-step output ``(batch,)``, linear."""
        out, last = self.gru(x)
        return self.readout(out).squeeze(2), self.readout(last[-1]).squeeze(1)


def _hidden_size(features: int) -> int:
    return max(1, features // 2)  # TimeGAN: int(dim / 2)


def _batch(data: torch.Tensor, batch_size: int) -> torch.Tensor:
    # TimeGAN's batch_generator: a fresh permutation, its first batch_size sequences.
    return data[torch.randperm(len(data), device=data.device)[:batch_size]]


def discriminative_score(
    real: SequenceArray,
    fake: SequenceArray,
    iterations: int = 2000,
    batch_size: int = 128,
    train_fraction: float = 0.8,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> float:
    """TimeGAN's discriminative score: ``|accuracy - 0.5|`` of a post-hoc real/fake classifier.

    Both sets are split at random, ``train_fraction`` to train the classifier and the rest to
    test it. Each iteration trains on ``batch_size`` sequences of each set (binary cross
    entropy); the accuracy is that of thresholding the held-out sequences' probabilities at 0.5.

    Args:
        real: ``(N, seq_len, features)``, ``N >= 2``.
        fake: ``(M, seq_len, features)``, ``M >= 2``.
        iterations: training iterations (TimeGAN: 2,000).
        batch_size: sequences of each set per iteration (TimeGAN: 128).
        train_fraction: share of each set used for training, in ``(0, 1)`` (TimeGAN: 0.8).
        seed: seeds the split, the initialisation and the batches; the caller's random state
            is left unchanged.
        device: where to train; ``None``: the CPU (the network is tiny).

    Returns:
        The score in ``[0, 0.5]``; 0 means the classifier cannot tell the sets apart.

    Raises:
        ValueError: the sets are not 3-D with at least 2 sequences and the same
            ``(seq_len, features)``, hold NaN, or an argument is out of range.
    """
    real, fake = _pair(real, fake)
    check_int("iterations", iterations)
    check_int("batch_size", batch_size)
    if not 0 < check_fraction("train_fraction", train_fraction) < 1:
        raise InputError(f"train_fraction must be in (0, 1), got {train_fraction}")
    device = torch.device(_device_name(device) or "cpu")
    with forked_rng(device, seed):
        splits = []
        for data in (real.to(device), fake.to(device)):
            order = torch.randperm(len(data), device=device)
            cut = min(max(1, int(len(data) * train_fraction)), len(data) - 1)
            splits.append((data[order[:cut]], data[order[cut:]]))
        (train_real, test_real), (train_fake, test_fake) = splits
        model = _PostHocGRU(real.size(2), _hidden_size(real.size(2))).to(device)
        optimizer = torch.optim.Adam(model.parameters())
        for _ in range(iterations):
            batch_real, batch_fake = _batch(train_real, batch_size), _batch(train_fake, batch_size)
            # One call for both sets (half the per-step overhead); the loss keeps TimeGAN's sum
            # of the two sets' mean cross entropies.
            _, logits = model(torch.cat([batch_real, batch_fake]))
            targets = torch.cat([torch.ones(len(batch_real)), torch.zeros(len(batch_fake))])
            losses = F.binary_cross_entropy_with_logits(
                logits, targets.to(device), reduction="none"
            )
            loss = losses[: len(batch_real)].mean() + losses[len(batch_real) :].mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            correct = (model(test_real)[1] > 0).sum() + (model(test_fake)[1] <= 0).sum()
    accuracy = correct.item() / (len(test_real) + len(test_fake))
    return abs(accuracy - 0.5)


def predictive_score(
    real: SequenceArray,
    fake: SequenceArray,
    iterations: int = 5000,
    batch_size: int = 128,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> float:
    """TimeGAN's predictive score: train on generated, test on real, one step ahead.

    A post-hoc GRU reads the first ``features - 1`` features of steps ``0 .. seq_len - 2`` and
    predicts, at each step, the last feature of the next step (through a sigmoid: the data are
    scaled to ``[0, 1]``). It trains on ``fake`` (mean absolute error, ``iterations`` batches
    of ``batch_size``) and is scored on all of ``real``.

    Args:
        real: ``(N, seq_len, features)``, ``features >= 2``.
        fake: ``(M, seq_len, features)``; pass ``real`` itself for the reference value of a
            model trained on real data.
        iterations: training iterations (TimeGAN: 5,000).
        batch_size: sequences per iteration (TimeGAN: 128).
        seed: seeds the initialisation and the batches; the caller's random state is left
            unchanged.
        device: where to train; ``None``: the CPU.

    Returns:
        The mean absolute error of the predictions on ``real``; lower is better.

    Raises:
        ValueError: as :func:`discriminative_score`, or fewer than 2 features.
    """
    real, fake = _pair(real, fake, minimum=1)
    if real.size(2) < 2:
        raise InputError(
            f"predictive_score predicts the last feature from the others, so it needs >= 2 "
            f"features, got {real.size(2)}"
        )
    check_int("iterations", iterations)
    check_int("batch_size", batch_size)
    device = torch.device(_device_name(device) or "cpu")
    features = real.size(2)
    with forked_rng(device, seed):
        model = _PostHocGRU(features - 1, _hidden_size(features)).to(device)
        optimizer = torch.optim.Adam(model.parameters())
        fake = fake.to(device)
        for _ in range(iterations):
            batch = _batch(fake, batch_size)
            prediction = torch.sigmoid(model(batch[:, :-1, :-1])[0])
            loss = F.l1_loss(prediction, batch[:, 1:, -1])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            real = real.to(device)
            prediction = torch.sigmoid(model(real[:, :-1, :-1])[0])
            error = (prediction - real[:, 1:, -1]).abs().mean()
    return error.item()


def _cross_correlation(x: torch.Tensor) -> torch.Tensor:
    # Diffusion-TS's cacf at lag 0: each feature standardised over all sequences and steps,
    # the products of every pair (lower triangle with the diagonal) averaged.
    x = x.double()
    std = x.std(dim=(0, 1), keepdim=True)
    x = (x - x.mean(dim=(0, 1), keepdim=True)) / torch.where(std > 0, std, torch.ones_like(std))
    rows, cols = torch.tril_indices(x.size(2), x.size(2))
    return (x[..., rows] * x[..., cols]).mean(dim=(0, 1))


def correlational_score(real: SequenceArray, fake: SequenceArray) -> float:
    """Diffusion-TS's correlational score: ``sum |corr(real) - corr(fake)| / 10``.

    ``corr`` is the matrix of correlations between features (each standardised over all
    sequences and steps; lower triangle with the diagonal). A constant feature counts as
    standardised to 0.

    Args:
        real: ``(N, seq_len, features)``, ``N >= 2``.
        fake: ``(M, seq_len, features)``, ``M >= 2``.

    Returns:
        The score, ``>= 0``; 0 means equal correlations.

    Raises:
        ValueError: the sets are not 3-D with at least 2 sequences and the same shape per
            sequence, or hold NaN.
    """
    real, fake = _pair(real, fake)
    difference = _cross_correlation(real) - _cross_correlation(fake)
    return difference.abs().sum().item() / 10


def sequence_frechet_distance(real: SequenceArray, fake: SequenceArray) -> float:
    """Fréchet distance between Gaussians fitted to whole sequences flattened to vectors.

    Args:
        real: ``(N, seq_len, features)``, ``N >= 2``.
        fake: ``(M, seq_len, features)``, ``M >= 2``.

    Returns:
        The distance, ``>= 0``; 0 for sets of equal means and covariances.

    Raises:
        ValueError: as :func:`correlational_score`.
    """
    real, fake = _pair(real, fake)
    return frechet_distance(
        *feature_statistics(real.flatten(1)), *feature_statistics(fake.flatten(1))
    )


@dataclass(frozen=True)
class ScoreSpread:
    """A score repeated with several seeds.

    Attributes:
        mean: the mean of ``scores``.
        sd: their sample standard deviation (0 for a single run).
        scores: each run's score, in seed order.
    """

    mean: float
    sd: float
    scores: tuple[float, ...]

    def as_dict(self) -> dict:
        """``{"mean": ..., "sd": ..., "scores": [...]}``, for JSON."""
        return {"mean": self.mean, "sd": self.sd, "scores": list(self.scores)}


def score_spread(score: Callable[[int], float], runs: int = 5, seed: int = 0) -> ScoreSpread:
    """Run ``score(seed)`` for ``runs`` consecutive seeds; mean and standard deviation.

    Args:
        score: a score as a function of a seed, e.g.
            ``lambda s: discriminative_score(real, fake, seed=s)``.
        runs: number of runs.
        seed: the first seed.

    Returns:
        The :class:`ScoreSpread`.

    Raises:
        ValueError: ``runs`` is not an integer >= 1.
    """
    scores = tuple(float(score(seed + i)) for i in range(check_int("runs", runs)))
    sd = statistics.stdev(scores) if len(scores) > 1 else 0.0
    return ScoreSpread(statistics.fmean(scores), sd, scores)

"""The time-series scores of :mod:`.sequence_scores` as TorchGAN ``EvaluationMetric`` objects for
the Trainer's ``metrics_list``: :class:`DiscriminativeScore`, :class:`PredictiveScore`,
:class:`CorrelationalScore`, :class:`SequenceFrechetDistance`. Each generates as many sequences
as its reference set holds and scores them; like the image metrics, it pickles only its
configuration into checkpoints.
"""

from __future__ import annotations

import torch
from torch import nn
from torchgan.metrics import EvaluationMetric

from .._random import forked_rng
from .._validation import InputError, check_int
from .base import ConfigPickled
from .sequence_scores import (
    ScoreSpread,
    SequenceArray,
    _as_sequences,
    _pair,
    correlational_score,
    discriminative_score,
    predictive_score,
    score_spread,
    sequence_frechet_distance,
)

__all__ = [
    "CorrelationalScore",
    "DiscriminativeScore",
    "PredictiveScore",
    "SequenceFrechetDistance",
    "SequenceMetric",
]


class SequenceMetric(ConfigPickled, EvaluationMetric):
    """Base of the TorchGAN metrics that score generated sequences against a real set.

    ``metric.metric_ops(generator, device)`` (called by the Trainer after every epoch, with its
    attributes of those names) draws as many sequences as ``real`` holds, ``chunk_size`` at a
    time, from a fork of the random state (evaluation does not change the noise the training
    steps after it draw), and scores them; ``metric(fake)`` scores given sequences. With
    ``runs > 1`` the score is the mean over ``runs`` seeds, and :attr:`last_spread` keeps the
    spread of the latest call. Only the configuration (``real`` included) is pickled.

    Subclasses implement :meth:`score` and name extra configuration in ``_config_names``.

    Args:
        real: the reference sequences ``(N, seq_len, features)``, scaled as the generator's
            output (``N >= 2``).
        runs: seeds each evaluation is repeated with.
        seed: the first seed.
        chunk_size: sequences generated per generator call.
    """

    _config_names: tuple[str, ...] = ("real", "runs", "seed", "chunk_size", "arg_map")

    def __init__(
        self, real: SequenceArray, runs: int = 1, seed: int = 0, chunk_size: int = 1000
    ) -> None:
        super().__init__()
        self.real = _as_sequences("real", real).cpu()
        self.runs = check_int("runs", runs)
        self.seed = check_int("seed", seed, minimum=0)
        self.chunk_size = check_int("chunk_size", chunk_size)
        self._reset_caches()

    def _reset_caches(self) -> None:
        self.last_spread: ScoreSpread | None = None

    def __repr__(self) -> str:
        config = ", ".join(
            f"{name}=<tensor {tuple(self.real.shape)}>" if name == "real" else f"{name}={value!r}"
            for name, value in ((n, getattr(self, n)) for n in self._config_names)
            if name != "arg_map"
        )
        return f"{type(self).__name__}({config})"

    def score(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> float:
        """The score of ``fake`` against ``real``, both ``(N, seq_len, features)`` on the CPU."""
        raise NotImplementedError

    def preprocess(self, x: SequenceArray) -> torch.Tensor:
        """Check generated sequences against the reference set's shape; on the CPU.

        Raises:
            ValueError: ``x`` is not ``(M, seq_len, features)`` like ``real``, or holds NaN.
        """
        return _pair(self.real, x)[1].cpu()

    def calculate_score(self, fake: torch.Tensor) -> float:
        """The mean score over ``runs`` seeds; the spread goes to :attr:`last_spread`."""
        self.last_spread = score_spread(
            lambda s: self.score(self.real, fake, s), self.runs, self.seed
        )
        return self.last_spread.mean

    def generate(self, generator: nn.Module, device: str | torch.device) -> torch.Tensor:
        """As many sequences as ``real`` holds, from ``generator.sampler`` (without gradients).

        Raises:
            TypeError: ``generator`` has no ``sampler`` method.
            ValueError: a generator call does not return sequences shaped like ``real``.
        """
        if not callable(getattr(generator, "sampler", None)):
            raise TypeError(
                f"generator must have a sampler(n, device) method returning its inputs, "
                f"got {type(generator).__name__} without one"
            )
        chunks, remaining = [], len(self.real)
        with torch.no_grad():
            while remaining > 0:
                n = min(self.chunk_size, remaining)
                fake = generator(*generator.sampler(n, device))
                expected = (n, *self.real.shape[1:])
                if not isinstance(fake, torch.Tensor) or tuple(fake.shape) != expected:
                    got = tuple(fake.shape) if isinstance(fake, torch.Tensor) else type(fake)
                    raise InputError(
                        f"generator must return sequences of shape {expected} for "
                        f"sampler({n}, device), like the reference set, got {got}"
                    )
                chunks.append(fake.detach().float().cpu())
                remaining -= n
        return torch.cat(chunks)

    def metric_ops(self, generator: nn.Module, device: str | torch.device) -> float:
        """Generate ``len(real)`` sequences and score them (TorchGAN calls this each epoch).

        Returns:
            The score (the mean over ``runs`` seeds) as a plain float.

        Raises:
            TypeError, ValueError: as :meth:`generate`.
        """
        device = torch.device(device)
        with forked_rng(device):
            fake = self.generate(generator, device)
        return self.calculate_score(self.preprocess(fake))


class _PostHocScore(SequenceMetric):
    """A score that trains a post-hoc network on the sets: its iterations and batch size."""

    _config_names = (*SequenceMetric._config_names, "iterations", "batch_size")
    default_iterations = 0

    def __init__(
        self,
        real: SequenceArray,
        runs: int = 1,
        seed: int = 0,
        chunk_size: int = 1000,
        iterations: int | None = None,
        batch_size: int = 128,
    ) -> None:
        super().__init__(real, runs, seed, chunk_size)
        self.iterations = check_int(
            "iterations", self.default_iterations if iterations is None else iterations
        )
        self.batch_size = check_int("batch_size", batch_size)


class DiscriminativeScore(_PostHocScore):
    """:func:`discriminative_score` as a TorchGAN metric (see :class:`SequenceMetric`).

    Args:
        real: as for :class:`SequenceMetric`.
        runs: as for :class:`SequenceMetric`.
        seed: as for :class:`SequenceMetric`.
        chunk_size: as for :class:`SequenceMetric`.
        iterations: post-hoc classifier iterations (``None``: TimeGAN's 2,000).
        batch_size: sequences of each set per iteration (TimeGAN: 128).
    """

    default_iterations = 2000

    def score(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> float:
        """:func:`discriminative_score` with this metric's settings."""
        return discriminative_score(real, fake, self.iterations, self.batch_size, seed=seed)


class PredictiveScore(_PostHocScore):
    """:func:`predictive_score` as a TorchGAN metric (see :class:`SequenceMetric`).

    Args:
        real: as for :class:`SequenceMetric`.
        runs: as for :class:`SequenceMetric`.
        seed: as for :class:`SequenceMetric`.
        chunk_size: as for :class:`SequenceMetric`.
        iterations: post-hoc predictor iterations (``None``: TimeGAN's 5,000).
        batch_size: sequences per iteration (TimeGAN: 128).
    """

    default_iterations = 5000

    def score(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> float:
        """:func:`predictive_score` with this metric's settings."""
        return predictive_score(real, fake, self.iterations, self.batch_size, seed=seed)


class CorrelationalScore(SequenceMetric):
    """:func:`correlational_score` as a TorchGAN metric (deterministic: ``runs`` repeats it)."""

    def score(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> float:
        """:func:`correlational_score`; ``seed`` is not used."""
        return correlational_score(real, fake)


class SequenceFrechetDistance(SequenceMetric):
    """:func:`sequence_frechet_distance` as a TorchGAN metric (deterministic)."""

    def score(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> float:
        """:func:`sequence_frechet_distance`; ``seed`` is not used."""
        return sequence_frechet_distance(real, fake)

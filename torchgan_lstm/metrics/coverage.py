"""Mode-collapse metrics from the classes the Fashion-MNIST classifier predicts for samples.

Both look only at the histogram of predicted classes over ``sample_size`` generated images:
:class:`ClassCoverage` counts the classes that get a fair share of the samples (10 is best;
1 is a generator stuck on one class), :class:`ClassImbalance` measures how far the histogram
is from uniform (0 is best; ``log(10)``, about 2.303 nats, is a single class).
"""

from __future__ import annotations

import torch

from .._validation import InputError
from .base import ClassifierMetric, SharedSamples
from .classifier import NUM_CLASSES, FashionClassifier

__all__ = ["ClassCoverage", "ClassImbalance"]


class _PredictedClassMetric(ClassifierMetric):
    """Shared part: classify samples, keep the histogram, score it in :meth:`score_histogram`."""

    def _reset_caches(self) -> None:
        super()._reset_caches()
        self.last_histogram: torch.Tensor | None = None

    def classifier_outputs(
        self, classifier: FashionClassifier, images: torch.Tensor
    ) -> torch.Tensor:
        """Predicted classes ``(B,)`` (int64, 0..9) of one chunk of images."""
        return classifier(images).argmax(dim=1)

    def calculate_score(self, outputs: torch.Tensor) -> float:
        """Score the predicted classes ``outputs`` ``(N,)``; also sets ``last_histogram``."""
        counts = torch.bincount(outputs, minlength=NUM_CLASSES).to(torch.float64)
        self.last_histogram = counts / counts.sum()
        return float(self.score_histogram(self.last_histogram))

    def score_histogram(self, shares: torch.Tensor) -> float:
        """The score of a histogram ``shares`` ``(10,)`` of predicted classes summing to 1."""
        raise NotImplementedError


class ClassCoverage(_PredictedClassMetric):
    """Number of Fashion-MNIST classes among generated images (0 to 10; higher is better).

    A class counts as covered when at least ``min_fraction`` of the samples are predicted as
    it. After each evaluation, ``last_histogram`` holds the share of samples predicted as each
    class, a float64 tensor ``(10,)`` summing to 1 (``None`` before the first evaluation and
    after loading from a checkpoint).

    A TorchGAN :class:`~torchgan.metrics.EvaluationMetric`: pass it in ``metrics_list``.

    Args:
        sample_size: number of images to generate per evaluation.
        batch_size: images generated and classified per chunk.
        device: where to run the classifier; ``None`` runs it where the generator runs.
        shared: see :class:`~torchgan_lstm.metrics.base.SharedSamples`.
        min_fraction: share of the samples, in ``(0, 1]``, a class needs to count as covered.
            The default 0.01 ignores the classifier's scattered mistakes (it is about 92%
            accurate) while still seeing a rare mode.

    Raises:
        ValueError: an argument is out of range; the message names it and its value.
    """

    _config_names = (*ClassifierMetric._config_names, "min_fraction")

    def __init__(
        self,
        sample_size: int = 5000,
        batch_size: int = 500,
        device: str | torch.device | None = None,
        shared: SharedSamples | None = None,
        min_fraction: float = 0.01,
    ) -> None:
        if isinstance(min_fraction, bool) or not isinstance(min_fraction, int | float):
            raise InputError(f"min_fraction must be a number in (0, 1], got {min_fraction!r}")
        if not 0.0 < min_fraction <= 1.0:
            raise InputError(f"min_fraction must be in (0, 1], got {min_fraction}")
        self.min_fraction = float(min_fraction)
        super().__init__(sample_size, batch_size, device, shared)

    def score_histogram(self, shares: torch.Tensor) -> float:
        """Number of classes whose share is at least ``min_fraction``."""
        return float((shares >= self.min_fraction).sum().item())


class ClassImbalance(_PredictedClassMetric):
    """KL divergence, in nats, of the predicted-class histogram from uniform (lower is better).

    ``KL(p || uniform) = sum_k p_k log(10 p_k) = log(10) - H(p)``: 0 when every class gets a
    tenth of the samples, ``log(10)`` (about 2.303) when all fall in one class. The real
    Fashion-MNIST test split scores near 0 (it is balanced and the classifier is accurate).
    ``last_histogram`` holds the histogram of the last evaluation, as for :class:`ClassCoverage`.

    A TorchGAN :class:`~torchgan.metrics.EvaluationMetric`: pass it in ``metrics_list``.

    Args:
        sample_size: number of images to generate per evaluation.
        batch_size: images generated and classified per chunk.
        device: where to run the classifier; ``None`` runs it where the generator runs.
        shared: see :class:`~torchgan_lstm.metrics.base.SharedSamples`.

    Raises:
        ValueError: an argument is out of range; the message names it and its value.
    """

    def score_histogram(self, shares: torch.Tensor) -> float:
        """``sum_k p_k log(10 p_k)`` over the classes with ``p_k > 0``."""
        present = shares[shares > 0]
        return float((present * (present * NUM_CLASSES).log()).sum().clamp_min(0.0).item())

"""Fréchet distance between Gaussians fitted to classifier features: FID with a Fashion-MNIST CNN.

:class:`FrechetClassifierDistance` is FID with the Fashion-MNIST classifier of
``classifier.py`` in place of Inception-v3: fit a Gaussian to the 128-d penultimate features of
real and of generated images, and report the Fréchet (2-Wasserstein) distance between them.
Lower is better; zero means identical feature statistics. Values are not comparable to
Inception FIDs.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from .._validation import InputError
from .base import ClassifierMetric, SharedSamples
from .classifier import FashionClassifier, check_images, fashion_mnist_tensor

__all__ = ["FrechetClassifierDistance", "feature_statistics", "frechet_distance"]


def feature_statistics(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a set of feature vectors, in float64.

    Args:
        features: ``(N, D)`` features, ``N >= 2``, all finite.

    Returns:
        ``(mu, sigma)``: the mean ``(D,)`` and the unbiased covariance ``(D, D)``
        (divided by ``N - 1``), both float64 numpy arrays.

    Raises:
        ValueError: ``features`` is not 2-D with at least 2 rows, or holds NaN or infinity.
    """
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise InputError(f"features must have shape (N, D) with N >= 2, got {features.shape}")
    if not np.isfinite(features).all():
        raise InputError("features must be finite, got NaN or infinity")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(
        features.shape[1], features.shape[1]
    )


def _zero_round_off(eigenvalues: np.ndarray) -> np.ndarray:
    # Eigenvalues of a PSD matrix below dim * eps * largest are round-off of true zeros (e.g.
    # from dead ReLU units) and may come out as +-1e-14. Left in, their square roots (1e-7
    # each) would swamp a small distance, so they are set to exactly 0 (numpy's rank cut-off).
    tol = max(float(eigenvalues.max()), 0.0) * len(eigenvalues) * np.finfo(np.float64).eps
    return np.where(eigenvalues > tol, eigenvalues, 0.0)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(_zero_round_off(eigenvalues))) @ eigenvectors.T


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Fréchet distance between the Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``|mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2))``, computed in
    float64 without scipy: the trace term is the sum of the square roots of the eigenvalues of
    the symmetric PSD matrix ``sqrt(sigma1) sigma2 sqrt(sigma1)``, which has the same
    eigenvalues as ``sigma1 sigma2``. Singular covariances (e.g. from dead ReLU units) need no
    regularising offset: eigenvalues at round-off level are taken as exact zeros.

    Args:
        mu1: mean ``(D,)`` of the first set.
        sigma1: covariance ``(D, D)`` of the first set, symmetric positive semi-definite.
        mu2: mean ``(D,)`` of the second set.
        sigma2: covariance ``(D, D)`` of the second set.

    Returns:
        The distance, a float ``>= 0`` (round-off below zero is clipped).

    Raises:
        ValueError: the shapes do not match ``(D,)`` and ``(D, D)`` with one ``D``, or an input
            holds NaN or infinity.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.ndim != 1 or mu1.shape[0] < 1:
        raise InputError(f"mu1 must have shape (D,) with D >= 1, got {mu1.shape}")
    dims = mu1.shape[0]
    for name, value, shape in (
        ("mu1", mu1, (dims,)),
        ("mu2", mu2, (dims,)),
        ("sigma1", sigma1, (dims, dims)),
        ("sigma2", sigma2, (dims, dims)),
    ):
        if value.shape != shape:
            raise InputError(
                f"{name} must have shape {shape} to match mu1 of shape {mu1.shape} "
                f"(means (D,), covariances (D, D)), got {value.shape}"
            )
        if not np.isfinite(value).all():
            raise InputError(f"{name} must be finite, got NaN or infinity")
    sqrt_sigma1 = _psd_sqrt(sigma1)
    product = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
    trace_sqrt = np.sqrt(_zero_round_off(eigenvalues)).sum()
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt
    return max(float(distance), 0.0)


class FrechetClassifierDistance(ClassifierMetric):
    """Fréchet distance between classifier features of generated and of real images.

    A TorchGAN :class:`~torchgan.metrics.EvaluationMetric`: pass it in ``metrics_list`` and the
    Trainer logs the distance of ``sample_size`` generated images after every epoch. Lower is
    better. Like FID, it is biased upwards for small ``sample_size``: compare values computed
    with the same ``sample_size``.

    Args:
        sample_size: number of images to generate per evaluation, ``>= 2``.
        batch_size: images generated and classified per chunk.
        device: where to run the classifier; ``None`` runs it where the generator runs.
        shared: see :class:`~torchgan_lstm.metrics.base.SharedSamples`.
        real_images: reference images ``(N, C, H, W)`` in ``[-1, 1]``, ``N >= 2``, in any shape
            :func:`~torchgan_lstm.metrics.classifier.to_classifier_input` accepts; ``None``
            takes the Fashion-MNIST test split (10,000 images), loaded on first use. Images given
            here are kept and saved with the metric in checkpoints.
        data_root: folder holding the Fashion-MNIST IDX files when ``real_images`` is ``None``;
            ``None`` searches the default places.

    Raises:
        ValueError: an argument is out of range; the message names it and its value.
    """

    _config_names = (*ClassifierMetric._config_names, "real_images", "data_root")
    _min_samples = 2

    def __init__(
        self,
        sample_size: int = 5000,
        batch_size: int = 500,
        device: str | torch.device | None = None,
        shared: SharedSamples | None = None,
        real_images: torch.Tensor | None = None,
        data_root: str | os.PathLike | None = None,
    ) -> None:
        if real_images is not None:
            shape = check_images(real_images)
            if shape[0] < 2:
                raise InputError(f"real_images must hold at least 2 images, got shape {shape}")
            if real_images.min() < -1.001 or real_images.max() > 1.001:
                raise InputError(
                    f"real_images must be in [-1, 1], got values in "
                    f"[{real_images.min().item():.3g}, {real_images.max().item():.3g}]"
                )
            if data_root is not None:
                raise InputError(
                    f"give real_images or data_root, not both (data_root={data_root!r} "
                    f"would be ignored)"
                )
        self.real_images = real_images
        self.data_root = None if data_root is None else os.fspath(data_root)
        super().__init__(sample_size, batch_size, device, shared)

    def _reset_caches(self) -> None:
        super()._reset_caches()
        self._real_statistics: tuple[np.ndarray, np.ndarray] | None = None

    def classifier_outputs(
        self, classifier: FashionClassifier, images: torch.Tensor
    ) -> torch.Tensor:
        """Penultimate-layer features ``(B, 128)`` of one chunk of images."""
        return classifier.features(images)

    def real_statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Feature mean and covariance of the real images, computed on first use and kept.

        Returns:
            ``(mu, sigma)`` as :func:`feature_statistics` returns them.

        Raises:
            DataNotFoundError: ``real_images`` is ``None`` and Fashion-MNIST is not found.
        """
        if self._real_statistics is None:
            real = self.real_images
            if real is None:
                real = fashion_mnist_tensor("test", self.data_root)
            # Run where the classifier already is (the generator's device during training).
            device = real.device if self._classifier is None else self._classifier_device()
            features = self._run_classifier(real.split(self.batch_size), device)
            self._real_statistics = feature_statistics(features)
        return self._real_statistics

    def calculate_score(self, outputs: torch.Tensor) -> float:
        """Fréchet distance of generated features ``outputs`` ``(N, 128)`` from the real ones."""
        return frechet_distance(*feature_statistics(outputs), *self.real_statistics())

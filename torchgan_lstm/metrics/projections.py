"""TimeGAN's picture of real against generated sequences: PCA and t-SNE in two dimensions.

TimeGAN's ``visualization`` draws at most 1,000 sequences of each set, turns each into the
mean of its features at every step (a vector of ``seq_len`` values), fits PCA on the real
vectors and projects both sets, and runs t-SNE (perplexity 40, 300 iterations) on both sets
together. :func:`real_and_generated_figure` draws the two panels; the t-SNE here is exact
(every pair of points), written on numpy, so no extra package is needed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch
from matplotlib.figure import Figure

from .._validation import check_int

__all__ = [
    "pca_2d",
    "real_and_generated_figure",
    "step_means",
    "tsne_2d",
    "write_real_and_generated_figure",
]


def step_means(sequences: torch.Tensor | np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """TimeGAN's reduction: ``count`` sequences drawn without replacement, each as the mean of
    its features per step; float64 ``(min(count, N), seq_len)``."""
    x = np.asarray(torch.as_tensor(sequences).detach().cpu().double())
    order = np.random.default_rng(seed).permutation(len(x))[: min(count, len(x))]
    return x[order].mean(axis=2)


def pca_2d(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets ``(N, D)`` projected on the first two principal axes of ``real``."""
    mean = real.mean(axis=0)
    _, _, axes = np.linalg.svd(real - mean, full_matrices=False)
    return (real - mean) @ axes[:2].T, (fake - mean) @ axes[:2].T


def _squared_distances(x: torch.Tensor) -> torch.Tensor:
    norms = x.square().sum(dim=1)
    return (norms[:, None] + norms[None, :] - 2 * x @ x.T).clamp_min(0)


def _affinities(x: torch.Tensor, perplexity: float) -> torch.Tensor:
    # Each point's Gaussian precision found by bisection (all points at once) so that its
    # neighbour distribution has the given perplexity; then symmetrised.
    distances = _squared_distances(x)
    distances = (
        distances
        - distances.masked_fill(torch.eye(len(x), dtype=torch.bool), 1e300)
        .min(dim=1, keepdim=True)
        .values
    )
    off_diagonal = ~torch.eye(len(x), dtype=torch.bool)
    low = torch.full((len(x), 1), -60.0, dtype=x.dtype)
    high = torch.full((len(x), 1), 60.0, dtype=x.dtype)
    target = float(np.log(perplexity))
    for _ in range(100):  # bisection on log(precision)
        log_beta = (low + high) / 2
        weights = torch.exp(-distances * log_beta.exp()) * off_diagonal
        probs = weights / weights.sum(dim=1, keepdim=True)
        entropy = -(probs * probs.clamp_min(1e-300).log()).sum(dim=1, keepdim=True)
        too_flat = entropy > target
        low = torch.where(too_flat, log_beta, low)
        high = torch.where(too_flat, high, log_beta)
    p = (probs + probs.T) / (2 * len(x))
    return p.clamp_min(1e-12)


def tsne_2d(
    x: np.ndarray, perplexity: float = 40.0, iterations: int = 300, seed: int = 0
) -> np.ndarray:
    """Exact t-SNE of ``x`` ``(N, D)`` to ``(N, 2)``: gradient descent with momentum, gains and
    early exaggeration (x12 for the first 100 iterations), as van der Maaten's reference.

    Args:
        x: the points, ``N >= 2``.
        perplexity: effective neighbours per point (TimeGAN: 40), capped at ``N - 1``.
        iterations: gradient steps (TimeGAN: 300).
        seed: seeds the initial layout.

    Returns:
        float64 ``(N, 2)``.
    """
    check_int("iterations", iterations)
    x = torch.as_tensor(np.asarray(x, np.float64))
    p = _affinities(x, min(perplexity, len(x) - 1))
    y = torch.as_tensor(np.random.default_rng(seed).normal(0, 1e-4, (len(x), 2)))
    velocity, gains = torch.zeros_like(y), torch.ones_like(y)
    off_diagonal = ~torch.eye(len(x), dtype=torch.bool)
    for step in range(iterations):
        exaggeration = 12.0 if step < 100 else 1.0
        momentum = 0.5 if step < 250 else 0.8
        q_num = (1 / (1 + _squared_distances(y))) * off_diagonal
        q = (q_num / q_num.sum()).clamp_min(1e-12)
        force = (exaggeration * p - q) * q_num
        gradient = 4 * (force.sum(dim=1, keepdim=True) * y - force @ y)
        same = torch.sign(gradient) == torch.sign(velocity)
        gains = torch.where(same, gains * 0.8, gains + 0.2).clamp_min(0.01)
        velocity = momentum * velocity - 200.0 * gains * gradient
        y = y + velocity
        y = y - y.mean(dim=0)
    return y.numpy()


def real_and_generated_figure(
    real: torch.Tensor | np.ndarray,
    fake: torch.Tensor | np.ndarray,
    feature_names: list[str] | None = None,
    count: int = 1000,
    seed: int = 0,
    tsne_iterations: int = 300,
    tsne: bool = True,
    title: str | None = None,
) -> Figure:
    """TimeGAN's figure: PCA and t-SNE of real (red) and generated (blue) sequences.

    Args:
        real: ``(N, seq_len, features)``.
        fake: ``(M, seq_len, features)``.
        feature_names: the features averaged, named in the axes' caption.
        count: sequences of each set drawn (TimeGAN: 1,000).
        seed: seeds the draw and the t-SNE layout.
        tsne_iterations: t-SNE's gradient steps (TimeGAN: 300).
        tsne: draw the t-SNE panel (its cost grows with the square of the points); ``False``:
            the PCA panel only.
        title: put before the caption, e.g. which generator and epoch.

    Returns:
        A matplotlib figure with the two panels (one without t-SNE).
    """
    real_vectors = step_means(real, check_int("count", count, minimum=2), seed)
    fake_vectors = step_means(fake, count, seed + 1)
    pca_real, pca_fake = pca_2d(real_vectors, fake_vectors)
    panels = [("PCA", pca_real, pca_fake, ("PC 1", "PC 2"))]
    if tsne:
        joint = tsne_2d(np.concatenate([real_vectors, fake_vectors]), iterations=tsne_iterations)
        split = len(real_vectors)
        panels.append(("t-SNE", joint[:split], joint[split:], ("t-SNE 1", "t-SNE 2")))
    figure = Figure(figsize=(5 * len(panels), 4.6))
    names = ", ".join(feature_names) if feature_names else "all features"
    caption = f"each sequence as the mean over {names} at each step"
    figure.suptitle(f"{title}: {caption}" if title else caption, fontsize=9)
    for k, (title, points_real, points_fake, (x_label, y_label)) in enumerate(panels):
        axis = figure.add_subplot(1, len(panels), k + 1)
        axis.scatter(
            *points_real.T, s=4, c="tab:red", alpha=0.3, label=f"real ({len(points_real)})"
        )
        axis.scatter(
            *points_fake.T, s=4, c="tab:blue", alpha=0.3, label=f"generated ({len(points_fake)})"
        )
        axis.set(title=title, xlabel=x_label, ylabel=y_label)
        axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    return figure


def write_real_and_generated_figure(path: str | Path, *args, **kwargs) -> Path:
    """:func:`real_and_generated_figure` saved as ``path`` (PNG); returns the path."""
    path = Path(path)
    real_and_generated_figure(*args, **kwargs).savefig(path, dpi=110)
    return path

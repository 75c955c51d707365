"""Pictures of a run: loss curves from TorchGAN's loss logs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["moving_average", "plot_losses"]


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values (shorter at the start), same length as input."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, values.size + 1)
    start = np.maximum(0, idx - window)
    return (cumsum[idx] - cumsum[start]) / (idx - start)


def plot_losses(logs: Mapping[str, Sequence], path: str | Path, window: int = 50) -> Path:
    """Plot each loss of TorchGAN's ``LossVisualize.logs`` against the training step.

    Args:
        logs: loss name -> one value per step (a ``(generator, discriminator)`` tuple for losses
            that train both).
        path: the PNG to write.
        window: steps in the moving average drawn over the raw values.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for name, values in logs.items():
        series = {name: values}
        if values and isinstance(values[0], tuple):
            series = {f"{name} (G)": [v[0] for v in values], f"{name} (D)": [v[1] for v in values]}
        for label, ys in series.items():
            steps = np.arange(1, len(ys) + 1)
            (line,) = ax.plot(steps, moving_average(ys, window), label=label)
            ax.plot(steps, ys, color=line.get_color(), alpha=0.15, linewidth=0.8)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"loss (moving average of {window} steps)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)

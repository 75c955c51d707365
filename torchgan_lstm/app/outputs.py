"""What a run leaves in its folder besides TorchGAN's own outputs: ``config.yaml``, the final
sample grid, loss curves, ``summary.json`` and the TensorBoard hparams entry."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torchvision

from .._random import forked_rng
from .samples import check_finite_samples

__all__ = [
    "flat_hparams",
    "moving_average",
    "plot_losses",
    "sample_grid",
    "sequence_plot",
    "write_config",
    "write_hparams",
    "write_outputs",
]


def write_config(config, out: str | Path) -> Path:
    """Write ``config`` as ``config.yaml`` in the run folder ``out``; return the path.

    ``torchgan-lstm train --config out/config.yaml`` reruns the run, and ``--resume`` reads it.
    """
    path = Path(out) / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config.to_yaml())
    return path


@torch.no_grad()
def sample_grid(
    generator, path: str | Path, n: int = 64, seed: int = 0, nrow: int = 8
) -> torch.Tensor:
    """Write a PNG grid of ``n`` samples (in ``[-1, 1]``, shown as ``[0, 1]``); return them.

    The noise comes from a fork of the RNG seeded with ``seed``: the same grid for the same seed,
    and the caller's random state is left as it was.

    Raises:
        InputError: the generator produced NaN or infinite values (nothing is written).
    """
    device = next(generator.parameters()).device
    with forked_rng(device, seed):
        inputs = generator.sampler(n, device)
    images = generator(*inputs).cpu()
    check_finite_samples(images)
    torchvision.utils.save_image(images, path, nrow=nrow, normalize=True, value_range=(-1, 1))
    return images


@torch.no_grad()
def sequence_plot(generator, path: str | Path, dataset=None, n: int = 6, seed: int = 0) -> None:
    """Write line plots of ``n`` generated series (and as many of ``dataset``'s, in grey, spread
    over the data), named and in units as the data's."""
    from ..trainer.sequence_plots import plot_sequences
    from .sequences import plot_options, spread_sequences

    device = next(generator.parameters()).device
    with forked_rng(device, seed):
        fake = generator(*generator.sampler(n, device)).cpu()
    if dataset is None:
        plot_sequences(fake, num_series=min(n, 6)).savefig(path)
        return
    options = plot_options(dataset, reference=0)
    del options["reference"]  # the PCA picture's; the line plots take the rest
    real = spread_sequences(dataset, min(n, 6))
    plot_sequences(fake, real, num_series=min(n, 6), **options).savefig(path)


def flat_hparams(config) -> dict[str, bool | int | float | str]:
    """The run configuration as TensorBoard hparams: one flat key per setting, e.g.
    ``generator.hidden_size``; lists and ``None`` become strings."""
    flat = {}

    def put(key: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                put(f"{key}.{k}" if key else k, v)
        elif isinstance(value, bool | int | float | str):
            flat[key] = value
        else:
            flat[key] = str(value)

    data = config.to_dict()
    for role in ("generator", "discriminator"):
        spec = data.pop(role)
        flat[role] = spec["class_path"]
        put(role, spec["init_args"])
    put("", data)
    return flat


def write_hparams(config, metrics: Mapping[str, float], log_dir: str | Path) -> Path:
    """Record the configuration with the final metrics in TensorBoard's HPARAMS tab (in
    ``log_dir/hparams``), so runs with different settings can be compared side by side
    (``tensorboard --logdir runs``); return that folder."""
    from tensorboardX import SummaryWriter
    from tensorboardX.summary import hparams

    values = {f"final/{k}": float(v) for k, v in metrics.items()}
    folder = Path(log_dir) / "hparams"
    experiment, session_start, session_end = hparams(flat_hparams(config), values)
    with SummaryWriter(logdir=str(folder)) as writer:
        for summary in (experiment, session_start, session_end):
            writer.file_writer.add_summary(summary)
        for name, value in values.items():
            writer.add_scalar(name, value)
    return folder


def write_outputs(
    trainer, config, steps: int, seconds: float, extra: dict | None = None, dataset=None
) -> dict:
    """After training: ``samples.png`` from the sampling generator (sequences: line plots beside
    ``dataset``'s), ``loss_curves.png``, ``summary.json`` (steps, time, last metrics and their
    history, output paths, ``extra``, the configuration) and the hparams entry under
    ``config.out``; return the summary."""
    out = Path(config.out)
    generator = trainer.sampling_generator().eval()
    if config.data.sequences:
        sequence_plot(
            generator, out / "samples.png", dataset, n=config.sample_size, seed=config.seed
        )
    else:
        sample_grid(generator, out / "samples.png", n=config.sample_size, seed=config.seed)
    plot_losses(trainer.logger.get_loss_viz().logs, out / "loss_curves.png")
    history = {}
    if trainer.metrics:
        history = {k: list(v) for k, v in trainer.logger.get_metric_viz().logs.items() if v}
    metrics = {name: values[-1] for name, values in history.items()}
    checkpoints = sorted((out / "checkpoints").glob("gan*.model"), key=lambda p: p.stat().st_mtime)
    summary = {
        "steps": steps,
        "train_seconds": round(seconds, 1),
        **(extra or {}),
        "metrics": metrics,
        # One entry per evaluation, at steps eval_every, 2 * eval_every, ... (this process only).
        "metric_history": history,
        "checkpoint": str(checkpoints[-1]) if checkpoints else None,
        "samples": str(out / "samples.png"),
        "loss_curves": str(out / "loss_curves.png"),
        "tensorboard": str(out / "tensorboard"),
        "config": config.to_dict(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    write_hparams(config, metrics, out / "tensorboard")
    return summary


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

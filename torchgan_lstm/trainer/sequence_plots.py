"""Line plots of generated sequences at every evaluation, in ``recon/`` and TensorBoard.

TorchGAN's ``Logger`` always registers an ``ImageVisualize``, which draws a grid of images and
cannot draw ``(batch, seq_len, features)`` sequences. :func:`use_sequence_plots` puts a
:class:`SequenceVisualize` in its place in any ``Trainer`` (``EMATrainer`` included);
:class:`SequenceTrainer` is TorchGAN's ``Trainer`` that does so when built. Each epoch then
writes ``recon/epoch<N>_<generator>.png`` (the same names as TorchGAN's image grids) and logs
the figure to TensorBoard under ``Generated Samples/<generator>``: a panel per feature, the
generated series in colour over the last real batch's in grey.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch
from matplotlib.figure import Figure
from torchgan.logging.visualize import ImageVisualize, Visualize
from torchgan.models import Generator
from torchgan.trainer import Trainer

from .._random import forked_rng
from .._validation import InputError, check_int

__all__ = ["SequenceTrainer", "SequenceVisualize", "plot_sequences", "use_sequence_plots"]

_PCA = "_pca"  # the PCA figure's suffix to a generator's name


def _as_array(sequences: torch.Tensor | np.ndarray, name: str) -> np.ndarray:
    if isinstance(sequences, torch.Tensor):
        sequences = sequences.detach().cpu().float().numpy()
    sequences = np.asarray(sequences)
    if sequences.ndim != 3:
        raise InputError(
            f"{name} must have shape (batch, seq_len, features), got {tuple(sequences.shape)}"
        )
    return sequences


def plot_sequences(
    generated: torch.Tensor | np.ndarray,
    real: torch.Tensor | np.ndarray | None = None,
    num_series: int = 6,
    max_features: int = 6,
    title: str | None = None,
    feature_names: list[str] | None = None,
    value_label: str = "value",
    to_data_units: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Figure:
    """A figure with a panel per feature: generated series in colour, real ones in grey.

    Args:
        generated: ``(batch, seq_len, features)``.
        real: ``(batch, steps, features)`` to draw beneath, or ``None``.
        num_series: series drawn of each set.
        max_features: panels at most (the first features).
        title: the figure's title.
        feature_names: a panel title per feature (the data's column names); ``None``: "feature
            0", "feature 1", ...
        value_label: the first panel's y-axis label, naming the values' units.
        to_data_units: maps both sets ``(batch, seq_len, features)`` to the data's units before
            drawing (e.g. a dataset scaler's ``inverse_transform``); ``None``: drawn as given.

    Returns:
        A matplotlib ``Figure`` (Agg, not attached to pyplot: no global state to close).

    Raises:
        ValueError: an input is not 3-D, or the sets differ in features.
    """
    generated = _as_array(generated, "generated")
    if real is not None:
        real = _as_array(real, "real")
        if real.shape[2] != generated.shape[2]:
            raise InputError(
                f"real has {real.shape[2]} features but generated has {generated.shape[2]}"
            )
    if to_data_units is not None:
        generated = to_data_units(generated)
        real = None if real is None else to_data_units(real)
    check_int("num_series", num_series)
    panels = min(generated.shape[2], check_int("max_features", max_features))
    names = feature_names or [f"feature {k}" for k in range(generated.shape[2])]
    if len(names) != generated.shape[2]:
        raise InputError(
            f"feature_names must name the {generated.shape[2]} features, got {len(names)} names"
        )
    fig = Figure(figsize=(3.2 * panels, 2.6), dpi=80)
    # Fixed margins: a layout engine would double the drawing time of these small figures.
    fig.subplots_adjust(left=0.25 / panels, right=0.99, bottom=0.17, top=0.82, wspace=0.25)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    colours = matplotlib.colormaps["tab10"].colors
    for k, ax in enumerate(axes):
        if real is not None:
            for i, series in enumerate(real[:num_series, :, k]):
                ax.plot(series, color="0.6", lw=1, ls="--", label="real" if i == 0 else None)
        for i, series in enumerate(generated[:num_series, :, k]):
            ax.plot(series, color=colours[i % 10], lw=1.2, label="generated" if i == 0 else None)
        ax.set_title(names[k], fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel(value_label, fontsize=8)
    axes[0].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


class SequenceVisualize(Visualize):
    """TorchGAN visualiser of sequence generators: line plots each epoch, as PNG and TensorBoard.

    Like TorchGAN's ``ImageVisualize`` it draws from fixed noise (one ``sampler`` call at
    construction), counts epochs in ``step``, and writes ``recon/epoch<step>_<name>.png`` and the
    TensorBoard image ``Generated Samples/<name>``. TorchGAN's ``Logger`` calls visualisers
    other than its own without arguments, so this one keeps the trainer it was built for.

    With ``reference`` (real sequences) each epoch also draws TimeGAN's PCA picture of those
    against as many generated sequences (from noise fixed at construction), written as
    ``recon/epoch<step>_<name>_pca.png`` and the TensorBoard image ``Real and Generated
    PCA/<name>``.

    Args:
        trainer: the ``Trainer`` whose generators are drawn.
        writer: its TensorBoard writer (``trainer.logger.writer``), or ``None``.
        test_noise: each generator's inputs by its name in the trainer; ``None`` calls each
            generator's ``sampler(trainer.sample_size, trainer.device)``.
        num_series: series drawn per set (generated, real).
        visdom_port: as TorchGAN's visualisers; only used when ``VISDOM_LOGGING`` is on.
        feature_names: a panel title per feature (the data's column names).
        to_data_units: maps ``(batch, seq_len, features)`` arrays to the data's units before
            the line plots are drawn (e.g. a dataset scaler's ``inverse_transform``).
        value_label: the y-axis label, naming those units.
        reference: ``(N, seq_len, features)`` real sequences for the PCA picture, or ``None``.
    """

    def __init__(
        self,
        trainer: Trainer,
        writer=None,
        test_noise: dict[str, list[torch.Tensor]] | None = None,
        num_series: int = 6,
        visdom_port: int = 8097,
        feature_names: list[str] | None = None,
        to_data_units: Callable[[np.ndarray], np.ndarray] | None = None,
        value_label: str = "value",
        reference: torch.Tensor | None = None,
    ):
        super().__init__([], visdom_port=visdom_port, writer=writer)
        self.trainer = trainer
        self.num_series = check_int("num_series", num_series)
        self.feature_names = feature_names
        self.to_data_units = to_data_units
        self.value_label = value_label
        self.reference = reference
        self.reference_noise = {}
        if test_noise is None:
            test_noise = {
                name: getattr(trainer, name).sampler(trainer.sample_size, trainer.device)
                for name in _generator_names(trainer)
            }
        self.test_noise = dict(test_noise)
        if reference is not None:
            with forked_rng(trainer.device, seed=0):
                self.reference_noise = {
                    name: getattr(trainer, name).sampler(len(reference), trainer.device)
                    for name in self.test_noise
                }

    def _figure(self, name: str) -> Figure:
        generator = getattr(self.trainer, name)
        with torch.no_grad():
            generated = generator(*self.test_noise[name])
        real = self.trainer.real_inputs
        real = real if isinstance(real, torch.Tensor) and real.dim() == 3 else None
        return plot_sequences(
            generated, real, self.num_series, title=f"{name}, epoch {self.step}",
            feature_names=self.feature_names, value_label=self.value_label,
            to_data_units=self.to_data_units,
        )  # fmt: skip

    def _pca_figure(self, name: str) -> Figure:
        from ..metrics.projections import real_and_generated_figure

        generator = getattr(self.trainer, name)
        with torch.no_grad():
            generated = generator(*self.reference_noise[name])
        return real_and_generated_figure(
            self.reference, generated, self.feature_names, count=len(self.reference),
            tsne=False, title=f"{name}, epoch {self.step}",
        )  # fmt: skip

    def log_console(self, name: str, figure: Figure) -> None:
        """Save the figure as ``recon/epoch<step>_<name>.png`` (``..._pca.png``: the PCA)."""
        path = os.path.join(self.trainer.recon, f"epoch{self.step}_{name}.png")
        print(f"Generating and Saving Sequence Plots to {path}")
        figure.savefig(path)

    def log_tensorboard(self, name: str, figure: Figure) -> None:
        """Log the figure as the image ``Generated Samples/<name>`` at this epoch (the PCA:
        ``Real and Generated PCA/<generator>``)."""
        tag = f"Generated Samples/{name}"
        if name.endswith(_PCA):
            tag = f"Real and Generated PCA/{name.removesuffix(_PCA)}"
        self.writer.add_figure(tag, figure, self.step, close=False)

    def log_visdom(self, name: str, figure: Figure) -> None:
        """Show the figure in visdom."""
        figure.canvas.draw()
        image = np.asarray(figure.canvas.buffer_rgba())[..., :3].transpose(2, 0, 1)
        self.vis.image(image, opts={"caption": f"Generated Samples/{name}"})

    def __call__(self, trainer: Trainer | None = None, **kwargs) -> None:
        """Draw every generator of the trainer (``trainer`` is accepted for TorchGAN's API)."""
        for name in self.test_noise:
            super().__call__(name, self._figure(name), **kwargs)
            self.step -= 1  # one step per epoch, however many generators
            if name in self.reference_noise:
                super().__call__(name + _PCA, self._pca_figure(name), **kwargs)
                self.step -= 1
        self.step += 1 if self.test_noise else 0


def _generator_names(trainer: Trainer) -> list[str]:
    return [name for name in trainer.model_names if isinstance(getattr(trainer, name), Generator)]


def _draws_sequences(generator: object) -> bool:
    return isinstance(generator, Generator) and hasattr(generator, "seq_len")


def use_sequence_plots(
    trainer: Trainer, num_series: int = 6, **options
) -> SequenceVisualize | None:
    """Replace the trainer's ``ImageVisualize`` by a :class:`SequenceVisualize`.

    Done only when a generator of the trainer makes sequences (has a ``seq_len``, as
    :class:`~torchgan_lstm.models.LSTMSequenceGenerator`); image models keep TorchGAN's image
    grids. The new visualiser takes the old one's place and fixed noise, so the Logger's other
    visualisers, and the metrics' position it relies on, are unchanged.

    Args:
        trainer: a built TorchGAN ``Trainer`` (or subclass).
        num_series: series drawn per set.
        **options: :class:`SequenceVisualize`'s ``feature_names``, ``to_data_units``,
            ``value_label`` and ``reference``.

    Returns:
        The new visualiser, or ``None`` when no generator makes sequences.
    """
    names = _generator_names(trainer)
    if not any(_draws_sequences(getattr(trainer, name)) for name in names):
        return None
    end_epoch = trainer.logger.logger_end_epoch
    for i, visualizer in enumerate(end_epoch):
        if type(visualizer) is ImageVisualize:
            # ImageVisualize drew one set of inputs per generator, in this order.
            noise = dict(zip(names, visualizer.test_noise, strict=True))
            replacement = SequenceVisualize(
                trainer, trainer.logger.writer, noise, num_series, **options
            )
            replacement.step = visualizer.step
            end_epoch[i] = replacement
            return replacement
    replacement = SequenceVisualize(trainer, trainer.logger.writer, None, num_series, **options)
    end_epoch.append(replacement)
    return replacement


class SequenceTrainer(Trainer):
    """TorchGAN's ``Trainer`` that draws sequence generators as line plots each epoch.

    The same arguments and training as ``torchgan.trainer.Trainer``; after building, it calls
    :func:`use_sequence_plots` with ``num_series`` and ``plot_options``.

    Args:
        *args: as ``Trainer``.
        num_series: series drawn per set in each epoch's plot.
        plot_options: :class:`SequenceVisualize`'s ``feature_names``, ``to_data_units``,
            ``value_label`` and ``reference`` (real sequences for a PCA picture each epoch).
        **kwargs: as ``Trainer``.
    """

    def __init__(self, *args, num_series: int = 6, plot_options: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sequence_visualizer = use_sequence_plots(self, num_series, **(plot_options or {}))

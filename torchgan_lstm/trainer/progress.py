"""A tqdm progress bar that TorchGAN's ``Logger`` drives like its own visualisers."""

from __future__ import annotations

import sys

from torchgan.logging.visualize import Visualize
from tqdm.auto import tqdm

__all__ = ["ProgressBar", "attach_progress_bar"]


class ProgressBar(Visualize):
    """Steps/s, smoothed generator and discriminator losses, and ETA over the whole run.

    Registered with ``trainer.logger.register(ProgressBar, trainer, total=...)``. TorchGAN's
    ``Logger`` calls mid-epoch visualisers after every training step with
    ``lock_console=True`` and again, without it, at the end of each epoch; the bar advances on
    the former only.

    Args:
        trainer: the ``Trainer`` whose ``loss_information`` is read.
        total: training steps in the run (for the ETA).
        initial: steps already done (when resuming).
        smoothing: weight of the newest step in the displayed running losses.
        writer: passed by ``Logger.register``; unused.
    """

    def __init__(self, trainer, total: int, initial: int = 0, smoothing: float = 0.05, writer=None):
        self.logs = {}  # Visualize's interface; the bar keeps no logs
        self.step = 1
        self.trainer = trainer
        self.smoothing = smoothing
        self.losses: dict[str, float] = {}
        self._last = self._totals()
        self.bar = tqdm(
            total=total, initial=initial, unit="step", dynamic_ncols=True, file=sys.stderr
        )

    def _totals(self) -> tuple[float, int, float, int]:
        info = self.trainer.loss_information
        return (
            info["generator_losses"],
            info["generator_iters"],
            info["discriminator_losses"],
            info["discriminator_iters"],
        )

    def __call__(self, *args, lock_console: bool = False, **kwargs) -> None:
        if not lock_console:  # end-of-epoch call
            return
        now = self._totals()
        for key, (loss, iters) in {"G": (0, 1), "D": (2, 3)}.items():
            if now[iters] > self._last[iters]:
                value = (now[loss] - self._last[loss]) / (now[iters] - self._last[iters])
                old = self.losses.get(key, value)
                self.losses[key] = (1 - self.smoothing) * old + self.smoothing * value
        self._last = now
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in self.losses.items()}, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        """Close the bar (leaves its last line on the terminal)."""
        self.bar.close()


def attach_progress_bar(trainer, total: int, initial: int = 0, enabled: bool | None = None):
    """Register a :class:`ProgressBar` with ``trainer.logger``.

    Args:
        trainer: a TorchGAN ``Trainer``.
        total: training steps in the run.
        initial: steps already done.
        enabled: ``None`` shows the bar only when stderr is a terminal.

    Returns:
        The bar, or ``None`` when disabled.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    trainer.logger.register(ProgressBar, trainer, total=total, initial=initial)
    return trainer.logger.logger_mid_epoch[-1]

"""Stop a run clearly, where it goes wrong, before it writes over the last good checkpoint.

TorchGAN's ``Trainer`` trains on through ``nan`` losses (and then checkpoints ``nan`` weights)
and lets a failing data loader's exception out with no word of where the run was. The
:class:`DivergenceGuard` is a mid-epoch visualiser, called by TorchGAN's ``Logger`` after every
step: it reads the losses TorchGAN has just logged (Python floats: TorchGAN already calls
``.item()`` on each loss, so the check adds no device synchronisation) and raises
:class:`TrainingDiverged` at the first one that is not finite. TorchGAN saves its checkpoint only
at the end of an epoch, so the raise comes before any ``nan`` weights are written.
"""

from __future__ import annotations

import math

from torchgan.logging.visualize import Visualize

__all__ = [
    "DataLoaderFailed",
    "DivergenceGuard",
    "TrainingDiverged",
    "TrainingError",
    "attach_divergence_guard",
]


class TrainingError(RuntimeError):
    """Training stopped part-way; checkpoints written before the failure are kept."""


class TrainingDiverged(TrainingError):
    """A loss became ``nan`` or infinite; the message names the loss and the step."""


class DataLoaderFailed(TrainingError):
    """The data loader raised while training; the message names the step and the cause."""


class DivergenceGuard(Visualize):
    """Raise :class:`TrainingDiverged` at the first non-finite loss TorchGAN logs.

    Registered with ``trainer.logger.register(DivergenceGuard, trainer, initial=...)`` (see
    :func:`attach_divergence_guard`).

    Args:
        trainer: the ``Trainer`` whose loss logs (``trainer.logger.get_loss_viz().logs``,
            keyed by loss class name) are read.
        initial: training steps done before this process started (when resuming), so the
            reported step counts over the whole run.
        writer: passed by ``Logger.register``; unused.
    """

    def __init__(self, trainer, initial: int = 0, writer=None):
        self.logs = {}  # Visualize's interface; the guard keeps no logs
        self.trainer = trainer
        self.step = initial
        self._seen = self._lengths()

    def _lengths(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.trainer.logger.get_loss_viz().logs.items()}

    def __call__(self, *args, lock_console: bool = False, **kwargs) -> None:
        if not lock_console:  # the end-of-epoch call; the steps were checked already
            return
        self.step += 1
        for name, values in self.trainer.logger.get_loss_viz().logs.items():
            for value in values[self._seen.get(name, 0) :]:
                for number in value if isinstance(value, tuple) else (value,):
                    if not math.isfinite(number):
                        raise TrainingDiverged(
                            f"training diverged: {name} is {number} at step {self.step}; "
                            f"stopped before the next checkpoint, so the ones already written "
                            f"are kept (resume from one with a lower learning rate)"
                        )
        self._seen = self._lengths()


def attach_divergence_guard(trainer, initial: int = 0) -> DivergenceGuard:
    """Register a :class:`DivergenceGuard` with ``trainer.logger``; return it.

    Args:
        trainer: a TorchGAN ``Trainer``.
        initial: steps already done (when resuming).
    """
    trainer.logger.register(DivergenceGuard, trainer, initial=initial)
    return trainer.logger.logger_mid_epoch[-1]

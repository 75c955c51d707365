"""Stop a run clearly, where it goes wrong, before it writes over the last good checkpoint.

TorchGAN's ``Trainer`` trains on through ``nan`` losses (and then checkpoints ``nan`` weights)
and lets a failing data loader's exception out with no word of where the run was. The
:class:`DivergenceGuard` wraps one trainer's ``train_iter``: after every step it reads the losses
TorchGAN has just recorded (Python floats: TorchGAN already calls ``.item()`` on each loss, so
the check adds no device synchronisation) and raises :class:`TrainingDiverged` at the first one
that is not finite, before TorchGAN logs it. TorchGAN saves its checkpoint only
at the end of an epoch, so the raise comes before any ``nan`` weights are written.
"""

from __future__ import annotations

import math

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


class DivergenceGuard:
    """Raise :class:`TrainingDiverged` at the first non-finite loss of a training step.

    Installed by :func:`attach_divergence_guard` around one ``Trainer``'s ``train_iter`` (the
    instance's, not the class's), so it checks each step's losses before TorchGAN adds them to
    its running totals or logs them to TensorBoard.

    Args:
        trainer: the ``Trainer`` whose loss logs (``trainer.logger.get_loss_viz().logs``,
            keyed by loss class name) are read.
        initial: training steps done before this process started (when resuming), so the
            reported step counts over the whole run.
    """

    def __init__(self, trainer, initial: int = 0):
        self.trainer = trainer
        self.step = initial
        self.train_iter = trainer.train_iter

    def __call__(self):
        logs = self.trainer.logger.get_loss_viz().logs
        seen = {name: len(values) for name, values in logs.items()}
        result = self.train_iter()
        self.step += 1
        for name, values in logs.items():
            for value in values[seen.get(name, 0) :]:
                for number in value if isinstance(value, tuple) else (value,):
                    if not math.isfinite(number):
                        raise TrainingDiverged(
                            f"training diverged: {name} is {number} at step {self.step}; "
                            f"stopped before the next checkpoint, so the ones already written "
                            f"are kept (resume from one with a lower learning rate)"
                        )
        return result


def attach_divergence_guard(trainer, initial: int = 0) -> DivergenceGuard:
    """Make ``trainer`` stop at the first non-finite loss; return the guard.

    Args:
        trainer: a TorchGAN ``Trainer``.
        initial: steps already done (when resuming).
    """
    guard = DivergenceGuard(trainer, initial)
    trainer.train_iter = guard
    return guard

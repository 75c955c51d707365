"""Stop a run clearly, where it goes wrong, before it writes over the last good checkpoint.

TorchGAN's ``Trainer`` trains on through ``nan`` losses (and then checkpoints ``nan`` weights)
and lets a failing data loader's exception out with no word of where the run was.
:class:`~torchgan_lstm.trainer.RunTrainer` checks the losses TorchGAN has just recorded after
every step (Python floats: TorchGAN already calls ``.item()`` on each loss, so the check adds no
device synchronisation) with :func:`first_non_finite` and raises :class:`TrainingDiverged` at the
first one that is not finite, before TorchGAN logs it. TorchGAN saves its checkpoint only at the
end of an epoch, so the raise comes before any ``nan`` weights are written.
"""

from __future__ import annotations

import math

__all__ = ["DataLoaderFailed", "TrainingDiverged", "TrainingError", "first_non_finite"]


class TrainingError(RuntimeError):
    """Training stopped part-way; checkpoints written before the failure are kept."""


class TrainingDiverged(TrainingError):
    """A loss became ``nan`` or infinite; the message names the loss and the step."""


class DataLoaderFailed(TrainingError):
    """The data loader raised while training; the message names the step and the cause."""


def first_non_finite(logs: dict, seen: dict[str, int]) -> tuple[str, float] | None:
    """The first loss value logged since ``seen`` that is ``nan`` or infinite.

    Args:
        logs: TorchGAN's ``LossVisualize.logs``: loss class name -> values (floats, or
            ``(generator, discriminator)`` tuples).
        seen: how many values of each loss were there before the step.

    Returns:
        ``(loss name, value)``, or ``None`` when every new value is finite.
    """
    for name, values in logs.items():
        for value in values[seen.get(name, 0) :]:
            for number in value if isinstance(value, tuple) else (value,):
                if not math.isfinite(number):
                    return name, number
    return None

"""An exponential moving average of the generator's weights, kept during TorchGAN training.

:class:`GeneratorEMA` is the averaged copy (PyTorch's
:class:`~torch.optim.swa_utils.AveragedModel`). :class:`~torchgan_lstm.trainer.RunTrainer`
folds the generator into it after every generator step; everything TorchGAN does at the end of
an epoch, the sample grid in TensorBoard and ``images/``, the metrics, then sees the averaged
generator, and every checkpoint stores it beside the trained one (``generator_ema``), so
``torchgan-lstm sample`` and ``evaluate`` use it too. Training itself (losses, optimizers,
resume) is untouched: the discriminator always plays against the live generator.

Averaged weights give cleaner samples at no training cost (Yazici et al., 2019, "The Unusual
Effectiveness of Averaging in GAN Training"; used by ProGAN, StyleGAN and BigGAN).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from .._validation import InputError

__all__ = ["GeneratorEMA"]


class GeneratorEMA(AveragedModel):
    """The averaged copy: ``avg = beta * avg + (1 - beta) * live`` after each update.

    ``beta`` warms up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so the early
    average is not dominated by the random initial weights. Buffers (batch-norm statistics)
    are averaged the same way; integer buffers are copied.

    Args:
        generator: the live generator; it is deep-copied.
        decay: the long-run ``beta``, in ``(0, 1)``.

    Raises:
        ValueError: ``decay`` outside ``(0, 1)``.
    """

    def __init__(self, generator: nn.Module, decay: float = 0.999):
        if not 0.0 < decay < 1.0:
            raise InputError(f"ema_decay must be in (0, 1), got {decay}")
        super().__init__(generator, multi_avg_fn=self._average, use_buffers=True)
        self.decay = decay
        self.updates = 0  # host-side count: no device sync to read it
        self.requires_grad_(False)
        self.eval()

    def beta(self) -> float:
        """The weight kept from the current average at the next update."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    def _average(self, averaged: list[torch.Tensor], current: list[torch.Tensor], _n) -> None:
        if averaged[0].is_floating_point():
            torch._foreach_lerp_(averaged, current, 1.0 - self.beta())
        else:  # e.g. num_batches_tracked
            torch._foreach_copy_(averaged, current)

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        """Fold ``generator``'s current weights and buffers into the average."""
        self.update_parameters(generator)
        self.updates += 1

    def train(self, mode: bool = True) -> GeneratorEMA:
        """Always in eval mode: the average is only ever sampled from."""
        return super().train(False)

    def get_extra_state(self) -> dict:
        return {"updates": self.updates, "decay": self.decay}

    def set_extra_state(self, state: dict) -> None:
        self.updates, self.decay = int(state["updates"]), float(state["decay"])

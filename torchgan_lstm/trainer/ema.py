"""An exponential moving average of the generator's weights, kept during TorchGAN training.

:class:`EMATrainer` is TorchGAN's ``Trainer`` with one addition: after every generator step it
folds the generator's weights into an averaged copy (PyTorch's
:class:`~torch.optim.swa_utils.AveragedModel`). Everything TorchGAN does at the end of an
epoch, the sample grid in TensorBoard and ``images/``, the metrics, then sees the averaged
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
from torchgan.trainer import Trainer

__all__ = ["EMATrainer", "GeneratorEMA"]


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
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}")
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


class EMATrainer(Trainer):
    """TorchGAN's ``Trainer`` keeping :class:`GeneratorEMA` of its generator.

    Takes TorchGAN's arguments plus ``ema_decay``. After each step that trained the
    generator, the average is updated. From the end-of-epoch evaluation until the next epoch
    starts (TorchGAN's ``eval_ops``, end-of-epoch logging, ``optim_ops``), ``self.generator``
    is the averaged model, so the metrics and sample grids see it; checkpoints hold it as
    ``generator_ema`` and :meth:`load_model` restores it.

    Args:
        *args, **kwargs: as for ``torchgan.trainer.Trainer``.
        ema_decay: see :class:`GeneratorEMA`.
    """

    def __init__(self, *args, ema_decay: float = 0.999, **kwargs):
        super().__init__(*args, **kwargs)
        if "generator" not in self.model_names:
            raise ValueError(
                f"EMATrainer needs a model named 'generator', got models {self.model_names}"
            )
        self.ema = GeneratorEMA(self.generator, ema_decay)
        self._live_generator: nn.Module | None = None

    @property
    def live_generator(self) -> nn.Module:
        """The generator being trained (also while the average stands in for it)."""
        return self._live_generator if self._live_generator is not None else self.generator

    def train_iter(self):
        result = super().train_iter()
        if result[2]:  # the generator was stepped
            self.ema.update(self.generator)
        return result

    def eval_ops(self, **kwargs):
        # TorchGAN's epoch end: save_model, eval_ops, logger.run_end_epoch, optim_ops.
        self._live_generator, self.generator = self.generator, self.ema.module
        super().eval_ops(**kwargs)

    def optim_ops(self):
        self._restore_live()
        super().optim_ops()

    def _restore_live(self) -> None:
        if self._live_generator is not None:
            self.generator, self._live_generator = self._live_generator, None

    @property
    def generator_ema(self) -> dict:
        """The average's state dict, as stored in checkpoints."""
        return self.ema.state_dict()

    @generator_ema.setter
    def generator_ema(self, state: dict) -> None:
        self.ema.load_state_dict(state)

    def save_model(self, epoch, save_items=None):
        super().save_model(epoch, [*_as_list(save_items), "generator_ema"])

    def load_model(self, load_path="", load_items=None):
        super().load_model(load_path, [*_as_list(load_items), "generator_ema"])


def _as_list(items) -> list:
    # TorchGAN takes None, one item or a list for save_items / load_items.
    if items is None:
        return []
    return list(items) if isinstance(items, list) else [items]

"""Training steps that keep loss and gradient statistics on the device, read every N steps.

TorchGAN reads the device back in every step: each loss's ``train_ops`` returns
``loss.item()``, and ``GradientVisualize.update_grads`` calls ``.item()`` once per parameter
after each loss. Every read waits for the device to finish all queued work, so on a GPU a small
model's step (32x32 images) spends its time launching kernels and waiting rather than computing.

:class:`DeviceLoggingMixin` runs the same losses in the same order and leaves their values, and
each model's squared gradient norm, as device tensors. Every ``log_every`` steps, and at the end
of each epoch before TorchGAN writes its checkpoint, all of them are read in one transfer
(:meth:`DeviceLoggingMixin.flush_logs`): the values are checked (a ``nan`` or infinite one raises
:class:`~torchgan_lstm.trainer.guards.TrainingDiverged` naming the loss and the step it came
from, so ``nan`` weights never reach a checkpoint), then written into TorchGAN's
``LossVisualize.logs``, ``GradientVisualize.logs`` and ``loss_information`` step by step, and
TorchGAN's mid-epoch visualisers (TensorBoard, a progress bar...) are run once per flushed step,
seeing exactly what they would have seen after that step. Only the time at which they see it
changes: up to ``log_every`` steps later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torchgan.losses import (
    AuxiliaryClassifierDiscriminatorLoss,
    AuxiliaryClassifierGeneratorLoss,
    DiscriminatorLoss,
    DraganGradientPenalty,
    EnergyBasedDiscriminatorLoss,
    EnergyBasedPullingAwayTerm,
    FeatureMatchingGeneratorLoss,
    GeneratorLoss,
    WassersteinDiscriminatorLoss,
    WassersteinGradientPenalty,
)
from torchgan.models import Discriminator, Generator

from .._validation import check_int
from .guards import TrainingDiverged

__all__ = ["DeviceLoggingMixin", "defers_reading"]

# Losses whose train_ops return ``self.forward(...)``'s value (or a sum of such values) through
# ``.item()`` and use it for nothing else. Others keep TorchGAN's host read: the boundary
# equilibrium losses update their ``k`` from host floats, the historical averages compute their
# value outside ``forward``, and a user's ``override_train_ops`` is not ours to change.
_DEFERRABLE = (
    GeneratorLoss,
    DiscriminatorLoss,
    WassersteinDiscriminatorLoss,
    WassersteinGradientPenalty,
    DraganGradientPenalty,
    FeatureMatchingGeneratorLoss,
    AuxiliaryClassifierGeneratorLoss,
    AuxiliaryClassifierDiscriminatorLoss,
    EnergyBasedDiscriminatorLoss,
    EnergyBasedPullingAwayTerm,
)


def defers_reading(loss) -> bool:
    """Whether :class:`DeviceLoggingMixin` can keep ``loss``'s value on the device.

    True when the loss runs one of TorchGAN's ``train_ops`` that were checked to use the value of
    ``forward`` only to return it (this package's hinge losses run the base one), and no
    ``override_train_ops`` is set.
    """
    train_ops = type(loss).train_ops
    reviewed = any(train_ops is cls.train_ops for cls in _DEFERRABLE)
    return reviewed and getattr(loss, "override_train_ops", None) is None


class _DeviceValue(torch.Tensor):
    """A loss value whose ``.item()`` hands back the (detached) tensor instead of reading it."""

    def item(self):
        return self.detach().as_subclass(torch.Tensor)


def _as_device_values(out):
    if isinstance(out, torch.Tensor):
        return out.as_subclass(_DeviceValue)
    if isinstance(out, tuple):
        return tuple(_as_device_values(o) for o in out)
    return out


def _run_train_ops(loss, arguments: dict):
    """``loss.train_ops(**arguments)``, its value left on the device where the loss allows it."""
    if not defers_reading(loss):
        return loss.train_ops(**arguments)
    own = loss.__dict__.get("forward")  # an instance-level forward (e.g. a user's wrapper)
    forward = loss.forward

    def deferred(*args, **kwargs):
        return _as_device_values(forward(*args, **kwargs))

    loss.forward = deferred
    try:
        value = loss.train_ops(**arguments)
    finally:
        if own is None:
            del loss.forward
        else:
            loss.forward = own
    return value


@dataclass
class _Step:
    """What one training step left to be read: loss values and squared gradient norms."""

    losses: list[tuple[str, object, str]] = field(default_factory=list)  # (name, value, adds to)
    grads: dict[str, object] = field(default_factory=dict)  # model name -> sum over losses
    generator_iters: int = 0
    discriminator_iters: int = 0


def _tensors(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple):
        return [t for v in value for t in _tensors(v)]
    return []


def _on_host(value, numbers):
    """``value`` with each tensor replaced by the next of ``numbers`` (an iterator of floats)."""
    if isinstance(value, torch.Tensor):
        return next(numbers)
    if isinstance(value, tuple):
        return tuple(_on_host(v, numbers) for v in value)
    return value


def _read(values: list[torch.Tensor]) -> list[float]:
    """All ``values`` (scalars) as floats, in one transfer from the device."""
    if not values:
        return []
    device = values[0].device
    stacked = torch.stack([v.detach().reshape(()).to(device, torch.float64) for v in values])
    return stacked.tolist()


class DeviceLoggingMixin:
    """TorchGAN ``Trainer`` add-on: loss and gradient statistics stay on the device, read every
    ``log_every`` steps and at each epoch's end.

    Put it before TorchGAN's ``Trainer`` and after any add-on whose ``train_iter`` wraps
    TorchGAN's (it replaces TorchGAN's ``train_iter``, so what comes after it in the method
    resolution order is not called):
    ``class RunTrainer(EMAStep, DeviceLoggingMixin, Trainer)``.

    With ``log_every=None`` it does nothing: TorchGAN's own step, logging and reads. Otherwise the
    step differs from TorchGAN's in what is read, not in what is trained: the same losses run in
    the same order with the same arguments (weights and loss values are bit-identical), and each
    model's gradients are cleared after each loss as TorchGAN's ``GradientVisualize`` does
    (TorchGAN skips that when the squared norm is below ``1e-5``; every ``train_ops`` clears its
    own optimizer's gradients first, so it changes nothing). The gradient statistic is the same
    sum of squares, computed as a squared norm of per-parameter norms on the device (float32, so
    it agrees with TorchGAN's to about ``1e-6``, not bit for bit).

    Losses that need their value on the host (see :func:`defers_reading`) keep TorchGAN's read.
    TorchGAN's WGAN-GP penalty also draws its interpolation weight as ``torch.rand(1).item()``: a
    host tensor, so no device wait.

    Mid-epoch visualisers run once per step as in TorchGAN, but in a burst at each flush, so a
    progress bar advances ``log_every`` steps at a time and a visualiser timing the gaps between
    its calls (like the quality suite's ``StepClock``) should time flushes instead. The
    ``DivergenceGuard`` of :mod:`~torchgan_lstm.trainer.guards` sees no values inside
    ``train_iter`` any more; the flush does its check.

    Args:
        *args, **kwargs: as for ``torchgan.trainer.Trainer``.
        log_every: steps between reads of the device, an integer >= 1; ``None`` (default):
            TorchGAN's own step.

    Raises:
        ValueError: ``log_every`` is not ``None`` or an integer >= 1.
        TrainingDiverged: (from :meth:`flush_logs`) a loss or gradient statistic is not finite.
    """

    def __init__(self, *args, log_every: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.log_every = None if log_every is None else check_int("log_every", log_every)
        self.steps_logged = 0  # steps whose statistics have been read, the resumed ones included
        self._pending: list[_Step] = []
        if self.log_every is not None:
            # TorchGAN's train() runs the mid-epoch visualisers after every train_iter; they run
            # at the flushes instead, once per flushed step.
            self._run_mid_epoch = self.logger.run_mid_epoch
            self.logger.run_mid_epoch = self._mid_epoch

    @property
    def pending_steps(self) -> int:
        """Steps trained whose statistics are still on the device."""
        return len(self._pending)

    def train_iter(self):
        """TorchGAN's ``train_iter`` without host reads (see the class docstring).

        Returns:
            ``(0.0, 0.0, generator_iters, discriminator_iters)``: the loss sums reach
            ``loss_information`` at the flush; the counts now, as TorchGAN's ``ncritic``
            schedule reads them.
        """
        if self.log_every is None:
            return super().train_iter()
        self.train_iter_custom()
        step = _Step()
        info = self.loss_information
        for name, loss in self.losses.items():
            is_g, is_d = isinstance(loss, GeneratorLoss), isinstance(loss, DiscriminatorLoss)
            if is_g and is_d:  # TorchGAN counts these as a discriminator loss that steps both
                runs, adds, kinds = info["generator_iters"] % self.ngen == 0, "both", None
            elif is_g:
                runs, adds, kinds = info["discriminator_iters"] % self.ncritic == 0, "g", Generator
            elif is_d:
                runs, adds, kinds = info["generator_iters"] % self.ngen == 0, "d", Discriminator
            else:
                continue
            if runs:
                value = _run_train_ops(loss, self._get_arguments(self.loss_arg_maps[name]))
                step.losses.append((name, value, adds))
                step.generator_iters += adds != "d"
                step.discriminator_iters += adds != "g"
            for model_name in self.model_names:
                model = getattr(self, model_name)
                if kinds is None or isinstance(model, kinds):
                    self._add_squared_gradient_norm(step, model_name, model)
        self._pending.append(step)
        return 0.0, 0.0, step.generator_iters, step.discriminator_iters

    @staticmethod
    def _add_squared_gradient_norm(step: _Step, name: str, model, eps: float = 1e-5) -> None:
        # TorchGAN's GradientVisualize.update_grads, on the device.
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if not grads:
            return
        squared = torch.nn.utils.get_total_norm(grads).square()
        squared = torch.where(squared > eps, squared, torch.zeros_like(squared))
        step.grads[name] = squared + step.grads[name] if name in step.grads else squared
        model.zero_grad()

    def _mid_epoch(self, trainer, *args) -> None:
        if len(self._pending) >= self.log_every:
            self.flush_logs(*args)

    def flush_logs(self, *args) -> None:
        """Read the pending steps' statistics in one transfer, check them and log them.

        For each pending step in order: its loss values are appended to TorchGAN's loss logs
        and added to ``loss_information``, its gradient statistics to the gradient logs, and
        TorchGAN's mid-epoch visualisers run, seeing ``loss_information`` as it was after that
        step. Nothing to do when no step is pending.

        Args:
            *args: passed on to the visualisers, as TorchGAN's ``Logger.run_mid_epoch`` does.

        Raises:
            TrainingDiverged: a loss value or a gradient statistic is ``nan`` or infinite; the
                steps before it are logged, the message names the loss and the step.
        """
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        tensors = [
            t
            for step in pending
            for value in [*(v for _, v, _ in step.losses), *step.grads.values()]
            for t in _tensors(value)
        ]
        numbers = iter(_read(tensors))
        info = self.loss_information
        # Trainer.train has already added every pending step's counts; replay them step by step.
        counts = {
            "generator_iters": info["generator_iters"] - sum(s.generator_iters for s in pending),
            "discriminator_iters": info["discriminator_iters"]
            - sum(s.discriminator_iters for s in pending),
        }
        final = {k: info[k] for k in counts}
        loss_logs = self.logger.get_loss_viz().logs
        grad_logs = self.logger.get_grad_viz().logs
        try:
            for step in pending:
                number = self.steps_logged + 1
                losses = [(n, _on_host(v, numbers), adds) for n, v, adds in step.losses]
                grads = {n: _on_host(v, numbers) for n, v in step.grads.items()}
                _check_finite(losses, grads, number, self.log_every)
                lgen = ldis = 0.0
                for name, value, adds in losses:  # TorchGAN's sums, in its order
                    loss_logs[name].append(value)
                    if adds == "both" and isinstance(value, tuple):
                        lgen, ldis = lgen + value[0], ldis + value[1]
                    elif adds == "g":
                        lgen += value
                    else:
                        ldis += value
                info["generator_losses"] += lgen
                info["discriminator_losses"] += ldis
                counts["generator_iters"] += step.generator_iters
                counts["discriminator_iters"] += step.discriminator_iters
                info.update(counts)
                for name, value in grads.items():
                    grad_logs[name][-1] += value
                self.steps_logged = number
                self._run_mid_epoch(self, *args)
        finally:
            info.update(final)

    def save_model(self, epoch, save_items=None):
        """Flush (and check) the pending steps, then TorchGAN's ``save_model``: a checkpoint
        never holds weights from after a step whose loss was not read."""
        self.flush_logs()
        return super().save_model(epoch, save_items)

    def load_model(self, load_path="", load_items=None):
        """TorchGAN's ``load_model``; steps are then counted on from the loaded run's logs."""
        super().load_model(load_path, load_items)
        self._pending = []
        logs = self.logger.get_loss_viz().logs
        self.steps_logged = max((len(v) for v in logs.values()), default=0)


def _check_finite(losses, grads, step: int, log_every: int | None) -> None:
    named = [(name, value) for name, value, _ in losses]
    named += [(f"the squared gradient norm of {name}", value) for name, value in grads.items()]
    for name, value in named:
        for number in value if isinstance(value, tuple) else (value,):
            if not math.isfinite(number):
                raise TrainingDiverged(
                    f"training diverged: {name} is {number} at step {step} (read with "
                    f"log_every={log_every}); stopped before the next checkpoint, so the ones "
                    f"already written are kept (resume from one with a lower learning rate)"
                )

"""TorchGAN's ``Trainer`` with what a training run adds, in one subclass.

- a divergence guard: the first ``nan`` or infinite loss stops the run before it is logged or
  checkpointed (:mod:`.guards`);
- optionally an exponential moving average of the generator for samples, metrics and
  checkpoints (:mod:`.ema`);
- a strategy (:mod:`.strategy`): one process, or one rank of a ``torchrun`` job (DDP wrappers,
  rank 0 alone writes and evaluates, the ranks stop together);
- ``resume_state``: the random state and place in the data saved with every checkpoint;
- optionally, loss and gradient statistics kept on the device and read every ``log_every``
  steps (:mod:`.device_logging`), and every generator run without its graph in the
  discriminator's losses (:func:`torchgan_lstm.compat.frozen_in_discriminator_step`; bit-identical
  results, so a DCGAN baseline gets the same saving as our models).

Everything else, the losses, the epoch loop, logging, checkpoint format, is TorchGAN's.
"""

from __future__ import annotations

from torch import nn
from torchgan.models import Generator
from torchgan.trainer import Trainer

from .._validation import InputError
from .acceleration import accelerate
from .device_logging import DeviceLoggingMixin
from .ema import GeneratorEMA
from .guards import TrainingDiverged, first_non_finite
from .strategy import SingleProcess

__all__ = ["RunTrainer"]


class RunTrainer(DeviceLoggingMixin, Trainer):
    """TorchGAN's ``Trainer`` plus the divergence guard, EMA, a training strategy and optional
    sync-free logging.

    Args:
        models: as for ``torchgan.trainer.Trainer``.
        losses_list: as for ``torchgan.trainer.Trainer``.
        strategy: one process (default) or :class:`~torchgan_lstm.trainer.distributed.Torchrun`.
        ema_decay: ``> 0`` keeps a :class:`~torchgan_lstm.trainer.ema.GeneratorEMA` of the
            model named ``generator`` with this decay; ``0`` keeps none.
        amp: bf16 autocast of the models' forward passes. Like ``compile`` and
            ``channels_last``, a speed switch applied to the models after the average is copied
            (it stays plain float32) and before the strategy wraps them
            (:func:`~torchgan_lstm.trainer.acceleration.accelerate`).
        compile: ``torch.compile`` the models.
        channels_last: NHWC memory format for the convolutions.
        log_every: read loss and gradient statistics from the device every this many steps
            (and before every checkpoint) instead of after each step
            (:class:`~torchgan_lstm.trainer.device_logging.DeviceLoggingMixin`); ``None``:
            TorchGAN's own per-step reads.
        **kwargs: the other arguments of ``torchgan.trainer.Trainer``.

    Raises:
        InputError: ``ema_decay > 0`` without a model named ``generator``, or a model the
            strategy cannot wrap.
    """

    def __init__(
        self,
        models: dict,
        losses_list: list,
        *,
        strategy: SingleProcess | None = None,
        ema_decay: float = 0.0,
        amp: bool = False,
        compile: bool = False,
        channels_last: bool = False,
        log_every: int | None = None,
        **kwargs,
    ):
        super().__init__(models, losses_list, log_every=log_every, **kwargs)
        self.strategy = strategy if strategy is not None else SingleProcess()
        self.step = 0  # training steps done, over the whole run (set when resuming)
        self.resume_state: dict = {}
        self.data_info: dict = {}  # what samples need of the data (sequence scaling), saved
        self.ema: GeneratorEMA | None = None
        if ema_decay > 0:
            if "generator" not in self.model_names:
                raise InputError(
                    f"ema_decay needs a model named 'generator', got models {self.model_names}"
                )
            self.ema = GeneratorEMA(self.generator, ema_decay)
        self._live_generator: nn.Module | None = None
        for name in self.model_names:
            model = getattr(self, name)
            if isinstance(model, Generator) and not hasattr(model, "frozen_in_discriminator_step"):
                model.frozen_in_discriminator_step = True
            accelerate(model, self.device, amp, compile, channels_last)
        self.strategy.prepare(self)

    def sampling_generator(self) -> nn.Module:
        """The generator that samples are drawn from: the average when the run keeps one."""
        if self.ema is not None:
            return self.ema.module
        return self.strategy.unwrap(self._live_generator or self.generator)

    def _get_arguments(self, arg_map: dict) -> dict:
        # TorchGAN calls this right before each loss's train_ops.
        self.strategy.before_loss(self, arg_map)
        return super()._get_arguments(arg_map)

    def train_iter(self):
        """TorchGAN's step, then the divergence check and the average's update.

        Raises:
            TrainingDiverged: a loss of this step (on any rank) is ``nan`` or infinite.
        """
        logs = self.logger.get_loss_viz().logs
        seen = {name: len(values) for name, values in logs.items()}
        result = super().train_iter()
        self.step += 1
        problem = first_non_finite(logs, seen)
        if self.strategy.agree([problem is not None])[0]:
            where = f"{problem[0]} is {problem[1]}" if problem else "a loss of another rank is"
            raise TrainingDiverged(
                f"training diverged: {where} at step {self.step}; stopped before the next "
                f"checkpoint, so the ones already written are kept (resume from one with a "
                f"lower learning rate)"
            )
        if result[2] and self.ema is not None:  # the generator was stepped
            self.ema.update(self.strategy.unwrap(self.generator))
        return result

    def save_model(self, epoch, save_items=None):
        """TorchGAN's checkpoint (the average too, when kept), written by rank 0 only."""
        if self.strategy.is_main:
            super().save_model(epoch, self._items(save_items))

    def load_model(self, load_path="", load_items=None):
        """TorchGAN's (patched, safe) load, the average too when kept; on every rank. The metric
        objects built for this run are kept (a checkpoint holds only their configuration, and
        the run's own share one set of samples per evaluation)."""
        metrics = self.metrics
        super().load_model(load_path, self._items(load_items))
        if metrics is not None:
            self.metrics = metrics

    def _items(self, items) -> list:
        # TorchGAN takes None, one item or a list for save_items / load_items.
        items = [] if items is None else list(items) if isinstance(items, list) else [items]
        return [*items, "generator_ema"] if self.ema is not None else items

    def eval_ops(self, **kwargs):
        """TorchGAN's metrics (rank 0 only), on the average when the run keeps one: from here
        until the next epoch starts (end-of-epoch logging, ``optim_ops``) ``self.generator`` is
        the average, so the sample grids show it too."""
        if self.ema is not None:
            self._live_generator, self.generator = self.generator, self.ema.module
        if self.strategy.is_main:
            super().eval_ops(**kwargs)

    def optim_ops(self):
        """Put the live generator back, then TorchGAN's schedulers."""
        if self._live_generator is not None:
            self.generator, self._live_generator = self._live_generator, None
        super().optim_ops()

    @property
    def generator_ema(self) -> dict:
        """The average's state dict, as stored in checkpoints."""
        return self.ema.state_dict()

    @generator_ema.setter
    def generator_ema(self, state: dict) -> None:
        self.ema.load_state_dict(state)

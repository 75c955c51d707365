"""Fixes that make TorchGAN 0.1.0 (2021) work on current torch and torchvision.

Each fix replaces one TorchGAN method, not anything in torch or torchvision, is applied once on
``import torchgan_lstm`` (applying again changes nothing) and is covered by a test that fails
without it. The originals stay reachable in :data:`ORIGINALS` for those tests.

- ``ImageVisualize.__call__`` passed ``range=`` to ``torchvision.utils.make_grid``, renamed
  ``value_range`` (torchvision 0.10, removed later): every run crashed at the end of epoch 1.
  Given a generator of sequences ``(N, steps, features)`` it crashed there too, inside PIL;
  it now skips such a generator with a warning that names the sequence visualiser.
- ``BaseTrainer.load_model`` relied on ``torch.load`` unpickling anything; since torch 2.6 it
  loads weights only, so every TorchGAN checkpoint was refused, and a bare ``except:`` hid why.
  It now loads with an allow-list of exactly what TorchGAN saves, checks every model's parameter
  shapes before touching it, reports the real cause, and loads ``load_items`` (it read the
  literal key ``"itms"``). It also continues the logger's step counts, which restarted at 1, so
  a resumed run no longer wrote its sample grids over the first epochs' files.
- ``BaseTrainer.save_model`` wrote checkpoints in place, so a crash mid-write left a corrupt
  file where the last good one was; it now writes atomically.
- ``BaseTrainer._store_loss_maps`` (the last step of building a ``Trainer`` or
  ``ParallelTrainer``, once its models exist) accepted any loss with any models: an energy-based
  loss then trained our logit critic towards minus infinity, and an ACGAN loss on our
  unconditional generator crashed mid-epoch with a bare ``Exception``. When a model of this
  package is in the ``Trainer``, it now first runs
  :func:`torchgan_lstm.losses.check_loss_support`, a ``ValueError`` naming the family needed; a
  ``Trainer`` without our models is left exactly as TorchGAN builds it.
- The discriminator's losses (``DiscriminatorLoss.train_ops``, which the minimax, least-squares,
  hinge, Wasserstein and energy-based losses run, and the ``train_ops`` of
  ``WassersteinGradientPenalty``, ``BoundaryEquilibriumDiscriminatorLoss`` and
  ``AuxiliaryClassifierDiscriminatorLoss``) ran the generator with autograd recording, only to
  detach its images (or, in the penalty and ACGAN, to backpropagate into a generator whose
  gradients the generator's own step zeroes first): a forward graph of the generator kept and,
  for those two, a backward through it, every discriminator step. For a generator of this package
  (or any model with ``frozen_in_discriminator_step = True``) the loss now sees it through
  :class:`FrozenGenerator`: its parameters do not record a graph and its images are a leaf that
  requires grad, so every loss still differentiates through the discriminator (the penalties
  take their gradient at those images). Autograd's mode stays on, so every kernel, random draw
  and batch-norm update is the one TorchGAN ran: losses and weights are bit-identical (tested).
  Other models are left as TorchGAN runs them (set the attribute to ``False`` to opt ours out).
"""

from __future__ import annotations

import functools
import warnings

import torch
import torchgan.models
import torchvision
from torchgan.logging.visualize import GradientVisualize, ImageVisualize, LossVisualize
from torchgan.losses import (
    AuxiliaryClassifierDiscriminatorLoss,
    BoundaryEquilibriumDiscriminatorLoss,
    DiscriminatorLoss,
    WassersteinGradientPenalty,
)
from torchgan.models import Discriminator, Generator
from torchgan.trainer.base_trainer import BaseTrainer

from .checkpoint import CheckpointError, atomic_save, check_state_dict, safe_load
from .losses import check_loss_support, is_ours

__all__ = ["ORIGINALS", "FrozenGenerator", "apply", "frozen_in_discriminator_step"]

# The discriminator losses whose own train_ops call the generator (the others reach one of these
# through super(): WassersteinDiscriminatorLoss, EnergyBasedDiscriminatorLoss).
_GENERATOR_CALLING_LOSSES = (
    DiscriminatorLoss,
    WassersteinGradientPenalty,
    BoundaryEquilibriumDiscriminatorLoss,
    AuxiliaryClassifierDiscriminatorLoss,
)

ORIGINALS = {
    "ImageVisualize.__call__": ImageVisualize.__call__,
    "BaseTrainer.load_model": BaseTrainer.load_model,
    "BaseTrainer.save_model": BaseTrainer.save_model,
    "BaseTrainer._store_loss_maps": BaseTrainer._store_loss_maps,
    **{f"{cls.__name__}.train_ops": cls.train_ops for cls in _GENERATOR_CALLING_LOSSES},
}


def _image_visualize_call(self, trainer, **kwargs):
    # TorchGAN's method with make_grid's ``range`` renamed to ``value_range``, skipping (with a
    # warning) generators whose samples are not image batches.
    pos = 0
    for model in trainer.model_names:
        generator = getattr(trainer, model)
        if isinstance(generator, Generator):
            with torch.no_grad():
                image = generator(*self.test_noise[pos])
                if image.dim() != 4:
                    warnings.warn(
                        f"{model} makes samples of shape {tuple(image.shape)}, not images "
                        f"(N, C, H, W), so TorchGAN's ImageVisualize does not draw them; for "
                        f"sequences use torchgan_lstm.trainer.sequence_plots.SequenceTrainer "
                        f"(or use_sequence_plots(trainer)), which draws them as line plots",
                        stacklevel=2,
                    )
                    pos += 1
                    continue
                image = torchvision.utils.make_grid(
                    image, nrow=self.nrow, normalize=True, value_range=(-1, 1)
                )
                super(ImageVisualize, self).__call__(trainer, image, model, **kwargs)
            self.step -= 1
            pos = pos + 1
    self.step += 1 if pos > 0 else 0


def _save_model(self, epoch, save_items=None):
    # TorchGAN's method, writing through atomic_save.
    if self.last_retained_checkpoint == self.retain_checkpoints:
        self.last_retained_checkpoint = 0
    save_path = self.checkpoints + str(self.last_retained_checkpoint) + ".model"
    self.last_retained_checkpoint += 1
    print(f"Saving Model at '{save_path}'")
    model = {
        "epoch": epoch + 1,
        "loss_information": self.loss_information,
        "loss_objects": self.losses,
        "metric_objects": self.metrics,
        "loss_logs": (self.logger.get_loss_viz()).logs,
    }
    for save_item in self.model_names + self.optimizer_names:
        model[save_item] = getattr(self, save_item).state_dict()
    if save_items is not None:
        for item in save_items if isinstance(save_items, list) else [save_items]:
            model[item] = getattr(self, item)
    atomic_save(model, save_path)


def _load_model(self, load_path="", load_items=None):
    """Load a TorchGAN checkpoint safely; see the module docstring.

    Raises:
        CheckpointError: the file is unreadable, asks for a class outside the allow-list, lacks
            an entry, or holds models of another configuration (all checked before any state
            of the trainer is changed).
    """
    if load_path == "":
        load_path = self.checkpoints + str(self.last_retained_checkpoint) + ".model"
    print(f"Loading Model From '{load_path}' to {self.device}")
    checkpoint = safe_load(load_path, map_location=self.device)
    items = load_items if isinstance(load_items, list) else [load_items] if load_items else []
    required = ["epoch", "loss_objects", "metric_objects", "loss_information", "loss_logs"]
    missing = [
        k for k in required + self.model_names + self.optimizer_names + items if k not in checkpoint
    ]
    if missing:
        raise CheckpointError(f"checkpoint {load_path!r} lacks {missing}")
    for name in self.model_names:
        check_state_dict(name, getattr(self, name), checkpoint[name])
    self.start_epoch = checkpoint["epoch"]
    self.losses = checkpoint["loss_objects"]
    self.metrics = checkpoint["metric_objects"]
    self.loss_information = checkpoint["loss_information"]
    self.logger.get_loss_viz().logs = checkpoint["loss_logs"]
    for name in self.model_names + self.optimizer_names:
        getattr(self, name).load_state_dict(checkpoint[name])
    for item in items:
        setattr(self, item, checkpoint[item])
    _restore_logger_steps(self)


def _restore_logger_steps(trainer) -> None:
    # TorchGAN's visualisers count their own steps from 1 and load_model left them there, so a
    # resumed run wrote its sample grids over epoch1_*.png, epoch2_*.png... and its TensorBoard
    # curves restarted at step 1. Continue the counts where the saved run stopped.
    iters = max((len(v) for v in trainer.logger.get_loss_viz().logs.values()), default=0)
    for visualizer in trainer.logger.logger_end_epoch:  # images, metrics: once per epoch
        visualizer.step = trainer.start_epoch + 1
    for visualizer in trainer.logger.logger_mid_epoch:
        if isinstance(visualizer, LossVisualize):  # once per step, and once at each epoch's end
            visualizer.step = iters + trainer.start_epoch + 1
        elif isinstance(visualizer, GradientVisualize):  # once per model per step
            visualizer.step = iters * len(trainer.model_names) + 1


def _store_loss_maps(self):
    """Check that the losses fit the models' families, then TorchGAN's method.

    Raises:
        ValueError: see :func:`torchgan_lstm.losses.check_loss_support`.
    """
    models = [getattr(self, name) for name in self.model_names]
    check_loss_support(
        list(self.losses.values()),
        [m for m in models if isinstance(m, Generator)],
        [m for m in models if isinstance(m, Discriminator)],
    )
    ORIGINALS["BaseTrainer._store_loss_maps"](self)


def frozen_in_discriminator_step(generator) -> bool:
    """Whether the discriminator's losses run ``generator`` without recording its graph.

    ``generator.frozen_in_discriminator_step`` decides when set (``True``/``False``); otherwise
    it is on for this package's models and off for every other, which TorchGAN runs as it always
    did.
    """
    chosen = getattr(generator, "frozen_in_discriminator_step", None)
    return is_ours(generator) if chosen is None else bool(chosen)


class FrozenGenerator:
    """The generator as a discriminator's loss sees it: every attribute of the generator, but a
    call records no graph through its parameters and returns its images as a leaf that requires
    grad (so a gradient penalty at those images, or any loss, still reaches the discriminator).

    Only ``requires_grad`` of the parameters changes, for the duration of the call; autograd's
    mode stays on, so the generator runs exactly the kernels and random draws it runs in
    training (PyTorch's CPU LSTM picks other kernels under ``torch.no_grad()``, rounding
    differently), and a generator that behaves differently without grad mode (like the
    distributed one, which draws its rank's noise only then) behaves the same.

    Args:
        generator: the ``Trainer``'s generator.
    """

    def __init__(self, generator: torch.nn.Module):
        self.generator = generator

    def __getattr__(self, name: str):
        return getattr(self.generator, name)

    def __call__(self, *args, **kwargs):
        params = [p for p in self.generator.parameters() if p.requires_grad]
        try:
            for p in params:
                p.requires_grad_(False)
            images = self.generator(*args, **kwargs)
        finally:
            for p in params:
                p.requires_grad_(True)
        if isinstance(images, torch.Tensor) and images.is_floating_point():
            images.requires_grad_()
        return images


def _frozen_generator_train_ops(train_ops):
    """Wrap a discriminator loss's ``train_ops`` so that it sees the generator frozen."""

    @functools.wraps(train_ops)  # keeps the signature that TorchGAN maps arguments from
    def wrapped(self, *args, **kwargs):
        if self.override_train_ops is None:  # a user's own train_ops gets the real model
            if "generator" in kwargs:
                kwargs["generator"] = _frozen(kwargs["generator"])
            elif args:
                args = (_frozen(args[0]), *args[1:])
        return train_ops(self, *args, **kwargs)

    return wrapped


def _frozen(generator):
    if isinstance(generator, FrozenGenerator) or not frozen_in_discriminator_step(generator):
        return generator
    return FrozenGenerator(generator)


_PATCHES = {
    (ImageVisualize, "__call__"): _image_visualize_call,
    (BaseTrainer, "load_model"): _load_model,
    (BaseTrainer, "save_model"): _save_model,
    (BaseTrainer, "_store_loss_maps"): _store_loss_maps,
    **{
        (cls, "train_ops"): _frozen_generator_train_ops(ORIGINALS[f"{cls.__name__}.train_ops"])
        for cls in _GENERATOR_CALLING_LOSSES
    },
}


def apply() -> None:
    """Install every fix, and make this package's models importable from ``torchgan.models``
    (code and configs that look classes up there find ours too). Idempotent."""
    for (owner, name), fix in _PATCHES.items():
        if getattr(owner, name) is not fix:
            fix.__doc__ = fix.__doc__ or getattr(owner, name).__doc__
            setattr(owner, name, fix)
    from .models import (
        ConvDiscriminator,
        ConvSequenceDiscriminator,
        LSTMGenerator,
        LSTMSequenceDiscriminator,
        LSTMSequenceGenerator,
    )

    for cls in (
        LSTMGenerator,
        ConvDiscriminator,
        LSTMSequenceGenerator,
        LSTMSequenceDiscriminator,
        ConvSequenceDiscriminator,
    ):
        setattr(torchgan.models, cls.__name__, cls)

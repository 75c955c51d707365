"""Loss families by name (each the list of TorchGAN loss objects a ``Trainer`` takes), and the
check that a ``Trainer``'s losses fit its models' families, run at ``Trainer`` construction."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torchgan.losses import (
    AuxiliaryClassifierDiscriminatorLoss,
    AuxiliaryClassifierGeneratorLoss,
    BoundaryEquilibriumDiscriminatorLoss,
    BoundaryEquilibriumGeneratorLoss,
    DiscriminatorLoss,
    DraganGradientPenalty,
    EnergyBasedDiscriminatorLoss,
    EnergyBasedGeneratorLoss,
    EnergyBasedPullingAwayTerm,
    FeatureMatchingGeneratorLoss,
    GeneratorLoss,
    HistoricalAverageDiscriminatorLoss,
    HistoricalAverageGeneratorLoss,
    LeastSquaresDiscriminatorLoss,
    LeastSquaresGeneratorLoss,
    MinimaxDiscriminatorLoss,
    MinimaxGeneratorLoss,
    MutualInformationPenalty,
    WassersteinDiscriminatorLoss,
    WassersteinGeneratorLoss,
    WassersteinGradientPenalty,
)
from torchgan.models import Discriminator, Generator

from ._validation import InputError, check_choice

__all__ = [
    "DOUBLE_BACKWARD_LOSSES",
    "LOSS_FAMILIES",
    "HingeDiscriminatorLoss",
    "HingeGeneratorLoss",
    "build_losses",
    "check_loss_support",
    "has_batch_norm",
    "is_ours",
    "needs_double_backward",
]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    return {"mean": loss.mean, "sum": loss.sum}.get(reduction, lambda: loss)()


class HingeGeneratorLoss(GeneratorLoss):
    r"""Hinge-loss generator objective (Lim & Ye, 2017; Miyato et al., 2018): :math:`-D(G(z))`.

    TorchGAN ships none; this follows its loss API (``reduction``, ``override_train_ops``) and
    is trained by TorchGAN's standard ``train_ops``.
    """

    def forward(self, dgz: Tensor) -> Tensor:
        """``dgz``: discriminator logits of generated data, ``(N, *)``."""
        return _reduce(-dgz, self.reduction)


class HingeDiscriminatorLoss(DiscriminatorLoss):
    r"""Hinge-loss discriminator objective: :math:`\max(0, 1 - D(x)) + \max(0, 1 + D(G(z)))`."""

    def forward(self, dx: Tensor, dgz: Tensor) -> Tensor:
        """``dx``, ``dgz``: discriminator logits of real and generated data, ``(N, *)``."""
        return _reduce(F.relu(1.0 - dx), self.reduction) + _reduce(
            F.relu(1.0 + dgz), self.reduction
        )


LOSS_FAMILIES: dict[str, Callable[[], list]] = {
    # Non-saturating minimax (Goodfellow et al., 2014), TorchGAN's default generator loss.
    "minimax": lambda: [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()],
    # Minimax with one-sided label smoothing (Salimans et al., 2016): the discriminator's target
    # for real data is 0.9, for generated data still 0: certainty about real data costs it.
    "minimax-smoothed": lambda: [
        MinimaxGeneratorLoss(),
        MinimaxDiscriminatorLoss(label_smoothing=0.1),
    ],
    # Wasserstein with gradient penalty (Gulrajani et al., 2017), lambda = 10.
    "wgan-gp": lambda: [
        WassersteinGeneratorLoss(),
        WassersteinDiscriminatorLoss(),
        WassersteinGradientPenalty(),
    ],
    # Least squares (Mao et al., 2017).
    "lsgan": lambda: [LeastSquaresGeneratorLoss(), LeastSquaresDiscriminatorLoss()],
    # Feature matching for the generator (Salimans et al., 2016), minimax for the discriminator.
    "feature-matching": lambda: [FeatureMatchingGeneratorLoss(), MinimaxDiscriminatorLoss()],
    # Hinge (Lim & Ye, 2017), as used with spectral normalisation by Miyato et al. (2018).
    "hinge": lambda: [HingeGeneratorLoss(), HingeDiscriminatorLoss()],
    # Minimax with DRAGAN's gradient penalty around the real data (Kodali et al., 2017).
    "dragan": lambda: [
        MinimaxGeneratorLoss(),
        MinimaxDiscriminatorLoss(),
        DraganGradientPenalty(),
    ],
    # Minimax with historical averaging of both players' parameters (Salimans et al., 2016).
    "historical": lambda: [
        MinimaxGeneratorLoss(),
        MinimaxDiscriminatorLoss(),
        HistoricalAverageGeneratorLoss(),
        HistoricalAverageDiscriminatorLoss(),
    ],
}


# Losses that differentiate through the discriminator's gradient (autograd.grad with
# create_graph=True, then backward): no torch.compile, no batch norm in the critic, and under
# DDP they run the critic unwrapped (its reducer cannot mark a parameter ready twice).
DOUBLE_BACKWARD_LOSSES = (WassersteinGradientPenalty, DraganGradientPenalty)


def needs_double_backward(family: str) -> bool:
    """Whether loss family ``family`` holds a gradient penalty (a double backward)."""
    return any(isinstance(loss, DOUBLE_BACKWARD_LOSSES) for loss in build_losses(family))


def build_losses(family: str) -> list:
    """Fresh TorchGAN loss objects for ``family``, one of :data:`LOSS_FAMILIES`.

    Raises:
        ValueError: unknown ``family``.
    """
    return LOSS_FAMILIES[check_choice("loss", family, LOSS_FAMILIES)]()


_AUTOENCODER_LOSSES = (
    EnergyBasedGeneratorLoss,
    EnergyBasedDiscriminatorLoss,
    EnergyBasedPullingAwayTerm,
    BoundaryEquilibriumGeneratorLoss,
    BoundaryEquilibriumDiscriminatorLoss,
)
_ACGAN_LOSSES = (AuxiliaryClassifierGeneratorLoss, AuxiliaryClassifierDiscriminatorLoss)


def has_batch_norm(model: nn.Module) -> bool:
    """Whether ``model`` holds a batch-norm layer (its outputs then depend on the whole batch)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def is_ours(model: nn.Module) -> bool:
    """Whether ``model`` is one of this package's models (its checks apply only to those)."""
    return type(model).__module__.startswith("torchgan_lstm.")


def check_loss_support(
    losses: list[nn.Module], generators: list[Generator], discriminators: list[Discriminator]
) -> None:
    """Refuse losses that need a model family that this package's models are not.

    TorchGAN's losses call every discriminator the same way, so a loss written for another
    family either crashes mid-epoch with a bare ``Exception`` or, worse, trains on meaningless
    numbers (an energy-based loss minimising an unbounded logit). This names the problem first.
    Only models of this package are judged: a ``Trainer`` with none of them (a user's own
    autoencoder or InfoGAN models, say) is left exactly as TorchGAN would run it.

    Args:
        losses: the ``Trainer``'s loss objects.
        generators: its generators.
        discriminators: its discriminators.

    Raises:
        ValueError: a loss needs an autoencoder discriminator (energy-based, boundary
            equilibrium), InfoGAN's latent split (mutual information), conditional models with
            an auxiliary classifier (ACGAN) and one of ours is not that; a gradient penalty
            (WGAN-GP, DRAGAN) meets one of our discriminators with batch norm; or a conditional
            generator and discriminator, one of them ours, disagree on ``num_classes``. The
            message names the loss and the family it needs.
    """
    ours = [m for m in (*generators, *discriminators) if is_ours(m)]
    if not ours:
        return
    for loss in losses:
        name = type(loss).__name__
        if isinstance(loss, _AUTOENCODER_LOSSES):
            for d in discriminators:
                if is_ours(d):
                    raise InputError(
                        f"{name} needs an autoencoder discriminator "
                        f"(torchgan.models.AutoEncodingDiscriminator), whose output is each "
                        f"image's reconstruction error (>= 0) used as its energy; "
                        f"{type(d).__name__} returns an unbounded real/fake logit, on which this "
                        f"loss has no minimum"
                    )
        elif isinstance(loss, MutualInformationPenalty):
            raise InputError(
                f"{name} needs InfoGAN's latent split: a generator fed discrete and "
                f"continuous latent codes besides the noise, a discriminator that also "
                f"returns the codes' distribution parameters, and a trainer providing the "
                f"codes (torchgan.models.InfoGANGenerator / InfoGANDiscriminator); got "
                f"{', '.join(type(m).__name__ for m in (*generators, *discriminators))}"
            )
        elif isinstance(loss, DOUBLE_BACKWARD_LOSSES):
            for d in discriminators:
                if is_ours(d) and has_batch_norm(d):
                    raise InputError(
                        f"{name} penalises each image's gradient, but {type(d).__name__} has "
                        f"batch norm, which couples the images of a batch; build it with norm "
                        f"'none', 'layer' or 'spectral'"
                    )
        elif isinstance(loss, _ACGAN_LOSSES):
            for g in generators:
                if is_ours(g) and g.label_type == "none":
                    raise InputError(
                        f"{name} needs a conditional generator (label_type 'generated' or "
                        f"'required' with num_classes); {type(g).__name__} has label_type='none'"
                    )
            for d in discriminators:
                if is_ours(d) and getattr(d, "num_classes", None) is None:
                    raise InputError(
                        f"{name} needs a discriminator with an auxiliary classifier, called as "
                        f"discriminator(x, mode='classifier'); build {type(d).__name__} with "
                        f"num_classes"
                    )
    for g in generators:
        for d in discriminators:
            if not (is_ours(g) or is_ours(d)):
                continue
            g_classes, d_classes = getattr(g, "num_classes", None), getattr(d, "num_classes", None)
            if g_classes is not None and d_classes is not None and g_classes != d_classes:
                raise InputError(
                    f"the generator has num_classes={g_classes} but the discriminator has "
                    f"num_classes={d_classes}; they must agree"
                )

"""Loss families by name: each is the list of TorchGAN loss objects a ``Trainer`` takes."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor
from torchgan.losses import (
    DiscriminatorLoss,
    FeatureMatchingGeneratorLoss,
    GeneratorLoss,
    LeastSquaresDiscriminatorLoss,
    LeastSquaresGeneratorLoss,
    MinimaxDiscriminatorLoss,
    MinimaxGeneratorLoss,
    WassersteinDiscriminatorLoss,
    WassersteinGeneratorLoss,
    WassersteinGradientPenalty,
)

from ._validation import check_choice

__all__ = [
    "DOUBLE_BACKWARD_LOSSES",
    "LOSS_FAMILIES",
    "HingeDiscriminatorLoss",
    "HingeGeneratorLoss",
    "build_losses",
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
}


# Families whose gradient penalty differentiates through the discriminator's gradient.
DOUBLE_BACKWARD_LOSSES = ("wgan-gp",)


def build_losses(family: str) -> list:
    """Fresh TorchGAN loss objects for ``family``, one of :data:`LOSS_FAMILIES`.

    Raises:
        ValueError: unknown ``family``.
    """
    return LOSS_FAMILIES[check_choice("loss", family, LOSS_FAMILIES)]()

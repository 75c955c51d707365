"""Loss families by name: each is the list of TorchGAN loss objects a ``Trainer`` takes."""

from __future__ import annotations

from collections.abc import Callable

from torchgan.losses import (
    FeatureMatchingGeneratorLoss,
    LeastSquaresDiscriminatorLoss,
    LeastSquaresGeneratorLoss,
    MinimaxDiscriminatorLoss,
    MinimaxGeneratorLoss,
    WassersteinDiscriminatorLoss,
    WassersteinGeneratorLoss,
    WassersteinGradientPenalty,
)

from ._validation import check_choice

__all__ = ["LOSS_FAMILIES", "build_losses"]

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
}


def build_losses(family: str) -> list:
    """Fresh TorchGAN loss objects for ``family``, one of :data:`LOSS_FAMILIES`.

    Raises:
        ValueError: unknown ``family``.
    """
    return LOSS_FAMILIES[check_choice("loss", family, LOSS_FAMILIES)]()

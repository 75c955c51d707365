"""Convolutional discriminator (critic) for TorchGAN: strided 4x4 convolutions, one logit out."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm
from torchgan.models import Discriminator

from .._validation import check_choice, check_fraction, check_image_batch, check_int, check_size

__all__ = ["NORMS", "ConvDiscriminator"]

NORMS = ("none", "batch", "spectral", "layer")


def _conv_block(in_ch: int, out_ch: int, norm: str, nl: nn.Module, dropout: float) -> nn.Sequential:
    conv = nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=norm not in ("batch", "layer"))
    layers: list[nn.Module] = [spectral_norm(conv) if norm == "spectral" else conv]
    if norm == "batch":
        layers.append(nn.BatchNorm2d(out_ch))
    elif norm == "layer":
        layers.append(nn.GroupNorm(1, out_ch))  # normalises over (C, H, W) of each image
    layers.append(nl)
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class ConvDiscriminator(Discriminator):
    r"""Discriminator of ``num_layers`` stride-2 4x4 convolutions and a linear read-out.

    With the defaults and ``step_channels=64`` this is the proposal's 64 -> 128 -> 256 network.
    It returns raw logits: TorchGAN's losses apply their own sigmoid where they need one.

    As a Wasserstein critic with gradient penalty use ``norm="none"``, ``"layer"`` or
    ``"spectral"``: ``"batch"`` is wrong for a critic, because batch norm couples the images of
    a batch and the penalty assumes each output depends on its own input only.

    Args:
        in_size: image size, an int or ``(height, width)``; any side >= 8 and >= ``2**num_layers``.
        in_channels: channels of the image.
        step_channels: channels of the first convolution, doubled at each further one.
        num_layers: number of stride-2 convolutions.
        dropout: dropout after each convolution's activation, in ``[0, 1)``.
        norm: ``"none"``, ``"batch"``, ``"spectral"`` (spectral normalisation of every weight)
            or ``"layer"`` (layer norm over each image's channels and positions).
        nonlinearity: activation; ``None`` means ``LeakyReLU(0.2)``.
        label_type: ``"none"`` (conditional critics are not supported yet).

    Raises:
        ValueError: an argument is out of range or unknown; the message names it.

    Shapes:
        ``forward(x)`` takes ``(batch, in_channels, height, width)`` and returns logits
        ``(batch,)``; with ``feature_matching=True`` it returns the last feature map
        ``(batch, step_channels * 2**(num_layers - 1), height / 2**num_layers, ...)``.
    """

    def __init__(
        self,
        in_size: int | Sequence[int] = 32,
        in_channels: int = 3,
        step_channels: int = 64,
        num_layers: int = 3,
        dropout: float = 0.3,
        norm: str = "none",
        nonlinearity: nn.Module | None = None,
        label_type: str = "none",
    ):
        super().__init__(check_int("in_channels", in_channels), label_type)
        check_choice("label_type", label_type, ("none",))
        self.norm = check_choice("norm", norm, NORMS)
        self.in_size = check_size("in_size", in_size)
        check_int("step_channels", step_channels)
        check_int("num_layers", num_layers)
        check_fraction("dropout", dropout)
        if min(self.in_size) < 2**num_layers:
            raise ValueError(
                f"in_size must be >= 2**num_layers = {2**num_layers} so that every convolution "
                f"has input left, got in_size={in_size} with num_layers={num_layers}"
            )
        nl = nn.LeakyReLU(0.2) if nonlinearity is None else nonlinearity
        blocks, channels, (h, w) = [], in_channels, self.in_size
        for i in range(num_layers):
            blocks.append(_conv_block(channels, step_channels * 2**i, norm, nl, dropout))
            channels, h, w = step_channels * 2**i, h // 2, w // 2
        self.model = nn.Sequential(*blocks)
        head = nn.Linear(channels * h * w, 1)
        self.disc = spectral_norm(head) if norm == "spectral" else head
        self._weight_initializer()

    def _weight_initializer(self) -> None:
        """TorchGAN's initialisation (Kaiming-normal convolutions, unit batch norm), applied to
        the raw weight under spectral normalisation, where ``weight`` is a computed view."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                parametrized = parametrize.is_parametrized(m, "weight")
                nn.init.kaiming_normal_(
                    m.parametrizations.weight.original if parametrized else m.weight
                )
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, feature_matching: bool = False) -> torch.Tensor:
        """Score images.

        Args:
            x: images ``(batch, in_channels, height, width)``.
            feature_matching: return the last hidden feature map instead of the logits.

        Returns:
            Logits ``(batch,)``, or the feature map when ``feature_matching`` is true.

        Raises:
            ValueError: ``x`` does not have the shape the discriminator was built for.
        """
        check_image_batch("x", x, self.input_dims, self.in_size)
        features = self.model(x)
        if feature_matching:
            return features
        return self.disc(features.flatten(1)).view(-1)

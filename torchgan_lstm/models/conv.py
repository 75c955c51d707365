"""Convolutional discriminator (critic) for TorchGAN: strided 4x4 convolutions, one logit out,
optionally conditioned by projection and with an auxiliary-classifier head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm
from torchgan.layers import MinibatchDiscrimination1d
from torchgan.models import Discriminator

from .._validation import (
    InputError,
    check_choice,
    check_fraction,
    check_image_batch,
    check_int,
    check_labels,
    check_num_classes,
    check_size,
)
from ..registry import register_model

__all__ = [
    "LABEL_TYPES",
    "LOGIT_NONLINEARITIES",
    "MODES",
    "NORMS",
    "READOUT_INITS",
    "ConvDiscriminator",
]

NORMS = ("none", "batch", "spectral", "layer")
READOUT_INITS = ("kaiming", "pytorch")
LOGIT_NONLINEARITIES = ("none", "leaky_relu")
LABEL_TYPES = ("none", "required")
MODES = ("discriminator", "classifier", "both")


def _conv_block(in_ch: int, out_ch: int, norm: str, nl: nn.Module, dropout: float) -> nn.Sequential:
    """A stride-2 4x4 convolution, its normalisation, the activation, dropout."""
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


def _identity(module: nn.Module) -> nn.Module:
    return module


def _raw_weight(module: nn.Module) -> torch.Tensor:
    """The trainable weight: under spectral normalisation ``weight`` is a computed view."""
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


def _check_classes(label_type: str, num_classes: int | None) -> int | None:
    # Unlike the generator, an unconditional critic may have classes: ACGAN's classifier head.
    if num_classes is None:
        if label_type == "required":
            raise InputError("label_type='required' needs num_classes (an integer >= 2)")
        return None
    return check_num_classes(num_classes)


def _check_pack(pack: int, label_type: str, num_classes: int | None, what: str = "images") -> int:
    check_int("pack", pack)
    if pack > 1 and (label_type != "none" or num_classes is not None):
        raise InputError(
            f"pack={pack} judges {what} in groups, so it needs an unconditional critic without "
            f"a classifier head (label_type='none', num_classes=None), got "
            f"label_type={label_type!r}, num_classes={num_classes!r}"
        )
    return pack


def _check_batch_packs(x: torch.Tensor, pack: int) -> None:
    if x.size(0) % pack:
        raise InputError(f"x's batch size must be a multiple of pack={pack}, got {x.size(0)}")


@register_model("conv_discriminator")
class ConvDiscriminator(Discriminator):
    r"""Discriminator of ``num_layers`` stride-2 4x4 convolutions and a read-out to one logit.

    With the defaults this is TorchGAN's ``DCGANDiscriminator`` (Radford et al., 2016: batch
    norm after every convolution but the first, LeakyReLU 0.2, no dropout; a bias-free,
    Kaiming-initialised read-out whose logit goes through LeakyReLU 0.2) for any image size,
    at half its width: 32 -> 64 -> 128 channels, as the command line trains it. At TorchGAN's
    width (``step_channels=64``, the proposal's 64 -> 128 -> 256) a plain TorchGAN loop at Adam
    2e-4 drew one class of Fashion-MNIST after 1,000 steps with TorchGAN's ``DCGANGenerator()``
    (docs: Benchmarks, Stability). Where TorchGAN's is defined (a power-of-two size with
    ``num_layers = log2(size) - 2``) it is the same network as TorchGAN's of the same
    ``step_channels``: from the same seed it draws the same initial weights and computes the
    same bits, so it trains as TorchGAN's does.
    The read-out is a linear layer over the last feature map, applied as the convolution it is
    (a kernel the size of that map). ``logit_nonlinearity="none"`` returns raw logits, as a
    projection critic does by default.

    As a Wasserstein critic with gradient penalty use ``norm="none"``, ``"layer"`` or
    ``"spectral"``: ``"batch"`` is wrong for a critic, because batch norm couples the images of
    a batch and the penalty assumes each output depends on its own input only (the same holds
    for ``minibatch_features``).

    With ``pack=m`` the critic judges ``m`` images at once (PacGAN, Lin et al., 2018): each
    group of ``m`` consecutive images of a batch is stacked along the channels and gets one
    logit, so a generator that draws the same kind of image over and over is easier to tell
    from the data than one image at a time shows. The first convolution reads ``m *
    in_channels`` channels; everything after it is unchanged and runs on ``batch / m`` inputs.
    With a gradient penalty, TorchGAN's penalty takes the norm of each image's part of its
    group's gradient, not of the group's whole gradient.

    With ``num_classes`` the discriminator also has an auxiliary-classifier head (Odena et al.,
    2017), reached by ``forward(x, mode="classifier")`` as TorchGAN's ACGAN losses call it. With
    ``label_type="required"`` the critic is conditioned by projection (Miyato & Koyama, 2018):
    the logit is ``linear(features) + <embed(y), pooled features>``, the features summed over
    positions.

    Args:
        in_size: image size, an int or ``(height, width)``; any side >= 8 and >= ``2**num_layers``.
        in_channels: channels of the image.
        step_channels: channels of the first convolution, doubled at each further one
            (TorchGAN's ``DCGANDiscriminator`` has 64).
        num_layers: number of stride-2 convolutions.
        dropout: dropout after each convolution's activation, in ``[0, 1)``.
        norm: ``"none"``, ``"batch"`` (after every convolution but the first, as in DCGAN's
            discriminator), ``"spectral"`` (spectral normalisation of every weight,
            the heads and the projection embedding included) or ``"layer"`` (layer norm over
            each image's channels and positions).
        nonlinearity: activation; ``None`` means ``LeakyReLU(0.2)``.
        label_type: ``"none"`` (unconditional critic) or ``"required"`` (projection-conditioned
            on the data's labels; needs ``num_classes``).
        num_classes: number of classes; adds the auxiliary-classifier head.
        minibatch_features: ``0`` (off) or the number of minibatch-discrimination features
            (Salimans et al., 2016; TorchGAN's ``MinibatchDiscrimination1d``) appended to the
            flattened features before the linear read-out.
        readout_init: initialisation of the logit's read-out: ``"kaiming"`` (Kaiming-normal
            weight, zero bias, drawn before the convolutions' weights: what TorchGAN's
            ``DCGANDiscriminator`` does with its read-out convolution) or ``"pytorch"``
            (``nn.Linear``'s own, about 2.4x smaller at the default width).
        readout_bias: whether the read-out has a bias; ``None`` (default): not after batch norm,
            as in TorchGAN's ``DCGANDiscriminator``, and otherwise yes.
        logit_nonlinearity: ``"leaky_relu"`` (the real/fake logit through ``LeakyReLU(0.2)``,
            TorchGAN's default ``last_nonlinearity``: a negative logit and its gradients are
            scaled by 0.2) or ``"none"`` (raw logits). ``None`` (default): ``"leaky_relu"``,
            but ``"none"`` for a projection critic (``label_type="required"``), whose logit is
            Miyato & Koyama's raw sum.
        pack: images judged together (PacGAN's packing degree); ``1`` (default) judges each
            image on its own. ``pack > 1`` needs an unconditional critic without a classifier
            head (``label_type="none"``, no ``num_classes``) and batches whose size is a
            multiple of ``pack``.

    Raises:
        ValueError: an argument is out of range or unknown; the message names it.

    Shapes:
        ``forward(x)`` (``forward(x, y)`` with ``label_type="required"``) takes ``x`` of shape
        ``(batch, in_channels, height, width)`` and ``y`` of shape ``(batch,)`` with values in
        ``[0, num_classes)``, and returns logits ``(batch / pack,)``; ``mode="classifier"``
        returns class logits ``(batch, num_classes)``, ``mode="both"`` the pair; with
        ``feature_matching=True`` it returns the last feature map
        ``(batch / pack, step_channels * 2**(num_layers - 1), height / 2**num_layers, ...)``.
    """

    def __init__(
        self,
        in_size: int | Sequence[int] = 32,
        in_channels: int = 3,
        step_channels: int = 32,
        num_layers: int = 3,
        dropout: float = 0.0,
        norm: str = "batch",
        nonlinearity: nn.Module | None = None,
        label_type: str = "none",
        num_classes: int | None = None,
        minibatch_features: int = 0,
        readout_init: str = "kaiming",
        logit_nonlinearity: str | None = None,
        readout_bias: bool | None = None,
        pack: int = 1,
    ):
        super().__init__(check_int("in_channels", in_channels), label_type)
        check_choice("label_type", label_type, LABEL_TYPES)
        self.norm = check_choice("norm", norm, NORMS)
        self.in_size = check_size("in_size", in_size)
        check_int("step_channels", step_channels)
        check_int("num_layers", num_layers)
        check_fraction("dropout", dropout)
        check_int("minibatch_features", minibatch_features, minimum=0)
        self.readout_init = check_choice("readout_init", readout_init, READOUT_INITS)
        if readout_bias is not None and not isinstance(readout_bias, bool):
            raise InputError(f"readout_bias must be True, False or None, got {readout_bias!r}")
        if logit_nonlinearity is None:
            logit_nonlinearity = "none" if label_type == "required" else "leaky_relu"
        self.logit_nonlinearity = check_choice(
            "logit_nonlinearity", logit_nonlinearity, LOGIT_NONLINEARITIES
        )
        self.num_classes = _check_classes(label_type, num_classes)
        self.pack = _check_pack(pack, label_type, self.num_classes)
        if min(self.in_size) < 2**num_layers:
            raise InputError(
                f"in_size must be >= 2**num_layers = {2**num_layers} so that every convolution "
                f"has input left, got in_size={in_size} with num_layers={num_layers}"
            )
        nl = nn.LeakyReLU(0.2) if nonlinearity is None else nonlinearity
        blocks, channels, (h, w) = [], in_channels * self.pack, self.in_size
        for i in range(num_layers):
            # As in DCGAN's discriminator: batch norm on every layer, the input layer included,
            # made samples oscillate and training unstable (Radford et al., 2016, section 3).
            layer_norm = "none" if i == 0 and norm == "batch" else norm
            blocks.append(_conv_block(channels, step_channels * 2**i, layer_norm, nl, dropout))
            channels, h, w = step_channels * 2**i, h // 2, w // 2
        self.model = nn.Sequential(*blocks)
        flat = channels * h * w
        sn = spectral_norm if norm == "spectral" else _identity
        self.minibatch = (
            MinibatchDiscrimination1d(flat, minibatch_features) if minibatch_features else None
        )
        if readout_bias is None:
            readout_bias = norm != "batch"
        self.disc = sn(nn.Linear(flat + minibatch_features, 1, bias=bool(readout_bias)))
        if self.num_classes is not None:
            self.aux = sn(nn.Linear(flat, self.num_classes))
        if label_type == "required":
            self.projection = sn(nn.Embedding(self.num_classes, channels))
        self._weight_initializer()

    def _weight_initializer(self) -> None:
        """TorchGAN's initialisation (Kaiming-normal convolutions and, with
        ``readout_init="kaiming"``, read-out; unit batch norm), applied to the raw weight under
        spectral normalisation, where ``weight`` is a computed view."""
        if self.readout_init == "kaiming":
            # First: TorchGAN's DCGANDiscriminator registers its read-out before its
            # convolutions, so the same seed gives both networks the same weights.
            nn.init.kaiming_normal_(_raw_weight(self.disc))
            if self.disc.bias is not None:
                nn.init.zeros_(self.disc.bias)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(_raw_weight(m))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                # Small, so the projection term starts as a nudge to the unconditional logit.
                nn.init.normal_(_raw_weight(m), std=0.02)
            elif isinstance(m, MinibatchDiscrimination1d):
                # TorchGAN draws T from N(0, 1): the L1 distances between samples' rows are then
                # O(intermediate * sqrt(in_features)), exp(-distance) underflows to 0 and neither
                # the feature nor its gradient carries anything. This scale makes them O(1).
                std = 1.0 / (m.intermediate_features * m.in_features**0.5)
                nn.init.normal_(m.T, std=std)

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        mode: str = "discriminator",
        feature_matching: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Score images.

        Args:
            x: images ``(batch, in_channels, height, width)``.
            y: class labels ``(batch,)`` in ``[0, num_classes)``; required (and only allowed)
                with ``label_type="required"``, except in ``mode="classifier"``, which ignores
                them (TorchGAN's ACGAN losses call it without labels).
            mode: ``"discriminator"`` (real/fake logits), ``"classifier"`` (class logits, needs
                ``num_classes``) or ``"both"``.
            feature_matching: return the last hidden feature map instead of the logits.

        Returns:
            Logits ``(batch,)``; class logits ``(batch, num_classes)`` for ``"classifier"``;
            both as a pair for ``"both"``; the feature map when ``feature_matching`` is true.

        Raises:
            ValueError: ``x`` does not have the shape the discriminator was built for; ``mode``
                is unknown or asks for a classifier this discriminator lacks; ``y`` is missing,
                not expected, or holds a label out of range.
        """
        check_image_batch("x", x, self.input_dims, self.in_size)
        check_choice("mode", mode, MODES)
        if mode != "discriminator" and self.num_classes is None:
            raise InputError(
                f"mode={mode!r} needs the auxiliary classifier, which this discriminator lacks: "
                f"build it with num_classes"
            )
        if mode != "classifier" or y is not None:
            y = self._check_labels(y, x.size(0))
        features = self.model(self._packed(x))
        if feature_matching:
            return features
        flat = features.flatten(1)
        if mode == "classifier":
            return self.aux(flat)
        critic = self._logit(features, flat)
        if y is not None:
            critic = critic + (self.projection(y) * features.sum(dim=(2, 3))).sum(dim=1)
        if self.logit_nonlinearity == "leaky_relu":
            critic = F.leaky_relu(critic, 0.2)
        return critic if mode == "discriminator" else (critic, self.aux(flat))

    def _packed(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, C, H, W)`` -> ``(batch / pack, pack * C, H, W)``, neighbours stacked."""
        if self.pack == 1:
            return x
        _check_batch_packs(x, self.pack)
        return x.reshape(x.size(0) // self.pack, self.pack * x.size(1), *x.shape[2:])

    def _logit(self, features: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        """The read-out's logits ``(batch,)``."""
        if self.minibatch is not None:
            return self.disc(self.minibatch(flat)).view(-1)
        # The linear read-out run as a convolution with a kernel the size of the map: the
        # kernel TorchGAN's read-out runs, so equal weights give equal bits (F.linear rounds
        # differently, by ~1e-6).
        readout = self._readout
        weight = readout.weight.view(1, *features.shape[1:])
        return F.conv2d(features, weight, readout.bias).view(-1)

    @property
    def _readout(self) -> nn.Module:
        # TorchGAN's ParallelTrainer wraps each child module in nn.DataParallel.
        return getattr(self.disc, "module", self.disc)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        saved_bias = {f"{prefix}disc.bias", f"{prefix}disc.module.bias"} & set(state_dict)
        if self._readout.bias is None and saved_bias:
            raise InputError(
                "this checkpoint's ConvDiscriminator has a read-out bias (disc.bias) and this one "
                "has none: build it with readout_bias=True (on the command line "
                "--discriminator.readout_bias true) and the other settings it was saved with"
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check_labels(self, y: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        if self.label_type == "none":
            if y is not None:
                raise InputError(
                    "y was given, but this discriminator has label_type='none' "
                    "(build it with label_type='required' and num_classes to condition it)"
                )
            return None
        return check_labels("y", y, batch, self.num_classes)

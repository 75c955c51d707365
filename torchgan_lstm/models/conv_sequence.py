"""A convolutional critic for sequences: dilated 1-D convolutions over time, mean-pooled, one
logit per sequence; spectral or layer normalisation for Wasserstein and hinge losses; conditional
by projection; optionally reading ZCA-whitened features fitted on the real data."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm
from torchgan.models import Discriminator

from .._validation import InputError, check_choice, check_fraction, check_int, check_sequence_batch
from ..registry import register_model
from .conv import _check_batch_packs, _check_pack, _raw_weight
from .lstm import LSTMGenerator
from .sequence import DISCRIMINATOR_LABEL_TYPES, _check_optional_labels

__all__ = ["INPUT_NORMS", "NORMS", "ConvSequenceDiscriminator", "whitening"]

NORMS = ("none", "spectral", "layer")
INPUT_NORMS = ("none", "whiten")


def whitening(sequences: torch.Tensor, floor: float) -> tuple[torch.Tensor, torch.Tensor]:
    """ZCA whitening of the features of ``sequences``, with a floor on the variances.

    Args:
        sequences: ``(N, steps, features)``; every step of every sequence is one sample.
        floor: fraction of the largest eigenvalue of the features' covariance added to every
            eigenvalue, so a direction of (almost) no variance is scaled up at most
            ``1 / sqrt(floor)`` times more than the direction of most variance.

    Returns:
        ``mean`` ``(features,)`` and ``transform`` ``(features, features)``, float32, such that
        ``(x - mean) @ transform`` has a covariance close to the identity.
    """
    x = sequences.reshape(-1, sequences.size(-1)).double()
    mean = x.mean(dim=0)
    eigenvalues, vectors = torch.linalg.eigh(torch.atleast_2d(torch.cov(x.T)))
    eigenvalues = eigenvalues.clamp_min(0)
    scale = (eigenvalues + floor * eigenvalues.max().clamp_min(1e-12)).rsqrt()
    return mean.float(), (vectors @ torch.diag(scale) @ vectors.T).float()


def _conv_layer(in_ch: int, out_ch: int, kernel: int, dilation: int, norm: str) -> list:
    conv = nn.Conv1d(in_ch, out_ch, kernel, padding=dilation * (kernel // 2), dilation=dilation)
    if norm == "spectral":
        return [spectral_norm(conv)]
    if norm == "layer":
        return [conv, nn.GroupNorm(1, out_ch)]  # normalises over (channels, steps) of each series
    return [conv]


@register_model("conv_sequence_discriminator")
class ConvSequenceDiscriminator(Discriminator):
    r"""Discriminator of dilated 1-D convolutions over time, mean-pooled to one logit.

    Layer ``i`` has ``step_channels * 2**i`` channels and dilation ``2**i`` (a temporal
    convolutional network): the receptive field grows exponentially with depth, every layer
    keeps the length, and the pooling accepts sequences of any length. For WGAN-GP and hinge
    losses use ``norm="spectral"`` (or ``"layer"``, or ``"none"`` with a gradient penalty).

    With ``input_norm="whiten"`` the critic reads the sequences ZCA-whitened with the real data's
    feature mean and covariance (fitted by :meth:`fit_input_whitening` before training): features
    that move together, such as a stock's open, high, low and close, differ by little, and
    whitening scales those small differences up, so that the critic (and through it the
    generator) attends to them as much as to the common level.

    With ``label_type="required"`` the critic is conditioned by projection (Miyato & Koyama,
    2018): the logit is ``linear(h) + <embed(y), h>``, ``h`` the time-averaged features.

    With ``pack=m`` the critic judges ``m`` sequences at once (PacGAN, Lin et al., 2018): each
    group of ``m`` consecutive sequences of a batch is read side by side, as one sequence of
    ``m * features`` values per step (after the whitening of each), and gets one logit. A
    generator that leaves out a rare kind of sequence is easier to tell from the data in groups
    than one sequence at a time. The batch size must be a multiple of ``m``.

    Args:
        features: values per step of the input.
        step_channels: channels of the first convolution, doubled at each further one.
        num_layers: number of convolutions.
        kernel_size: odd kernel size of every convolution.
        norm: ``"none"``, ``"spectral"`` (spectral normalisation of every weight, the read-out
            and the projection embedding included) or ``"layer"`` (layer norm over each series'
            channels and steps).
        nonlinearity: activation; ``None`` means ``LeakyReLU(0.2)``.
        label_type: ``"none"`` or ``"required"`` (needs ``num_classes``).
        num_classes: number of classes of a conditional discriminator.
        input_norm: ``"none"``, or ``"whiten"`` (ZCA whitening of the input features with the
            statistics :meth:`fit_input_whitening` sets; kept in the state dict).
        whitening_floor: variance floor of the whitening, a fraction in ``(0, 1]`` of the largest
            eigenvalue (see :func:`whitening`); a direction is scaled up at most
            ``1 / sqrt(whitening_floor)`` times more than the main one.
        pack: sequences judged together (PacGAN's packing degree); ``1`` (default) judges each
            on its own. ``pack > 1`` needs an unconditional critic.

    Raises:
        ValueError: an argument is out of range or unknown; the message names it.

    Shapes:
        ``forward(x)`` (``forward(x, y)`` when conditional) takes ``x`` of shape
        ``(batch, steps, features)``, any ``steps >= 1``, and ``y`` of shape ``(batch,)``, and
        returns logits ``(batch / pack,)``; with ``feature_matching=True`` the last feature map
        ``(batch / pack, step_channels * 2**(num_layers - 1), steps)``.
    """

    def __init__(
        self,
        features: int = 5,
        step_channels: int = 32,
        num_layers: int = 3,
        kernel_size: int = 5,
        norm: str = "none",
        nonlinearity: nn.Module | None = None,
        label_type: str = "none",
        num_classes: int | None = None,
        input_norm: str = "none",
        whitening_floor: float = 0.1,
        pack: int = 1,
    ):
        super().__init__(check_int("features", features), label_type)
        check_choice("label_type", label_type, DISCRIMINATOR_LABEL_TYPES)
        self.features = features
        self.norm = check_choice("norm", norm, NORMS)
        self.input_norm = check_choice("input_norm", input_norm, INPUT_NORMS)
        if not check_fraction("whitening_floor", whitening_floor, upper_inclusive=True) > 0:
            raise InputError(f"whitening_floor must be in (0, 1], got {whitening_floor}")
        self.whitening_floor = float(whitening_floor)
        if self.input_norm == "whiten":
            self.register_buffer("input_mean", torch.zeros(features))
            self.register_buffer("input_transform", torch.eye(features))
            self.register_buffer("input_fitted", torch.tensor(False))
        self._whitening_ready = False
        check_int("step_channels", step_channels)
        check_int("num_layers", num_layers)
        if check_int("kernel_size", kernel_size) % 2 == 0:
            raise InputError(f"kernel_size must be odd (to keep the length), got {kernel_size}")
        self.num_classes = LSTMGenerator._check_classes(label_type, num_classes)
        self.pack = _check_pack(pack, label_type, self.num_classes, what="sequences")
        nl = nn.LeakyReLU(0.2) if nonlinearity is None else nonlinearity
        layers, channels = [], features * self.pack
        for i in range(num_layers):
            out = step_channels * 2**i
            layers += [*_conv_layer(channels, out, kernel_size, 2**i, self.norm), nl]
            channels = out
        self.model = nn.Sequential(*layers)
        sn = spectral_norm if self.norm == "spectral" else (lambda module: module)
        self.disc = sn(nn.Linear(channels, 1))
        self.projection = None
        if self.num_classes is not None:
            self.projection = sn(nn.Embedding(self.num_classes, channels))
        self._weight_initializer()

    def _weight_initializer(self) -> None:
        """Kaiming-normal convolutions (TorchGAN's choice), applied to the raw weight under
        spectral normalisation; a small projection embedding, so conditioning starts as a nudge."""
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(_raw_weight(m), a=0.2)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(_raw_weight(m), std=0.02)

    @torch.no_grad()
    def fit_input_whitening(self, sequences: torch.Tensor) -> ConvSequenceDiscriminator:
        """Set the input whitening from real data (``input_norm="whiten"`` only).

        Args:
            sequences: real sequences ``(N, steps, features)``, ``N * steps >= 2``.

        Returns:
            The discriminator itself.

        Raises:
            ValueError: the discriminator was built with ``input_norm="none"``, or
                ``sequences`` has the wrong shape or too few values.
        """
        if self.input_norm != "whiten":
            raise InputError(
                f"fit_input_whitening needs input_norm='whiten', got input_norm={self.input_norm!r}"
            )
        check_sequence_batch("sequences", sequences, self.features)
        if sequences.size(0) * sequences.size(1) < 2:
            raise InputError(
                f"sequences must hold at least 2 steps in all, got shape {tuple(sequences.shape)}"
            )
        mean, transform = whitening(sequences.detach().cpu(), self.whitening_floor)
        self.input_mean.copy_(mean)
        self.input_transform.copy_(transform)
        self.input_fitted.fill_(True)
        return self

    def _normalised(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_norm == "none":
            return x
        # The buffer is read once (a host sync on a GPU), not at every step.
        if not self._whitening_ready and not bool(self.input_fitted):
            raise InputError(
                "this ConvSequenceDiscriminator has input_norm='whiten' but no statistics yet: "
                "call fit_input_whitening(real sequences) before training"
            )
        self._whitening_ready = True
        return (x - self.input_mean) @ self.input_transform

    def _packed(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, steps, F)`` -> ``(batch / pack, steps, pack * F)``, neighbours side by side."""
        if self.pack == 1:
            return x
        _check_batch_packs(x, self.pack)
        groups = x.reshape(x.size(0) // self.pack, self.pack, *x.shape[1:]).transpose(1, 2)
        return groups.reshape(groups.size(0), x.size(1), -1)

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None, feature_matching: bool = False
    ) -> torch.Tensor:
        """Score sequences.

        Args:
            x: sequences ``(batch, steps, features)``.
            y: class labels ``(batch,)``, for a conditional discriminator only.
            feature_matching: return the last feature map instead of the logits.

        Returns:
            Logits ``(batch / pack,)``; or the feature map ``(batch / pack, channels, steps)``.

        Raises:
            ValueError: ``x`` or ``y`` has the wrong shape, or ``y`` is missing, not expected or
                out of range; or the input whitening was not fitted; or the batch does not split
                into groups of ``pack``.
        """
        check_sequence_batch("x", x, self.features)
        y = _check_optional_labels(self, y, x.size(0))
        fmap = self.model(self._packed(self._normalised(x)).transpose(1, 2))  # (b, ch, steps)
        if feature_matching:
            return fmap
        pooled = fmap.mean(dim=2)
        critic = self.disc(pooled).squeeze(1)
        if self.projection is not None:
            critic = critic + (self.projection(y) * pooled).sum(dim=1)
        return critic

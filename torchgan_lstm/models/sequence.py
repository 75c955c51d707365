"""Recurrent GANs for multivariate time series (RGAN / RCGAN, Esteban et al., 2017), for TorchGAN.

- :class:`LSTMSequenceGenerator`: fresh noise at every step (plus an optional global noise
  vector shared by all steps, and a class embedding at every step when conditional) through one
  fused ``nn.LSTM`` call and a linear read-out per step; sequences ``(batch, seq_len, features)``
  in ``[0, 1]`` (data min-max scaled, as in TimeGAN). It rolls out any length.
- :class:`LSTMSequenceDiscriminator`: an LSTM (optionally bidirectional) that scores every step;
  the per-step logits are averaged into one logit per sequence.
- :class:`ConvSequenceDiscriminator`: dilated 1-D convolutions over time, mean-pooled; spectral
  or layer normalisation for Wasserstein and hinge losses; conditional by projection.

TorchGAN's losses draw the generator's noise themselves, as ``torch.randn(batch,
generator.encoding_dims)``. A sequence generator needs ``seq_len * encoding_dims`` normals (plus
the global vector), so its ``encoding_dims`` attribute is that flat size, and ``forward`` reads
a flat ``z`` as the per-step noise followed by the global vector: the same distribution as the
``(batch, seq_len, ...)`` noise of :meth:`LSTMSequenceGenerator.sampler`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm
from torchgan.models import Discriminator, Generator

from .._validation import (
    InputError,
    check_choice,
    check_fraction,
    check_int,
    check_labels,
    check_sequence_batch,
)
from ..registry import register_model
from ._blocks import init_lstm_, run_lstm
from .conv import _raw_weight
from .lstm import LSTMGenerator

__all__ = [
    "ConvSequenceDiscriminator",
    "LSTMSequenceDiscriminator",
    "LSTMSequenceGenerator",
]

GENERATOR_LABEL_TYPES = ("none", "generated", "required")
INITIAL_STATES = ("zeros", "noise")
DISCRIMINATOR_LABEL_TYPES = ("none", "required")
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


def _lstm_kwargs(hidden_size: int, num_layers: int, dropout: float) -> dict:
    check_int("num_layers", num_layers)
    if check_fraction("dropout", dropout) > 0 and num_layers == 1:
        raise InputError(
            f"dropout acts between LSTM layers, so it needs num_layers > 1, got "
            f"dropout={dropout} with num_layers=1"
        )
    return {
        "hidden_size": check_int("hidden_size", hidden_size),
        "num_layers": num_layers,
        "dropout": dropout,
        "batch_first": True,
    }


class _Recurrence(nn.Module):
    """An LSTM over all steps in one fused call, and a linear read-out of every step.

    A module of its own so that TorchGAN's ``ParallelTrainer``, which wraps each child of a
    model in ``nn.DataParallel``, replicates the LSTM and runs it inside each replica (where
    ``run_lstm`` makes the replica's weights one cuDNN block). The initial state is computed
    inside too, from a batch-first input, because ``DataParallel`` splits inputs along dim 0
    and an LSTM state is ``(num_layers, batch, hidden_size)``.

    Args:
        input_size: values per step of the input.
        out_features: values per step of the read-out.
        bidirectional: read the steps in both directions.
        lstm_kwargs: ``hidden_size``, ``num_layers``, ``dropout``, ``batch_first``.
        state_input_size: width of a vector mapped linearly to the initial ``(h, c)`` of every
            layer (``h`` through ``tanh``, as the LSTM's own hidden states); 0: zero state.
    """

    def __init__(
        self,
        input_size: int,
        out_features: int,
        bidirectional: bool,
        lstm_kwargs,
        state_input_size: int = 0,
    ):
        super().__init__()
        self.lstm = nn.LSTM(input_size, bidirectional=bidirectional, **lstm_kwargs)
        directions = 2 if bidirectional else 1
        self.readout = nn.Linear(lstm_kwargs["hidden_size"] * directions, out_features)
        self.initial_state = None
        if state_input_size:
            state_size = 2 * lstm_kwargs["num_layers"] * directions * lstm_kwargs["hidden_size"]
            self.initial_state = nn.Linear(state_input_size, state_size)

    def _state(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(h, c)``, each ``(num_layers * directions, batch, hidden_size)``, of ``source``
        ``(batch, state_input_size)``."""
        layers = self.lstm.num_layers * (2 if self.lstm.bidirectional else 1)
        state = self.initial_state(source).view(source.size(0), 2, layers, self.lstm.hidden_size)
        h, c = state.permute(1, 2, 0, 3).unbind(0)
        return torch.tanh(h).contiguous(), c.contiguous()

    def forward(
        self, x: torch.Tensor, cudnn: bool = True, state_source: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Read-out ``(batch, steps, out_features)`` and LSTM outputs
        ``(batch, steps, hidden_size * directions)`` of ``x`` ``(batch, steps, input_size)``;
        ``cudnn=False`` runs the LSTM without cuDNN (whose LSTM has no double backward);
        ``state_source`` ``(batch, state_input_size)`` sets the initial state when the module
        has one (else it starts from zeros)."""
        state = None
        if self.initial_state is not None:
            state = self._state(state_source)
        with torch.backends.cudnn.flags(enabled=cudnn):
            out, _ = run_lstm(self.lstm, x, state)
        return self.readout(out), out


def _unwrapped(module: nn.Module) -> nn.Module:
    return getattr(module, "module", module)  # under ParallelTrainer: nn.DataParallel(module)


def _with_labels(
    x: torch.Tensor, embedding: nn.Embedding | None, y: torch.Tensor | None
) -> torch.Tensor:
    """``x`` ``(batch, steps, width)`` with the labels' embedding appended to every step."""
    if embedding is None:
        return x
    label = embedding(y).unsqueeze(1).expand(-1, x.size(1), -1)
    return torch.cat([x, label], dim=2)


def _check_optional_labels(model: nn.Module, y: torch.Tensor | None, batch: int):
    if model.num_classes is None:
        if y is not None:
            raise InputError(
                f"y was given, but this {type(model).__name__} has label_type='none' (build it "
                f"with label_type and num_classes to condition it)"
            )
        return None
    return check_labels("y", y, batch, model.num_classes)


class _Recurrent:
    """What the LSTM models share: the ``lstm`` behind their ``recurrence`` and its init."""

    def _weight_initializer(self) -> None:
        """Standard LSTM initialisation (orthogonal recurrent weights, forget bias 1)."""
        init_lstm_(self.lstm)

    @property
    def lstm(self) -> nn.LSTM:
        """The ``nn.LSTM`` that runs the recurrence (also inside TorchGAN's DataParallel)."""
        return _unwrapped(self.recurrence).lstm


@register_model("lstm_sequence_generator")
class LSTMSequenceGenerator(_Recurrent, Generator):
    r"""Recurrent generator of multivariate sequences: noise in at every step, a value out.

    Args:
        encoding_dims: noise values fed at each step.
        seq_len: steps generated by default (what TorchGAN's losses and :meth:`sampler` use);
            ``forward`` follows the length of the noise it is given.
        features: values per step of the output.
        hidden_size: LSTM hidden units.
        num_layers: stacked LSTM layers.
        label_type: ``"none"``; ``"generated"`` (labels sampled by TorchGAN's losses) or
            ``"required"`` (the data's labels) for a class-conditional generator (RCGAN), which
            needs ``num_classes``; the class embedding joins the input at every step.
        num_classes: number of classes of a conditional generator.
        global_noise_dims: size of a noise vector drawn once per sequence and appended to every
            step's noise (0: none).
        last_nonlinearity: output activation; ``None`` means ``Sigmoid`` (data in ``[0, 1]``).
        dropout: dropout between LSTM layers, in ``[0, 1)``; needs ``num_layers > 1``.
        initial_state: the LSTM's state before the first step: ``"zeros"``, or ``"noise"``
            (a learned linear map of the global noise vector to every layer's ``(h, c)``; needs
            ``global_noise_dims > 0``), so that a sequence does not start from the same state
            every time (a zero state shows as a transient at the first steps).

    Attributes:
        encoding_dims: the flat noise size TorchGAN's losses draw,
            ``seq_len * step_encoding_dims + global_noise_dims``.
        step_encoding_dims: the ``encoding_dims`` argument, noise values per step.

    Raises:
        ValueError: an argument is out of range or unknown; the message names it.

    Shapes:
        ``forward(z)`` (``forward(z, y)`` when conditional) takes ``z`` either of shape
        ``(batch, steps, encoding_dims + global_noise_dims)`` (as :meth:`sampler` makes it; the
        global part repeated at every step) or flat ``(batch, self.encoding_dims)`` (as
        TorchGAN's losses draw it), and ``y`` of shape ``(batch,)``; it returns
        ``(batch, steps, features)``, with ``steps = seq_len`` for a flat ``z``.
    """

    def __init__(
        self,
        encoding_dims: int = 8,
        seq_len: int = 24,
        features: int = 5,
        hidden_size: int = 64,
        num_layers: int = 2,
        label_type: str = "none",
        num_classes: int | None = None,
        global_noise_dims: int = 0,
        last_nonlinearity: nn.Module | None = None,
        dropout: float = 0.0,
        initial_state: str = "zeros",
    ):
        step_dims = check_int("encoding_dims", encoding_dims)
        check_int("seq_len", seq_len, minimum=2)
        check_int("global_noise_dims", global_noise_dims, minimum=0)
        check_choice("initial_state", initial_state, INITIAL_STATES)
        if initial_state == "noise" and global_noise_dims == 0:
            raise InputError(
                "initial_state='noise' computes the state from the global noise vector, so it "
                "needs global_noise_dims > 0, got global_noise_dims=0"
            )
        super().__init__(seq_len * step_dims + global_noise_dims, label_type)
        check_choice("label_type", label_type, GENERATOR_LABEL_TYPES)
        self.seq_len, self.step_encoding_dims = seq_len, step_dims
        self.global_noise_dims = global_noise_dims
        self.initial_state = initial_state
        self.features = check_int("features", features)
        self.num_classes = LSTMGenerator._check_classes(label_type, num_classes)
        step_input = step_dims + self.global_noise_dims
        self.label_embedding = None
        if self.num_classes is not None:
            self.label_embedding = nn.Embedding(self.num_classes, step_dims)
            step_input += step_dims
        self.recurrence = _Recurrence(
            step_input,
            self.features,
            False,
            _lstm_kwargs(hidden_size, num_layers, dropout),
            global_noise_dims if initial_state == "noise" else 0,
        )
        self.last_nonlinearity = nn.Sigmoid() if last_nonlinearity is None else last_nonlinearity
        self._weight_initializer()

    @property
    def step_noise_width(self) -> int:
        """Noise values in each step of a ``(batch, steps, width)`` ``z``."""
        return self.step_encoding_dims + self.global_noise_dims

    def sampler(
        self, sample_size: int, device: torch.device | str, seq_len: int | None = None
    ) -> list[torch.Tensor]:
        """Inputs for ``forward``: ``[z]``, or ``[z, y]`` for a conditional generator.

        Args:
            sample_size: number of sequences.
            device: where the tensors are made.
            seq_len: steps to roll out; ``None`` means the generator's ``seq_len``.

        Returns:
            ``z`` of shape ``(sample_size, seq_len, encoding_dims + global_noise_dims)``,
            standard normal, the global part the same at every step; for a conditional generator
            also ``y`` of shape ``(sample_size,)``, uniform over the classes.

        Raises:
            ValueError: ``seq_len`` is not an integer >= 1.
        """
        steps = self.seq_len if seq_len is None else check_int("seq_len", seq_len)
        z = torch.randn(sample_size, steps, self.step_encoding_dims, device=device)
        if self.global_noise_dims:
            shared = torch.randn(sample_size, 1, self.global_noise_dims, device=device)
            z = torch.cat([z, shared.expand(-1, steps, -1)], dim=2)
        if self.num_classes is None:
            return [z]
        return [z, torch.randint(0, self.num_classes, (sample_size,), device=device)]

    def _step_noise(self, z: object) -> torch.Tensor:
        if isinstance(z, torch.Tensor) and z.dim() == 2 and z.size(1) == self.encoding_dims:
            steps = z[:, : self.seq_len * self.step_encoding_dims]
            steps = steps.reshape(z.size(0), self.seq_len, self.step_encoding_dims)
            shared = z[:, steps.size(1) * steps.size(2) :].unsqueeze(1)
            return torch.cat([steps, shared.expand(-1, self.seq_len, -1)], dim=2)
        if isinstance(z, torch.Tensor) and z.dim() == 3:
            check_sequence_batch("z", z, self.step_noise_width)
            return z
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise InputError(
            f"z must have shape (batch, steps, {self.step_noise_width}) or flat "
            f"(batch, {self.encoding_dims}), got {got}"
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Generate sequences.

        Args:
            z: noise, ``(batch, steps, encoding_dims + global_noise_dims)`` or flat
                ``(batch, self.encoding_dims)`` (see the class docstring).
            y: class labels ``(batch,)``, for a conditional generator only.

        Returns:
            Sequences ``(batch, steps, features)``, in ``[0, 1]`` with the default sigmoid.

        Raises:
            ValueError: ``z`` or ``y`` has the wrong shape, ``y`` is missing for a conditional
                generator, given to an unconditional one, or holds a label out of range.
        """
        noise = self._step_noise(z)
        y = _check_optional_labels(self, y, noise.size(0))
        shared = noise[:, 0, self.step_encoding_dims :]  # the global vector, (batch, global)
        inputs = _with_labels(noise, self.label_embedding, y)
        values, _ = self.recurrence(inputs, state_source=shared)
        return self.last_nonlinearity(values)


@register_model("lstm_sequence_discriminator")
class LSTMSequenceDiscriminator(_Recurrent, Discriminator):
    r"""Recurrent discriminator: a logit at every step, averaged into one per sequence.

    Returns raw logits; TorchGAN's losses apply their own sigmoid where they need one. It is a
    valid Wasserstein critic with gradient penalty (no normalisation couples the batch); on CUDA
    it then runs without cuDNN whenever its input requires a gradient, because cuDNN's LSTM
    cannot be differentiated twice (so also in the generator's steps; the generator's LSTM keeps
    cuDNN).

    Args:
        features: values per step of the input.
        hidden_size: LSTM hidden units (per direction).
        num_layers: stacked LSTM layers.
        bidirectional: read the sequence in both directions.
        dropout: dropout between LSTM layers, in ``[0, 1)``; needs ``num_layers > 1``.
        label_type: ``"none"`` or ``"required"`` (conditioned on the labels, whose embedding
            joins the input at every step; needs ``num_classes``).
        num_classes: number of classes of a conditional discriminator.

    Raises:
        ValueError: an argument is out of range or unknown; the message names it.

    Shapes:
        ``forward(x)`` (``forward(x, y)`` when conditional) takes ``x`` of shape
        ``(batch, steps, features)``, any ``steps >= 1``, and ``y`` of shape ``(batch,)``, and
        returns logits ``(batch,)``; with ``feature_matching=True`` the LSTM's outputs
        ``(batch, steps, hidden_size * directions)``.
    """

    def __init__(
        self,
        features: int = 5,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        label_type: str = "none",
        num_classes: int | None = None,
    ):
        super().__init__(check_int("features", features), label_type)
        check_choice("label_type", label_type, DISCRIMINATOR_LABEL_TYPES)
        self.features = features
        self.num_classes = LSTMGenerator._check_classes(label_type, num_classes)
        step_input = features
        self.label_embedding = None
        if self.num_classes is not None:
            self.label_embedding = nn.Embedding(self.num_classes, features)
            step_input += features
        self.recurrence = _Recurrence(
            step_input, 1, bool(bidirectional), _lstm_kwargs(hidden_size, num_layers, dropout)
        )
        self._weight_initializer()

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None, feature_matching: bool = False
    ) -> torch.Tensor:
        """Score sequences.

        Args:
            x: sequences ``(batch, steps, features)``.
            y: class labels ``(batch,)``, for a conditional discriminator only.
            feature_matching: return the LSTM's per-step outputs instead of the logits.

        Returns:
            Logits ``(batch,)``, the mean of the per-step logits; or the features.

        Raises:
            ValueError: ``x`` or ``y`` has the wrong shape, or ``y`` is missing, not expected or
                out of range.
        """
        check_sequence_batch("x", x, self.features)
        y = _check_optional_labels(self, y, x.size(0))
        # A gradient penalty differentiates the gradient with respect to the sequences.
        cudnn = not (x.is_cuda and x.requires_grad)
        logits, out = self.recurrence(_with_labels(x, self.label_embedding, y), cudnn)
        return out if feature_matching else logits.squeeze(2).mean(dim=1)


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

    Raises:
        ValueError: an argument is out of range or unknown; the message names it.

    Shapes:
        ``forward(x)`` (``forward(x, y)`` when conditional) takes ``x`` of shape
        ``(batch, steps, features)``, any ``steps >= 1``, and ``y`` of shape ``(batch,)``, and
        returns logits ``(batch,)``; with ``feature_matching=True`` the last feature map
        ``(batch, step_channels * 2**(num_layers - 1), steps)``.
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
        nl = nn.LeakyReLU(0.2) if nonlinearity is None else nonlinearity
        layers, channels = [], features
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

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None, feature_matching: bool = False
    ) -> torch.Tensor:
        """Score sequences.

        Args:
            x: sequences ``(batch, steps, features)``.
            y: class labels ``(batch,)``, for a conditional discriminator only.
            feature_matching: return the last feature map instead of the logits.

        Returns:
            Logits ``(batch,)``; or the feature map ``(batch, channels, steps)``.

        Raises:
            ValueError: ``x`` or ``y`` has the wrong shape, or ``y`` is missing, not expected or
                out of range; or the input whitening was not fitted.
        """
        check_sequence_batch("x", x, self.features)
        y = _check_optional_labels(self, y, x.size(0))
        fmap = self.model(self._normalised(x).transpose(1, 2))  # (batch, channels, steps)
        if feature_matching:
            return fmap
        pooled = fmap.mean(dim=2)
        critic = self.disc(pooled).squeeze(1)
        if self.projection is not None:
            critic = critic + (self.projection(y) * pooled).sum(dim=1)
        return critic

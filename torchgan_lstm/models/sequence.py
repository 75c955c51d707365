"""Recurrent GANs for multivariate time series (RGAN / RCGAN, Esteban et al., 2017), for TorchGAN.

- :class:`LSTMSequenceGenerator`: fresh noise at every step (plus an optional global noise
  vector shared by all steps, and a class embedding at every step when conditional) through one
  fused ``nn.LSTM`` call and a linear read-out per step; sequences ``(batch, seq_len, features)``
  in ``[0, 1]`` (data min-max scaled, as in TimeGAN). It rolls out any length.
- :class:`LSTMSequenceDiscriminator`: an LSTM (optionally bidirectional) that scores every step;
  the per-step logits are averaged into one logit per sequence.

The convolutional critic for sequences is in :mod:`torchgan_lstm.models.conv_sequence`.

TorchGAN's losses draw the generator's noise themselves, as ``torch.randn(batch,
generator.encoding_dims)``. A sequence generator needs ``seq_len * encoding_dims`` normals (plus
the global vector), so its ``encoding_dims`` attribute is that flat size, and ``forward`` reads
a flat ``z`` as the per-step noise followed by the global vector: the same distribution as the
``(batch, seq_len, ...)`` noise of :meth:`LSTMSequenceGenerator.sampler`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
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
from .lstm import LSTMGenerator

__all__ = [
    "LSTMSequenceDiscriminator",
    "LSTMSequenceGenerator",
]

GENERATOR_LABEL_TYPES = ("none", "generated", "required")
INITIAL_STATES = ("zeros", "noise")
DISCRIMINATOR_LABEL_TYPES = ("none", "required")


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
        step_input = step_dims + self.global_noise_dims + self._extra_step_inputs()
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

    def _extra_step_inputs(self) -> int:
        """Values a subclass appends to every step's LSTM input (none here)."""
        return 0

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
        shared_width = self.step_noise_width - self.step_encoding_dims
        if shared_width:
            shared = torch.randn(sample_size, 1, shared_width, device=device)
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

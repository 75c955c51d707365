"""A generator of packed tables (many entities, static attributes, categories, gaps, lengths),
in the manner of DoppelGANger (Lin et al., 2020): the static attributes first, then the series
conditioned on them.

:class:`TableSequenceGenerator` extends :class:`~torchgan_lstm.models.LSTMSequenceGenerator`:

- a small MLP maps an attribute noise vector (and the class embedding, when conditional) to
  the static attributes: sigmoid for numeric values, categories and 0/1 observed flags as
  discrete outputs (see ``discrete``);
- the entity's length is drawn next, as one more categorical attribute (``length="attribute"``),
  and becomes the ``present`` flag: 1 up to the length, 0 after; or (``length="steps"``) the
  flag is a running product of per-step "continue" decisions read out of the LSTM. Either way
  the first ``min_length`` steps are present and the flag never rises again once it falls;
- the attributes (and the present flag) join the LSTM's input at every step, next to the
  per-step noise, the global noise vector and the class embedding; or the user gives the
  attributes (``forward(z, static=...)``) and the series are generated for those;
- each step is read out with one activation per group: sigmoid for numeric values, discrete
  outputs for categories and observed flags; a value is multiplied by its observed flag (a
  missing cell is 0 in the data), and every series channel by the present flag (padding is 0);
- the static channels are repeated at every step (padding included).

Discrete outputs are straight-through Gumbel-softmax samples by default (``"gumbel-hard"``):
one-hot categories and 0/1 flags, as in the data, with the relaxed samples' gradient. Softmax
and sigmoid probabilities (``"soft"``, DoppelGANger's choice) leave values between 0 and 1 that
a critic tells from the data's hard ones, and learned the synthetic table of the tests worse
(see ``docs/explanation/tables.md``).

The layout of a packed tensor (``channels``) is described in :mod:`torchgan_lstm.table_channels`.
TorchGAN's losses draw ``torch.randn(batch, generator.encoding_dims)``: the flat noise is the
per-step noise, then the global vector, then the attribute noise.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._validation import InputError, check_choice, check_int, check_positive
from ..registry import register_model
from ..table_channels import ChannelGroup, channel_slices, check_channels
from .sequence import LSTMSequenceGenerator, _check_optional_labels, _with_labels

__all__ = ["DISCRETE_OUTPUTS", "LENGTHS", "TableSequenceGenerator"]

DISCRETE_OUTPUTS = ("soft", "gumbel", "gumbel-hard")
LENGTHS = ("steps", "attribute")


def _mlp(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, out_features),
    )


def _shifted(groups: list[ChannelGroup], offset: int) -> list[ChannelGroup]:
    """The groups with their starts moved by ``-offset`` (positions within a part)."""
    return [ChannelGroup(g.name, g.kind, g.role, g.width, g.start - offset) for g in groups]


@register_model("table_sequence_generator")
class TableSequenceGenerator(LSTMSequenceGenerator):
    r"""Generator of packed tables: static attributes, then series conditioned on them.

    Args:
        channels: the packed layout, a list of ``{"name", "kind", "role", "width"}`` groups
            (see :mod:`torchgan_lstm.table_channels`).
        seq_len: steps generated (the longest entity).
        encoding_dims: noise values fed at each step.
        hidden_size: LSTM hidden units.
        num_layers: stacked LSTM layers.
        label_type: ``"none"``, ``"generated"`` or ``"required"``, as for
            :class:`LSTMSequenceGenerator` (the class embedding also enters the attribute MLP).
        num_classes: number of classes of a conditional generator.
        global_noise_dims: size of a noise vector drawn once per entity and appended to every
            step's noise (0: none).
        static_noise_dims: size of the attribute noise vector; ``None``: 8 when there are
            static groups, else 0.
        static_hidden_size: hidden units of the attribute MLP's two hidden layers.
        discrete: how categories, observed flags and the present flag's per-step continue
            decisions are output: ``"soft"`` (softmax and sigmoid probabilities, as
            DoppelGANger), ``"gumbel"`` (Gumbel-softmax samples at temperature
            ``gumbel_tau``; binary ones for the flags) or ``"gumbel-hard"`` (the default:
            those samples made one-hot or 0/1, with the soft samples' gradient,
            straight-through), so the critic sees the data's hard values.
        gumbel_tau: the Gumbel-softmax temperature, > 0.
        min_length: steps that are always present, in ``[1, seq_len]``.
        length: how an entity's end is decided: ``"attribute"`` (the default: the length is
            drawn first, as one more categorical attribute over ``min_length .. seq_len``,
            from the attribute noise, the label and the static attributes; the present flag
            then joins the LSTM's input at every step) or ``"steps"`` (a continue decision read
            out of the LSTM at every step; the present flag is their running product).
        dropout: dropout between LSTM layers, in ``[0, 1)``; needs ``num_layers > 1``.
        initial_state: ``"zeros"`` or ``"noise"``, as for :class:`LSTMSequenceGenerator`.
        features: the packed width; derived from ``channels`` (given, e.g. by a command line
            linking it from the data, it must agree).

    Attributes:
        encoding_dims: the flat noise size TorchGAN's losses draw,
            ``seq_len * encoding_dims + global_noise_dims + static_noise_dims``.
        groups: the :class:`~torchgan_lstm.table_channels.ChannelGroup` of every group.
        static_width: the static channels' width (the width of ``static`` in ``forward``).

    Raises:
        InputError: ``channels`` breaks the packed layout, or another argument is out of range
            or unknown; the message names it.

    Shapes:
        ``forward(z, y=None, static=None)`` takes ``z`` as :class:`LSTMSequenceGenerator` does
        (a 3-D ``z`` carries the attribute noise after the global part, repeated at every
        step), ``y`` ``(batch,)`` and ``static`` ``(batch, static_width)``, and returns packed
        tables ``(batch, steps, features)``.
    """

    def __init__(
        self,
        channels: list[dict],
        seq_len: int = 24,
        encoding_dims: int = 8,
        hidden_size: int = 64,
        num_layers: int = 2,
        label_type: str = "none",
        num_classes: int | None = None,
        global_noise_dims: int = 0,
        static_noise_dims: int | None = None,
        static_hidden_size: int = 64,
        discrete: str = "gumbel-hard",
        gumbel_tau: float = 0.5,
        min_length: int = 1,
        length: str = "attribute",
        dropout: float = 0.0,
        initial_state: str = "zeros",
        features: int | None = None,
    ):
        groups = check_channels(channels)
        width = groups[-1].stop
        if features is not None and features != width:
            raise InputError(f"features must be the width of channels, {width}, got {features!r}")
        parts = channel_slices(groups)
        static_width = parts["static"].stop
        check_choice("length", length, LENGTHS)
        attribute_mode = bool(static_width) or length == "attribute"
        if static_noise_dims is None:
            static_noise_dims = 8 if attribute_mode else 0
        check_int("static_noise_dims", static_noise_dims, minimum=0)
        if attribute_mode and not static_noise_dims:
            raise InputError(
                "static_noise_dims must be >= 1 when channels has static groups or "
                "length='attribute', got 0"
            )
        check_int("min_length", min_length)
        if min_length > seq_len:
            raise InputError(f"min_length must be <= seq_len={seq_len}, got {min_length}")
        # Read by the parent's constructor (through _extra_step_inputs and _weight_initializer).
        self.static_width, self.length = static_width, length
        super().__init__(
            encoding_dims,
            seq_len,
            width - static_width - (length == "attribute"),
            hidden_size,
            num_layers,
            label_type,
            num_classes,
            global_noise_dims,
            nn.Identity(),
            dropout,
            initial_state,
        )
        self.encoding_dims += static_noise_dims
        self.channels = [dict(group) for group in channels]
        self.groups = groups
        self.features = width
        self.static_noise_dims = static_noise_dims
        self.discrete = check_choice("discrete", discrete, DISCRETE_OUTPUTS)
        self.gumbel_tau = check_positive("gumbel_tau", gumbel_tau)
        self.min_length = min_length
        self._static_groups = [g for g in groups if g.role == "static"]
        self._series_groups = _shifted([g for g in groups if g.role == "series"], static_width)
        self.attributes = self.length_head = self.static_label_embedding = None
        hidden = check_int("static_hidden_size", static_hidden_size)
        attribute_input = static_noise_dims
        if attribute_mode and self.num_classes is not None:
            self.static_label_embedding = nn.Embedding(self.num_classes, self.step_encoding_dims)
            attribute_input += self.step_encoding_dims
        if static_width:
            self.attributes = _mlp(attribute_input, hidden, static_width)
        if length == "attribute":
            lengths = seq_len - min_length + 1
            self.length_head = _mlp(attribute_input + static_width, hidden, lengths)

    def _extra_step_inputs(self) -> int:
        return self.static_width + (self.length == "attribute")

    def _weight_initializer(self) -> None:
        """The LSTM's initialisation, and a continue probability of ``seq_len / (seq_len + 1)``
        per step at first, so that an untrained generator's lengths spread over ``seq_len``
        instead of ending after a few steps (where the series channels would get no gradient)."""
        super()._weight_initializer()
        if self.length == "steps":
            with torch.no_grad():
                self.recurrence.readout.bias[-1] = math.log(self.seq_len)

    @property
    def step_noise_width(self) -> int:
        """Noise values in each step of a ``(batch, steps, width)`` ``z``: per-step, global and
        attribute noise."""
        return self.step_encoding_dims + self.global_noise_dims + self.static_noise_dims

    def _categories(self, logits: torch.Tensor) -> torch.Tensor:
        if self.discrete == "soft":
            return logits.softmax(dim=-1)
        return F.gumbel_softmax(logits, tau=self.gumbel_tau, hard=self.discrete == "gumbel-hard")

    def _flags(self, logits: torch.Tensor) -> torch.Tensor:
        """0/1 flags from logits: probabilities, or (binary) Gumbel-softmax samples."""
        if self.discrete == "soft":
            return torch.sigmoid(logits)
        u = torch.rand_like(logits).clamp(1e-6, 1 - 1e-6)
        soft = torch.sigmoid((logits + u.log() - (-u).log1p()) / self.gumbel_tau)
        if self.discrete == "gumbel":
            return soft
        return (soft > 0.5).to(soft) - soft.detach() + soft  # straight-through

    def _activated(self, raw: torch.Tensor, groups: list[ChannelGroup]) -> torch.Tensor:
        """Per-group activations of ``raw`` (``(..., width)``); the present flag's raw value
        is kept (it becomes a flag in :meth:`_present`); values scaled by their observed flag."""
        parts, flags = [], {}
        for g in groups:
            values = raw[..., g.slice]
            if g.kind == "categorical":
                values = self._categories(values)
            elif g.kind == "observed":
                values = self._flags(values)
            elif g.kind == "numeric":
                values = torch.sigmoid(values)
            if g.kind == "observed":
                flags[g.name] = values
            parts.append(values)
        for i, g in enumerate(groups):
            if g.kind in ("numeric", "categorical") and g.name in flags:
                parts[i] = parts[i] * flags[g.name]
        return torch.cat(parts, dim=-1)

    def _present(self, logits: torch.Tensor) -> torch.Tensor:
        """``(batch, steps, 1)`` flags from continue logits ``(batch, steps, 1)``: 1 for the
        first ``min_length`` steps, then the running product of the continue probabilities."""
        keep = self._flags(logits)
        forced = torch.arange(logits.size(1), device=logits.device) < self.min_length
        keep = torch.where(forced.view(1, -1, 1), torch.ones_like(keep), keep)
        return keep.cumprod(dim=1)

    def _static(
        self, attribute_noise: torch.Tensor, y: torch.Tensor | None, static: torch.Tensor | None
    ) -> torch.Tensor:
        batch = attribute_noise.size(0)
        if static is not None:
            if not self.static_width:
                raise InputError("static was given, but channels has no static groups")
            expected = (batch, self.static_width)
            if not isinstance(static, torch.Tensor) or tuple(static.shape) != expected:
                got = tuple(static.shape) if isinstance(static, torch.Tensor) else type(static)
                raise InputError(f"static must have shape {expected}, got {got}")
            return static.to(attribute_noise)
        if self.attributes is None:
            return attribute_noise.new_zeros(batch, 0)
        return self._activated(
            self.attributes(self._source(attribute_noise, y)), self._static_groups
        )

    def _source(self, attribute_noise: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if self.static_label_embedding is None:
            return attribute_noise
        return torch.cat([attribute_noise, self.static_label_embedding(y)], dim=1)

    def _drawn_length(self, source: torch.Tensor, steps: int) -> torch.Tensor:
        """``(batch, steps, 1)`` present flags from a length drawn over ``min_length ..
        seq_len``: the flag at step ``t`` is the probability (or, sampled, the indicator)
        that the length exceeds ``t``."""
        probabilities = self._categories(self.length_head(source))
        by_length = F.pad(probabilities, (self.min_length, max(0, steps - self.seq_len)))
        beyond = by_length.flip(1).cumsum(1).flip(1)  # [L]: probability of a length >= L
        return beyond[:, 1 : steps + 1].unsqueeze(2)

    def forward(
        self, z: torch.Tensor, y: torch.Tensor | None = None, static: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Generate packed tables.

        Args:
            z: noise, ``(batch, steps, step_noise_width)`` or flat ``(batch, encoding_dims)``.
            y: class labels ``(batch,)``, for a conditional generator only.
            static: the static attributes ``(batch, static_width)``, packed as in the data
                (scaled numeric values, one-hot categories); ``None``: generated.

        Returns:
            Packed tables ``(batch, steps, features)``: the static channels repeated at every
            step, then the series channels, zero after each entity's end, then the present
            flag.

        Raises:
            InputError: ``z``, ``y`` or ``static`` has the wrong shape, or ``y`` is missing,
                not expected or out of range.
        """
        noise = self._step_noise(z)
        y = _check_optional_labels(self, y, noise.size(0))
        series_width = self.step_encoding_dims + self.global_noise_dims
        series_noise = noise[..., :series_width]
        attributes = self._static(noise[:, 0, series_width:], y, static)
        steps = noise.size(1)
        repeated = attributes.unsqueeze(1).expand(-1, steps, -1)
        extra = [series_noise, repeated]
        if self.length == "attribute":
            source = torch.cat([self._source(noise[:, 0, series_width:], y), attributes], dim=1)
            present = self._drawn_length(source, steps)
            extra.append(present)
        inputs = _with_labels(torch.cat(extra, dim=2), self.label_embedding, y)
        raw, _ = self.recurrence(inputs, state_source=series_noise[:, 0, self.step_encoding_dims :])
        if self.length == "steps":
            present, raw = self._present(raw[..., -1:]), raw[..., :-1]
        series = self._activated(raw, self._series_groups[:-1]) * present
        return torch.cat([repeated, series, present], dim=2)

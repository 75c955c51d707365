"""The three ways an :class:`~torchgan_lstm.models.lstm.LSTMGenerator` draws: the decoders
(``conv``, ``rows``, ``canvas``) and the checks of their inputs, each one fused ``nn.LSTM`` call
over the whole sequence."""

from __future__ import annotations

import torch
import torch.nn as nn

from .._validation import check_choice, check_int
from ._blocks import ConvHead, base_channels, run_lstm, upsampling_plan

# What each step of the conv decoder's LSTM reads: a projection of the noise, the cells of the
# latent skip map it refines, or both side by side.
LSTM_INPUTS = ("noise", "skip", "skip+noise")


class _SequenceInput(nn.Module):
    """Turns the (conditioned) noise into the LSTM's input sequence ``(batch, steps, width)``.

    Each step gets its own linear read of the whole noise vector, so the noise reaches every
    step directly (as GRAN feeds it) rather than only through the recurrent state.
    """

    def __init__(self, in_features: int, steps: int, width: int):
        super().__init__()
        self.steps, self.width = steps, width
        self.proj = nn.Linear(in_features, steps * width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.proj(z).view(z.size(0), self.steps, self.width)


def gate_applies(decoder: str, latent_skip: bool) -> bool:
    """Whether ``lstm_gate`` can be (and by default is) on: the conv decoder with its skip path."""
    return decoder == "conv" and bool(latent_skip)


class _ConvDecoder(nn.Module):
    """LSTM over the cells of the base grid (``cells_per_step`` at a time, in raster order), then
    DCGAN-style upsampling. Without the recurrence (``recurrence=False``) the base map is the
    latent skip path alone: the same generator less its LSTM, for ablations."""

    def __init__(
        self,
        in_features,
        out_size,
        out_channels,
        step_channels,
        batchnorm,
        nl,
        lstm_kw,
        latent_skip,
        lstm_input="noise",
        cells_per_step=1,
        recurrence=True,
    ):
        super().__init__()
        base = upsampling_plan(out_size)[0]
        channels, cells = base_channels(out_size, step_channels), base[0] * base[1]
        self.lstm_input, self.cells_per_step = lstm_input, cells_per_step
        noise_width = 0 if lstm_input == "skip" else lstm_kw["input_size"]
        skip_width = channels * cells_per_step if lstm_input != "noise" else 0
        steps = cells // cells_per_step
        self.inputs = self.lstm = self.to_cell = None
        if recurrence:
            if noise_width:
                self.inputs = _SequenceInput(in_features, steps, noise_width)
            lstm_kw = {**lstm_kw, "input_size": noise_width + skip_width}
            self.lstm = nn.LSTM(batch_first=True, **lstm_kw)
            self.to_cell = nn.Linear(lstm_kw["hidden_size"], channels * cells_per_step)
        # A direct linear path from the noise to the base map (DCGAN's first layer): the LSTM
        # then refines a map instead of being its only source.
        self.skip = nn.Linear(in_features, channels * cells) if latent_skip else None
        # ReZero-style gate (Bachlechner et al., 2020) on the LSTM's map, starting at 0: training
        # starts from the skip path alone (DCGAN's first layer) and lets the recurrence in as it
        # helps.
        self.gate: nn.Parameter | None = None  # set by LSTMGenerator(lstm_gate=True)
        self.gate_scale = 1.0
        self.head = ConvHead(out_size, out_channels, step_channels, batchnorm, nl)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        batch, channels = z.size(0), self.head.base_channels
        skip = None
        if self.skip is not None:
            skip = self.skip(z).view(batch, channels, *self.head.base)
        if self.lstm is None:
            return self.head(skip)
        out, _ = run_lstm(self.lstm, self._sequence(z, skip))  # (batch, steps, hidden)
        # (batch, steps, cells_per_step * base_channels) -> (batch, cells, base_channels), cells
        # in raster order
        cells = self.to_cell(out).reshape(batch, -1, channels)
        # transpose + reshape leaves channels-last strides; made contiguous (one small copy)
        # because TorchInductor (torch 2.11, CUDA, with --amp --compile) predicted the wrong
        # strides for the backward of the next transposed convolution given such an input.
        fmap = cells.transpose(1, 2).reshape(batch, channels, *self.head.base)
        fmap = fmap.contiguous()
        if self.gate is not None:
            fmap = (self.gate_scale * self.gate) * fmap
        if skip is not None:
            fmap = skip + fmap
        return self.head(fmap)

    def _sequence(self, z: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        """The LSTM's input ``(batch, steps, width)``: the skip map's cells in raster order,
        ``cells_per_step`` per step, and/or each step's projection of the noise."""
        parts = []
        if self.lstm_input != "noise":
            batch, channels = skip.shape[:2]
            cells = skip.flatten(2).transpose(1, 2)  # (batch, cells, channels)
            parts.append(cells.reshape(batch, -1, self.cells_per_step * channels))
        if self.inputs is not None:
            parts.append(self.inputs(z))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)


class _RowsDecoder(nn.Module):
    """One LSTM step per band of ``rows_per_step`` rows, each output projected to its pixels."""

    def __init__(self, in_features, out_size, out_channels, rows_per_step, nl, lstm_kw):
        super().__init__()
        self.out_size, self.out_channels, self.rows = out_size, out_channels, rows_per_step
        steps = out_size[0] // rows_per_step
        hidden = lstm_kw["hidden_size"]
        self.inputs = _SequenceInput(in_features, steps, lstm_kw["input_size"])
        self.lstm = nn.LSTM(batch_first=True, **lstm_kw)
        band_pixels = out_channels * rows_per_step * out_size[1]
        self.to_band = nn.Sequential(nn.Linear(hidden, hidden), nl, nn.Linear(hidden, band_pixels))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        batch = z.size(0)
        out, _ = run_lstm(self.lstm, self.inputs(z))  # (batch, bands, hidden)
        bands = self.to_band(out)  # (batch, bands, channels * rows * width)
        height, width = self.out_size
        bands = bands.view(batch, -1, self.out_channels, self.rows, width)
        return bands.permute(0, 2, 1, 3, 4).reshape(batch, self.out_channels, height, width)


class _CanvasDecoder(nn.Module):
    """``steps`` LSTM steps, each decoded by a shared decoder into an additive canvas update."""

    def __init__(
        self, in_features, out_size, out_channels, step_channels, batchnorm, nl, steps, lstm_kw
    ):
        super().__init__()
        self.steps = steps
        self.inputs = _SequenceInput(in_features, steps, lstm_kw["input_size"])
        self.lstm = nn.LSTM(batch_first=True, **lstm_kw)
        base = upsampling_plan(out_size)[0]
        base_size = base_channels(out_size, step_channels) * base[0] * base[1]
        self.to_base = nn.Linear(lstm_kw["hidden_size"], base_size)
        self.head = ConvHead(out_size, out_channels, step_channels, batchnorm, nl)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        batch = z.size(0)
        out, _ = run_lstm(self.lstm, self.inputs(z))  # (batch, steps, hidden)
        # All steps go through the shared decoder as one batch of batch * steps maps.
        base = self.to_base(out.reshape(batch * self.steps, -1))
        updates = self.head(base.view(batch * self.steps, self.head.base_channels, *self.head.base))
        return updates.view(batch, self.steps, *updates.shape[1:]).sum(dim=1)


def _check_conv_inputs(
    decoder: str, latent_skip: bool, lstm_input: str, input_size: int | None, cells_per_step: int
) -> None:
    """Refuse ``lstm_input`` / ``cells_per_step`` settings that the decoder cannot honour."""
    check_choice("lstm_input", lstm_input, LSTM_INPUTS)
    check_int("cells_per_step", cells_per_step)
    if decoder != "conv" and (lstm_input != "noise" or cells_per_step != 1):
        raise ValueError(
            f"lstm_input and cells_per_step shape the conv decoder's recurrence, got "
            f"decoder={decoder!r} with lstm_input={lstm_input!r}, cells_per_step={cells_per_step}"
        )
    if lstm_input != "noise" and not latent_skip:
        raise ValueError(
            f"lstm_input={lstm_input!r} reads the latent skip map, which needs latent_skip=True, "
            f"got latent_skip={latent_skip}"
        )
    if lstm_input == "skip" and input_size is not None:
        raise ValueError(
            f"input_size is the width of each step's projection of the noise, which "
            f"lstm_input='skip' does not read (each step reads its cells of the skip map); drop "
            f"input_size={input_size} or use lstm_input='skip+noise'"
        )

"""Shape arithmetic and layer stacks shared by the model families.

Sizes need not be powers of two: a transposed convolution with kernel 4, stride 2, padding 1
turns a side ``n`` into ``2n`` or ``2n + 1`` (chosen through ``output_size``), so any target
side is reached exactly from ``side // 2``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = [
    "ConvHead",
    "UpsampleBlock",
    "base_channels",
    "init_lstm_",
    "run_lstm",
    "upsampling_plan",
    "upsampling_stack",
]

MIN_BASE_SIDE = 4


def upsampling_plan(out_size: tuple[int, int]) -> list[tuple[int, int]]:
    """Sizes of the feature maps from the base grid up to ``out_size``.

    The number of doublings is the largest that keeps the smaller side of the base grid at
    least 4 cells, so 32x32 -> ``[(4, 4), (8, 8), (16, 16), (32, 32)]`` and
    28x28 -> ``[(7, 7), (14, 14), (28, 28)]``.

    Args:
        out_size: ``(height, width)`` of the image, each side >= 8.

    Returns:
        The sizes, base grid first, ``out_size`` last; always at least two entries.
    """
    doublings = max(1, (min(out_size) // MIN_BASE_SIDE).bit_length() - 1)
    sizes = [tuple(out_size)]
    for _ in range(doublings):
        h, w = sizes[0]
        sizes.insert(0, (h // 2, w // 2))
    return sizes


class UpsampleBlock(nn.Module):
    """Transposed convolution doubling the spatial size exactly to ``out_size``, then norm and
    nonlinearity.

    Args:
        in_channels: channels of the input map.
        out_channels: channels of the output map.
        out_size: ``(height, width)`` of the output; each side ``2n`` or ``2n + 1`` of the input's.
        batchnorm: add ``BatchNorm2d`` after the convolution (and drop its bias).
        nonlinearity: module applied last, or ``None`` for a linear output.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        out_size: tuple[int, int],
        batchnorm: bool,
        nonlinearity: nn.Module | None,
    ):
        super().__init__()
        self.out_size = tuple(out_size)
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=not batchnorm)
        self.norm = nn.BatchNorm2d(out_channels) if batchnorm else nn.Identity()
        self.act = nonlinearity if nonlinearity is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, in_channels, h, w)`` to ``(batch, out_channels, *out_size)``."""
        return self.act(self.norm(self.conv(x, output_size=self.out_size)))


def upsampling_stack(
    sizes: list[tuple[int, int]],
    base_channels: int,
    out_channels: int,
    batchnorm: bool,
    nonlinearity: nn.Module,
) -> nn.Sequential:
    """DCGAN-style decoder from the base grid to the image, halving channels at each doubling.

    The last block maps to ``out_channels`` with no norm and no nonlinearity: the caller applies
    the output nonlinearity (the canvas decoder sums several outputs first).

    Args:
        sizes: output of :func:`upsampling_plan`.
        base_channels: channels of the base feature map.
        out_channels: channels of the image.
        batchnorm: batch normalisation in the hidden blocks.
        nonlinearity: activation of the hidden blocks.

    Returns:
        ``nn.Sequential`` mapping ``(batch, base_channels, *sizes[0])`` to
        ``(batch, out_channels, *sizes[-1])``.
    """
    blocks = []
    channels = base_channels
    for i, size in enumerate(sizes[1:]):
        last = i == len(sizes) - 2
        if last:
            blocks.append(UpsampleBlock(channels, out_channels, size, False, None))
        else:
            blocks.append(UpsampleBlock(channels, channels // 2, size, batchnorm, nonlinearity))
            channels //= 2
    return nn.Sequential(*blocks)


def base_channels(out_size: tuple[int, int], step_channels: int) -> int:
    """Channels of the base map: ``step_channels`` doubled once per doubling after the first."""
    return step_channels * 2 ** (len(upsampling_plan(out_size)) - 2)


class ConvHead(nn.Module):
    """From a small base feature map to the image: norm and activation, then DCGAN upsampling.

    The base grid is ``upsampling_plan(out_size)[0]`` and has ``step_channels * 2**(n - 1)``
    channels for ``n`` doublings, as in TorchGAN's ``DCGANGenerator``. The output is linear
    (no final nonlinearity).

    Args:
        out_size: ``(height, width)`` of the image.
        out_channels: channels of the image.
        step_channels: channels of the last hidden block.
        batchnorm: batch normalisation on the base map and in the hidden blocks.
        nonlinearity: activation of the base map and the hidden blocks.
    """

    def __init__(self, out_size, out_channels, step_channels, batchnorm, nonlinearity):
        super().__init__()
        self.sizes = upsampling_plan(out_size)
        self.base = self.sizes[0]
        self.base_channels = base_channels(out_size, step_channels)
        self.norm = nn.BatchNorm2d(self.base_channels) if batchnorm else nn.Identity()
        self.act = nonlinearity
        self.upsample = upsampling_stack(
            self.sizes, self.base_channels, out_channels, batchnorm, nonlinearity
        )

    def forward(self, fmap: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, base_channels, *base)`` to ``(batch, out_channels, *out_size)``."""
        return self.upsample(self.act(self.norm(fmap)))


def init_lstm_(lstm: nn.LSTM, forget_bias: float = 1.0) -> None:
    """Standard LSTM initialisation, in place.

    Input weights Xavier-uniform, recurrent weights orthogonal (each gate's block separately),
    biases zero except the forget gate's, which is ``forget_bias`` (PyTorch keeps two bias
    vectors per layer; their sum is what the gate sees, so one of them carries it).
    """
    hidden = lstm.hidden_size
    for name, param in lstm.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(param)
        elif name.startswith("weight_hh"):
            for gate in range(4):  # PyTorch's gate order: input, forget, cell, output
                nn.init.orthogonal_(param.data[gate * hidden : (gate + 1) * hidden])
        elif name.startswith("bias"):
            nn.init.zeros_(param)
            if name.startswith("bias_ih"):
                param.data[hidden : 2 * hidden].fill_(forget_bias)


def run_lstm(
    lstm: nn.LSTM, inputs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Run ``lstm`` over a whole ``(batch, steps, input_size)`` sequence in one fused call.

    Called inside the model's forward, so that under DataParallel each replica's copy of the
    weights is made one contiguous cuDNN block (else cuDNN warns and copies at every call).

    Returns:
        The LSTM's outputs and final ``(h, c)`` state, as ``nn.LSTM`` returns them.
    """
    if inputs.is_cuda:
        lstm.flatten_parameters()
    return lstm(inputs, state)

"""A TS2Vec encoder on torch: the feature extractor of context-FID.

TS2Vec (Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022)
learns a representation of every time step without labels: a linear input layer, a stack of
residual blocks of dilated 1-D convolutions (dilation ``2**i`` in block ``i``), and a
*hierarchical contrastive loss* between two overlapping random crops of each series, each with
half its time steps masked at random. The loss makes the two views of one time step agree
(against the other time steps of the series: the temporal term) and the two views of one
series agree (against the other series of the batch: the instance term), then max-pools both
views over time by 2 and repeats, down to one step.

Diffusion-TS's context-FID fits TS2Vec on the real sequences with TS2Vec's defaults: 320
output features, 64 hidden, 10 blocks, batch 8, AdamW at 1e-3, 200 iterations when the data
hold at most 100,000 values and 600 otherwise, and encodes each whole series by max-pooling
over its steps (``encoding_window="full_series"``) with a running average of the weights.
:func:`fit_ts2vec` does the same; its ``iterations`` may be set lower for quick checks.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .._random import forked_rng
from .._validation import check_int

__all__ = [
    "TS2VecEncoder",
    "default_ts2vec_iterations",
    "encode_series",
    "fit_ts2vec",
    "hierarchical_contrastive_loss",
]


class _ConvBlock(nn.Module):
    """Two GELU + dilated ``same`` convolutions with a residual connection."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int, final: bool):
        super().__init__()
        padding = dilation  # kernel 3: receptive field 2 * dilation + 1, odd, centred
        self.conv1 = nn.Conv1d(in_channels, out_channels, 3, padding=padding, dilation=dilation)
        self.conv2 = nn.Conv1d(out_channels, out_channels, 3, padding=padding, dilation=dilation)
        resize = in_channels != out_channels or final
        self.projector = nn.Conv1d(in_channels, out_channels, 1) if resize else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.projector is None else self.projector(x)
        return self.conv2(F.gelu(self.conv1(F.gelu(x)))) + residual


class TS2VecEncoder(nn.Module):
    """TS2Vec's encoder: features per step -> a representation per step.

    Args:
        features: input features per step.
        output_dims: representation size per step (TS2Vec: 320).
        hidden_dims: channels of the hidden blocks (TS2Vec: 64).
        depth: hidden blocks, block ``i`` dilated by ``2**i`` (TS2Vec: 10).
    """

    def __init__(
        self, features: int, output_dims: int = 320, hidden_dims: int = 64, depth: int = 10
    ):
        super().__init__()
        self.input_fc = nn.Linear(
            check_int("features", features), check_int("hidden_dims", hidden_dims)
        )
        channels = [hidden_dims] * check_int("depth", depth, minimum=0) + [
            check_int("output_dims", output_dims)
        ]
        self.blocks = nn.Sequential(
            *(
                _ConvBlock(channels[i - 1] if i else hidden_dims, c, 2**i, i == len(channels) - 1)
                for i, c in enumerate(channels)
            )
        )
        self.dropout = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor, mask_steps: bool = False) -> torch.Tensor:
        """Representations ``(batch, steps, output_dims)`` of ``x`` ``(batch, steps, features)``.

        ``mask_steps`` (training) zeroes the hidden input of each step with probability 1/2
        (TS2Vec's timestamp masking).
        """
        hidden = self.input_fc(x)
        if mask_steps:
            keep = torch.rand(hidden.shape[:2], device=hidden.device) < 0.5
            hidden = hidden * keep.unsqueeze(2)
        return self.dropout(self.blocks(hidden.transpose(1, 2))).transpose(1, 2)


def _contrast(z: torch.Tensor, count: int) -> torch.Tensor:
    # z: (groups, 2 * count, dims), the two views stacked; each view's partner is its twin.
    sim = z @ z.transpose(1, 2)
    logits = torch.tril(sim, diagonal=-1)[:, :, :-1] + torch.triu(sim, diagonal=1)[:, :, 1:]
    logits = -F.log_softmax(logits, dim=-1)  # each row: the others, itself left out
    i = torch.arange(count, device=z.device)
    return (logits[:, i, count + i - 1].mean() + logits[:, count + i, i].mean()) / 2


def hierarchical_contrastive_loss(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 0.5):
    """TS2Vec's loss between two views ``(batch, steps, dims)`` of the same time steps.

    At each scale, ``alpha`` times the instance term (views of a series against the batch's
    other series, per step) plus ``1 - alpha`` times the temporal term (views of a step against
    the series' other steps); then both are max-pooled over time by 2, down to one step.

    Returns:
        The loss averaged over the scales, a scalar tensor.
    """
    loss, scales = z1.new_zeros(()), 0
    while z1.size(1) > 1:
        if z1.size(0) > 1:
            loss = loss + alpha * _contrast(torch.cat([z1, z2], 0).transpose(0, 1), z1.size(0))
        loss = loss + (1 - alpha) * _contrast(torch.cat([z1, z2], 1), z1.size(1))
        scales += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    if z1.size(1) == 1:
        if z1.size(0) > 1:
            loss = loss + alpha * _contrast(torch.cat([z1, z2], 0).transpose(0, 1), z1.size(0))
        scales += 1
    return loss / scales


def _rows(x: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    index = starts[:, None] + torch.arange(length, device=x.device)
    return x[torch.arange(len(x), device=x.device)[:, None], index]


def _randint(low: int, high: int, size: tuple[int, ...] = ()) -> torch.Tensor:
    return torch.randint(low, high, size) if size else torch.randint(low, high, ()).item()


def _two_views(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # TS2Vec's random cropping: two crops of each series that share crop_len steps, shifted by
    # a random offset per series; the loss compares their representations of the shared steps.
    steps = x.size(1)
    crop_len = _randint(2, steps + 1)
    left = _randint(0, steps - crop_len + 1)
    right = left + crop_len
    extended_left = _randint(0, left + 1)
    extended_right = _randint(right, steps + 1)
    offset = _randint(-extended_left, steps - extended_right + 1, (len(x),)).to(x.device)
    out1 = net(_rows(x, offset + extended_left, right - extended_left), mask_steps=True)
    out2 = net(_rows(x, offset + left, extended_right - left), mask_steps=True)
    return out1[:, -crop_len:], out2[:, :crop_len]


def default_ts2vec_iterations(real: torch.Tensor) -> int:
    """TS2Vec's default budget: 200 iterations for data of at most 100,000 values, else 600."""
    return 200 if real.numel() <= 100_000 else 600


def fit_ts2vec(
    real: torch.Tensor,
    iterations: int | None = None,
    batch_size: int = 8,
    lr: float = 1e-3,
    seed: int = 0,
    **encoder_args,
) -> TS2VecEncoder:
    """Fit a :class:`TS2VecEncoder` on ``real`` as TS2Vec (and so Diffusion-TS) does.

    Args:
        real: ``(N, seq_len, features)`` sequences, ``seq_len >= 2``.
        iterations: optimiser steps; ``None``: :func:`default_ts2vec_iterations`.
        batch_size: series per step (TS2Vec: 8); shuffled epochs, the last partial batch
            dropped.
        lr: AdamW's rate (TS2Vec: 1e-3).
        seed: seeds the initialisation, batches, crops and masks; the caller's random state is
            left unchanged.
        **encoder_args: :class:`TS2VecEncoder`'s ``output_dims``, ``hidden_dims``, ``depth``.

    Returns:
        The running average of the encoder's weights over the steps (TS2Vec's
        ``AveragedModel``), in evaluation mode, on the CPU.
    """
    real = real.detach().float().cpu()
    iterations = default_ts2vec_iterations(real) if iterations is None else iterations
    check_int("iterations", iterations)
    batch_size = min(check_int("batch_size", batch_size), len(real))
    with forked_rng("cpu", seed):
        net = TS2VecEncoder(real.size(2), **encoder_args)
        average = copy.deepcopy(net)
        optimizer = torch.optim.AdamW(net.parameters(), lr=lr)
        done = 0
        while done < iterations:
            order = torch.randperm(len(real))
            for start in range(0, len(real) - batch_size + 1, batch_size):
                if done == iterations:
                    break
                out1, out2 = _two_views(net, real[order[start : start + batch_size]])
                loss = hierarchical_contrastive_loss(out1, out2)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                done += 1
                with torch.no_grad():  # the equal-weight average of every step's weights
                    for kept, new in zip(average.parameters(), net.parameters(), strict=True):
                        kept += (new - kept) / (done + 1)
    return average.eval()


def encode_series(encoder: TS2VecEncoder, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """One vector per series: the encoder's representations max-pooled over all steps.

    Args:
        encoder: a fitted encoder (evaluation mode).
        x: ``(N, seq_len, features)``.
        batch_size: series encoded per call.

    Returns:
        ``(N, output_dims)`` float32 on the CPU.
    """
    encoder.eval()
    with torch.no_grad():
        parts = [
            encoder(chunk.float()).amax(dim=1)
            for chunk in x.detach().cpu().split(check_int("batch_size", batch_size))
        ]
    return torch.cat(parts)

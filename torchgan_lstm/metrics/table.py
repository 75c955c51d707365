"""The table scores of :mod:`.table_scores` as TorchGAN ``EvaluationMetric`` objects for the
Trainer's ``metrics_list``: each generates as many packed tables as its reference set holds
(see :class:`~torchgan_lstm.metrics.SequenceMetric`) and scores them against it; like the
other metrics it pickles only its configuration (``real``, ``channels``, ...).
"""

from __future__ import annotations

import torch

from .._validation import InputError, check_int
from ..table_channels import check_channels
from .sequence import SequenceMetric
from .sequence_scores import SequenceArray
from .table_scores import (
    attribute_series_distance,
    autocorrelation_distance,
    category_distance,
    gap_length_distance,
    length_distance,
    missing_rate_distance,
    static_distance,
)

__all__ = [
    "AttributeSeriesDistance",
    "AutocorrelationDistance",
    "CategoryDistance",
    "GapLengthDistance",
    "LengthDistance",
    "MissingRateDistance",
    "StaticDistance",
    "TableMetric",
]


class TableMetric(SequenceMetric):
    """Base of the table metrics: a :class:`SequenceMetric` that also knows the ``channels``.

    The scores are deterministic, so ``runs`` only repeats them.

    Args:
        real: the reference packed tables ``(N, seq_len, C)`` (``N >= 2``).
        channels: their layout (see :mod:`torchgan_lstm.table_channels`).
        runs: as for :class:`SequenceMetric`.
        seed: as for :class:`SequenceMetric`.
        chunk_size: as for :class:`SequenceMetric`.

    Raises:
        InputError: a bad ``channels``, ``real`` not as wide as it, or ``channels`` without
            the columns this score needs.
    """

    _config_names = (*SequenceMetric._config_names, "channels")

    def __init__(
        self,
        real: SequenceArray,
        channels: list[dict],
        runs: int = 1,
        seed: int = 0,
        chunk_size: int = 1000,
    ) -> None:
        super().__init__(real, runs, seed, chunk_size)
        width = check_channels(channels)[-1].stop
        if self.real.size(2) != width:
            raise InputError(
                f"real must have {width} channels (the width of channels), got "
                f"{tuple(self.real.shape)}"
            )
        self.channels = [dict(group) for group in channels]
        self.score(self.real[:2], self.real[:2], 0)  # refuses channels that lack its columns

    def score(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> float:
        """The score of ``fake`` against ``real``; ``seed`` is not used."""
        return self.table_score(real, fake, self.channels)

    @staticmethod
    def table_score(real: torch.Tensor, fake: torch.Tensor, channels: list[dict]) -> float:
        """The plain function this metric computes."""
        raise NotImplementedError


class CategoryDistance(TableMetric):
    """:func:`~.table_scores.category_distance` as a TorchGAN metric (see :class:`TableMetric`)."""

    table_score = staticmethod(category_distance)


class LengthDistance(TableMetric):
    """:func:`~.table_scores.length_distance` as a TorchGAN metric (see :class:`TableMetric`)."""

    table_score = staticmethod(length_distance)


class MissingRateDistance(TableMetric):
    """:func:`~.table_scores.missing_rate_distance` as a TorchGAN metric."""

    table_score = staticmethod(missing_rate_distance)


class GapLengthDistance(TableMetric):
    """:func:`~.table_scores.gap_length_distance` as a TorchGAN metric."""

    table_score = staticmethod(gap_length_distance)


class StaticDistance(TableMetric):
    """:func:`~.table_scores.static_distance` as a TorchGAN metric (see :class:`TableMetric`)."""

    table_score = staticmethod(static_distance)


class AttributeSeriesDistance(TableMetric):
    """:func:`~.table_scores.attribute_series_distance` as a TorchGAN metric."""

    table_score = staticmethod(attribute_series_distance)


class AutocorrelationDistance(TableMetric):
    """:func:`~.table_scores.autocorrelation_distance` as a TorchGAN metric.

    Args:
        real: as for :class:`TableMetric`.
        channels: as for :class:`TableMetric`.
        lags: the largest lag, in ``[1, seq_len)``.
        runs: as for :class:`TableMetric`.
        seed: as for :class:`TableMetric`.
        chunk_size: as for :class:`TableMetric`.
    """

    _config_names = (*TableMetric._config_names, "lags")

    def __init__(
        self,
        real: SequenceArray,
        channels: list[dict],
        lags: int = 5,
        runs: int = 1,
        seed: int = 0,
        chunk_size: int = 1000,
    ) -> None:
        self.lags = check_int("lags", lags)
        super().__init__(real, channels, runs, seed, chunk_size)

    def score(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> float:
        """:func:`~.table_scores.autocorrelation_distance` at this metric's lags."""
        return autocorrelation_distance(real, fake, self.channels, self.lags)

"""Table scores: 0 on identical data, the known value or growth under a known perturbation, the
checks, and the TorchGAN metrics around them."""

from __future__ import annotations

import pickle

import pytest
import torch

from benchmarks.table_truth import CHANNELS, SEQ_LEN, truth_table
from torchgan_lstm import InputError, TableSequenceGenerator
from torchgan_lstm.metrics import (
    CHECKPOINT_SAFE_CLASSES,
    AttributeSeriesDistance,
    AutocorrelationDistance,
    CategoryDistance,
    GapLengthDistance,
    LengthDistance,
    MissingRateDistance,
    StaticDistance,
    attribute_series_distance,
    autocorrelation_distance,
    category_distance,
    gap_length_distance,
    length_distance,
    missing_rate_distance,
    static_distance,
    table_report,
)
from torchgan_lstm.table_channels import check_channels, harden, lengths

SCORES = [
    category_distance,
    length_distance,
    missing_rate_distance,
    gap_length_distance,
    static_distance,
    attribute_series_distance,
    autocorrelation_distance,
]
GROUPS = check_channels(CHANNELS)


@pytest.fixture(scope="module")
def real():
    return truth_table(400, 0)[0]


@pytest.mark.parametrize("score", SCORES, ids=lambda f: f.__name__)
def test_every_score_is_zero_on_identical_data(real, score):
    assert score(real, real.clone(), CHANNELS) == 0


def test_length_distance_is_the_mean_shift_in_steps_over_seq_len(real):
    shorter = real.clone()
    n = lengths(real, GROUPS)
    long_enough = n > 4
    shorter[long_enough, n[long_enough] - 1, 2:] = 0  # each such entity one step shorter
    moved = float(long_enough.float().mean())
    assert length_distance(real, shorter, CHANNELS) == pytest.approx(moved / SEQ_LEN)


def _recode(x: torch.Tensor, group: int, mapping: list[int]) -> torch.Tensor:
    out = x.clone()
    g = GROUPS[group]
    out[..., g.slice] = x[..., g.slice][..., mapping]
    return out


def test_category_and_static_distances_grow_with_the_share_of_changed_categories(real):
    half = real.clone()
    half[:200] = _recode(real[:200], 0, [1, 0])  # swap kind for half the entities
    everything = _recode(real, 0, [1, 0])
    for score in (category_distance, static_distance):
        assert 0 < score(real, half, CHANNELS) < score(real, everything, CHANNELS)
    # every state moved one category on: frequencies (0.6, 0.3, 0.1) become (0.1, 0.6, 0.3),
    # a total variation of 0.5 for that column, and the mean over both columns halves it
    moved = _recode(real, 3, [2, 0, 1])
    assert table_report(real, moved, CHANNELS)["category_distance/series/state"] == pytest.approx(
        0.5, abs=0.05
    )
    assert category_distance(real, moved, CHANNELS) == pytest.approx(0.25, abs=0.025)


def test_missing_rate_and_gap_length_follow_the_gaps(real):
    filled = real.clone()
    filled[..., 3] = filled[..., -1]  # every present step observed
    rate = 1 - float(real[..., 3].sum() / real[..., -1].sum())
    assert missing_rate_distance(real, filled, CHANNELS) == pytest.approx(rate)
    assert gap_length_distance(real, filled, CHANNELS) > 0
    blocks = real.clone()
    blocks[:, 2:6, 3] = 0  # four-step gaps: longer runs, more missing
    assert (
        gap_length_distance(real, blocks, CHANNELS)
        > gap_length_distance(real, filled, CHANNELS) / 2
    )


def test_attribute_series_distance_sees_the_relation_broken_but_not_the_marginals(real):
    shuffled = real.clone()
    shuffled[..., :2] = real[
        torch.randperm(len(real), generator=torch.Generator().manual_seed(0)), :, :2
    ]
    assert static_distance(real, shuffled, CHANNELS) == 0  # same attributes, reassigned
    assert attribute_series_distance(real, shuffled, CHANNELS) > 0.1


def test_autocorrelation_distance_grows_when_steps_are_shuffled(real):
    order = torch.randperm(SEQ_LEN, generator=torch.Generator().manual_seed(0))
    shuffled = real.clone()
    shuffled[..., 2] = real[:, order, 2] * real[..., -1]
    shuffled[..., 3] = real[:, order, 3] * real[..., -1]
    assert autocorrelation_distance(real, shuffled, CHANNELS) > 0.2
    with pytest.raises(InputError, match="lags must be < seq_len=12, got 12"):
        autocorrelation_distance(real, real, CHANNELS, lags=12)


def test_soft_generated_values_are_hardened_before_scoring(real):
    soft, discrete = real.clone(), [0, 1, 3, 4, 5, 6, 7]
    soft[..., discrete] = real[..., discrete] * 0.8 + 0.1  # every flag still decides the same
    assert torch.equal(harden(soft, GROUPS), real)
    assert all(score(real, soft, CHANNELS) == pytest.approx(0, abs=1e-6) for score in SCORES)


def test_scores_refuse_bad_inputs_and_missing_columns_by_name(real):
    with pytest.raises(InputError, match="real and fake must have the same"):
        length_distance(real, real[:, :5], CHANNELS)
    with pytest.raises(InputError, match="must have 8 channels"):
        length_distance(real[..., :7], real[..., :7], CHANNELS)
    no_gaps = [g for g in CHANNELS if g["kind"] != "observed"]
    packed = torch.cat([real[..., :3], real[..., 4:]], dim=2)
    with pytest.raises(InputError, match="missing_rate_distance needs a channels group"):
        missing_rate_distance(packed, packed, no_gaps)
    report = table_report(packed, packed, no_gaps)
    assert "missing_rate_distance" not in report and report["category_distance"] == 0


def test_report_holds_every_score_per_column_and_the_mean_lengths(real):
    other = truth_table(400, 1)[0]
    report = table_report(real, other, CHANNELS)
    assert report["length_distance"] == length_distance(real, other, CHANNELS)
    assert report["length_mean_real"] == pytest.approx(float(lengths(real, GROUPS).float().mean()))
    for key in (
        "category_distance/static/kind",
        "category_distance/series/state",
        "attribute_series_distance/kind -> value",
        "autocorrelation_distance",
        "gap_length_distance",
    ):
        assert key in report
    assert all(isinstance(v, float) for v in report.values())


METRICS = [
    CategoryDistance,
    LengthDistance,
    MissingRateDistance,
    GapLengthDistance,
    StaticDistance,
    AttributeSeriesDistance,
    AutocorrelationDistance,
]


@pytest.mark.parametrize("cls", METRICS, ids=lambda c: c.__name__)
def test_metrics_score_a_generator_and_pickle_only_their_configuration(real, cls):
    assert cls in CHECKPOINT_SAFE_CLASSES
    torch.manual_seed(0)
    g = TableSequenceGenerator(CHANNELS, seq_len=SEQ_LEN, hidden_size=8, num_layers=1)
    metric = cls(real[:64], CHANNELS, chunk_size=40)
    value = metric.metric_ops(g, "cpu")
    assert value > 0  # an untrained generator is not the data
    assert metric(real[:64]) == 0
    restored = pickle.loads(pickle.dumps(metric))
    assert restored.channels == CHANNELS and torch.equal(restored.real, metric.real)
    assert set(metric.__getstate__()) >= {"real", "channels"}


def test_metrics_refuse_channels_without_their_columns(real):
    no_gaps = [g for g in CHANNELS if g["kind"] != "observed"]
    packed = torch.cat([real[..., :3], real[..., 4:]], dim=2)
    with pytest.raises(InputError, match="gap_length_distance needs"):
        GapLengthDistance(packed, no_gaps)
    with pytest.raises(InputError, match="real must have 8 channels"):
        LengthDistance(packed, CHANNELS)

"""Sequence metrics: sanity values, determinism, TorchGAN metric protocol, checkpoint safety."""

from __future__ import annotations

import math

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from torchgan_lstm.losses import build_losses
from torchgan_lstm.metrics import (
    CHECKPOINT_SAFE_CLASSES,
    CorrelationalScore,
    DiscriminativeScore,
    PredictiveScore,
    SequenceFrechetDistance,
    correlational_score,
    discriminative_score,
    predictive_score,
    score_spread,
    sequence_frechet_distance,
)
from torchgan_lstm.models import LSTMSequenceGenerator
from torchgan_lstm.trainer.sequence_plots import SequenceTrainer

from .conftest import SMALL_SEQUENCE_GENERATOR, sequence_model_config, sine_batch

# TimeGAN's Sines at TimeGAN's size per sequence: 24 steps of 5 features.
REAL = sine_batch(1000, seq_len=24, features=5, seed=0)
OTHER_REAL = sine_batch(1000, seq_len=24, features=5, seed=1)


def test_discriminative_score_is_near_zero_for_real_against_real():
    assert discriminative_score(REAL, OTHER_REAL, iterations=200) < 0.06


def test_discriminative_score_is_large_for_noise_against_real():
    noise = torch.rand_like(REAL)
    assert discriminative_score(REAL, noise, iterations=200) > 0.3


def test_discriminative_score_is_seeded_and_leaves_the_callers_random_state_alone():
    fake = REAL.flip(1)
    state = torch.get_rng_state()
    first = discriminative_score(REAL, fake, iterations=50, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert discriminative_score(REAL, fake, iterations=50, seed=4) == first


def test_predictive_score_on_real_data_is_of_timegans_order_and_noise_is_worse():
    # TimeGAN reports 0.094 for a predictor trained on real Sines (5,000 iterations; 0.093
    # here), 200 iterations give 0.13.
    on_real = predictive_score(REAL, OTHER_REAL, iterations=200)
    assert 0.06 < on_real < 0.16
    on_noise = predictive_score(REAL, torch.rand_like(REAL), iterations=200)
    assert on_noise > on_real + 0.05


def test_correlational_score_is_zero_for_equal_correlations_and_large_for_others():
    assert correlational_score(REAL, REAL) == pytest.approx(0, abs=1e-12)
    assert correlational_score(REAL, OTHER_REAL) < 0.05
    # Each feature a copy of the first: perfectly correlated, unlike independent sines.
    copies = REAL[:, :, :1].expand_as(REAL)
    assert correlational_score(REAL, copies) > 0.5
    constant = REAL.clone()
    constant[:, :, 2] = 0.5
    assert math.isfinite(correlational_score(REAL, constant))


def test_sequence_frechet_distance_is_zero_for_the_same_set_and_grows_with_difference():
    assert sequence_frechet_distance(REAL, REAL) == pytest.approx(0, abs=1e-6)
    near = sequence_frechet_distance(REAL, OTHER_REAL)
    assert near < 0.05
    assert sequence_frechet_distance(REAL, torch.rand_like(REAL)) > 100 * near


@pytest.mark.parametrize(
    ("score", "fake", "message"),
    [
        (discriminative_score, torch.rand(10, 23, 5), r"same \(seq_len, features\)"),
        (correlational_score, torch.rand(10, 24), r"shape \(N, seq_len, features\)"),
        (sequence_frechet_distance, torch.full((10, 24, 5), math.nan), "must be finite"),
    ],
)
def test_scores_refuse_sets_that_do_not_match(score, fake, message):
    with pytest.raises(ValueError, match=message):
        score(REAL[:10], fake)


def test_predictive_score_needs_two_features():
    with pytest.raises(ValueError, match="needs >= 2 features, got 1"):
        predictive_score(REAL[:, :, :1], REAL[:, :, :1], iterations=1)


def test_score_spread_reports_mean_and_sample_sd_over_seeds():
    spread = score_spread(lambda seed: float(seed), runs=3, seed=1)
    assert spread.scores == (1.0, 2.0, 3.0)
    assert spread.mean == 2.0 and spread.sd == 1.0
    assert spread.as_dict() == {"mean": 2.0, "sd": 1.0, "scores": [1.0, 2.0, 3.0]}
    assert score_spread(lambda seed: 0.5, runs=1).sd == 0.0
    real_spread = score_spread(
        lambda seed: predictive_score(REAL, REAL, iterations=20, seed=seed), runs=2
    )
    assert len(set(real_spread.scores)) == 2  # seeds change the initialisation and batches


def small_generator(**args) -> LSTMSequenceGenerator:
    torch.manual_seed(0)
    return LSTMSequenceGenerator(**{**SMALL_SEQUENCE_GENERATOR, **args})


def test_metric_ops_scores_as_many_generated_sequences_as_the_real_set():
    real = sine_batch(30)
    metric = DiscriminativeScore(real, runs=2, chunk_size=7, iterations=5, batch_size=8)
    generator = small_generator().eval()
    seen = []
    generator.register_forward_hook(lambda m, i, out: seen.append(out.shape[0]))
    state = torch.get_rng_state()
    score = metric.metric_ops(generator, "cpu")
    assert torch.equal(torch.get_rng_state(), state)  # evaluation leaves training's noise alone
    assert sum(seen) == 30 and max(seen) == 7
    assert 0 <= score <= 0.5 and score == metric.last_spread.mean
    assert len(metric.last_spread.scores) == 2


def test_metric_refuses_a_generator_of_another_shape():
    metric = CorrelationalScore(sine_batch(10))
    with pytest.raises(ValueError, match=r"shape \(10, 8, 3\) for sampler\(10, device\)"):
        metric.metric_ops(small_generator(seq_len=9), "cpu")


@pytest.mark.parametrize(
    "metric",
    [
        DiscriminativeScore(sine_batch(10), iterations=3),
        PredictiveScore(sine_batch(10), iterations=3, runs=2),
        CorrelationalScore(sine_batch(10)),
        SequenceFrechetDistance(sine_batch(10)),
    ],
    ids=lambda m: type(m).__name__,
)
def test_metrics_pickle_only_their_configuration_and_load_weights_only(metric, tmp_path):
    metric.metric_ops(small_generator(), "cpu")
    assert metric.last_spread is not None
    torch.save({"metric": metric}, tmp_path / "m.pt")
    with torch.serialization.safe_globals(list(CHECKPOINT_SAFE_CLASSES)):
        loaded = torch.load(tmp_path / "m.pt", weights_only=True)["metric"]
    assert type(loaded) is type(metric) and loaded.last_spread is None
    assert torch.equal(loaded.real, metric.real)
    assert repr(loaded) == repr(metric) and "<tensor (10, 8, 3)>" in repr(loaded)


def test_trainer_logs_the_metrics_each_epoch_and_resumes_with_them(trainer_paths, sine_loader):
    def build(epochs):
        torch.manual_seed(0)
        metrics = [
            DiscriminativeScore(sine_batch(16), iterations=3),
            CorrelationalScore(sine_batch(16)),
        ]
        return SequenceTrainer(
            sequence_model_config("lstm"),
            build_losses("minimax"),
            metrics_list=metrics,
            device=torch.device("cpu"),
            epochs=epochs,
            sample_size=4,
            **trainer_paths,
        )

    trainer = build(2)
    trainer(sine_loader)
    logs = trainer.logger.get_metric_viz().logs
    assert len(logs["DiscriminativeScore"]) == 2 and len(logs["CorrelationalScore"]) == 2
    trainer.logger.close()
    events = EventAccumulator(trainer_paths["log_dir"], size_guidance={"scalars": 0})
    events.Reload()
    assert len(events.Scalars("Metrics/CorrelationalScore")) == 2

    resumed = build(3)
    resumed.load_model(trainer_paths["checkpoints"] + "1.model")
    assert isinstance(resumed.metrics["DiscriminativeScore"], DiscriminativeScore)
    resumed(sine_loader)
    assert len(resumed.logger.get_metric_viz().logs["CorrelationalScore"]) == 1

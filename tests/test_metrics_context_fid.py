"""Context-FID with a TS2Vec encoder fitted on the real data, and TimeGAN's PCA / t-SNE figure."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchgan_lstm.metrics import ContextFID, context_fid
from torchgan_lstm.metrics.projections import pca_2d, real_and_generated_figure, tsne_2d
from torchgan_lstm.metrics.ts2vec import (
    default_ts2vec_iterations,
    encode_series,
    fit_ts2vec,
    hierarchical_contrastive_loss,
)
from torchgan_lstm.models import LSTMSequenceGenerator

from .conftest import sine_batch

SMALL = {"output_dims": 16, "hidden_dims": 8, "depth": 3}


@pytest.fixture(scope="module")
def real():
    return sine_batch(96, seq_len=12, features=3)


@pytest.fixture(scope="module")
def encoder(real):
    return fit_ts2vec(real, iterations=30, seed=0, **SMALL)


def test_identical_sets_score_zero_and_a_perturbation_scores_more_the_larger_it_is(real, encoder):
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(1))
    shuffled = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(2))]
    assert context_fid(real, shuffled, encoder=encoder) == pytest.approx(0, abs=1e-6)
    scores = [context_fid(real, real + size * noise, encoder=encoder) for size in (0.02, 0.1, 0.3)]
    assert 0 < scores[0] < scores[1] < scores[2]
    other = sine_batch(96, seq_len=12, features=3, seed=5).flip(1) * 0.5
    assert context_fid(real, other, encoder=encoder) > scores[0]


def test_fitting_lowers_the_contrastive_loss_and_the_average_is_deterministic(real):
    views = real[:16], real[:16] + 0.01
    before = fit_ts2vec(real, iterations=1, seed=3, **SMALL)
    after = fit_ts2vec(real, iterations=60, seed=3, **SMALL)
    loss = [hierarchical_contrastive_loss(e(views[0]), e(views[1])).item() for e in (before, after)]
    assert loss[1] < loss[0]
    again = fit_ts2vec(real, iterations=60, seed=3, **SMALL)
    assert torch.equal(encode_series(after, real), encode_series(again, real))
    assert encode_series(after, real).shape == (96, 16)


def test_the_default_budget_is_ts2vecs():
    assert default_ts2vec_iterations(torch.zeros(100, 10, 100)) == 200
    assert default_ts2vec_iterations(torch.zeros(100, 10, 101)) == 600


def test_context_fid_is_a_torchgan_metric_with_its_spread(real):
    generator = LSTMSequenceGenerator(encoding_dims=2, seq_len=12, features=3, hidden_size=4)
    metric = ContextFID(real, runs=2, iterations=2)
    value = metric.metric_ops(generator, "cpu")
    assert value == pytest.approx(metric.last_spread.mean) and len(metric.last_spread.scores) == 2
    assert value > 0 and metric.last_spread.scores[0] != metric.last_spread.scores[1]


def test_pca_and_tsne_keep_two_groups_apart_and_the_figure_names_them():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 0.1, (30, 6)), rng.normal(3, 0.1, (30, 6))
    pa, pb = pca_2d(a, b)
    assert abs(pa.mean(axis=0)).max() < 1e-9 and np.linalg.norm(pb.mean(0)) > 5
    y = tsne_2d(np.concatenate([a, b]), perplexity=10)
    distances = np.linalg.norm(y[:, None] - y[None], axis=2) + np.eye(60) * 1e9
    group = np.arange(60) >= 30
    assert (group[distances.argmin(axis=1)] == group).all()  # each point's neighbour: its group
    figure = real_and_generated_figure(a[:, :, None], b[:, :, None], ["OT"], tsne_iterations=20)
    pca, tsne = figure.axes
    assert (pca.get_xlabel(), tsne.get_ylabel()) == ("PC 1", "t-SNE 2")
    assert [t.get_text() for t in pca.get_legend().get_texts()] == ["real (30)", "generated (30)"]
    assert "OT" in figure._suptitle.get_text()

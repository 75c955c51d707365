"""Tests of torchgan_lstm.metrics: the classifier, the Fréchet distance, coverage and imbalance.

The claims are checked on real Fashion-MNIST: the shipped classifier is accurate, real images
are near zero distance from real images, a one-class generator covers one class and is far,
noise is far, and the numpy Fréchet distance agrees with scipy's ``sqrtm``.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from torchgan_lstm.data import DataNotFoundError, find_fashion_mnist, load_fashion_mnist
from torchgan_lstm.metrics import (
    CHECKPOINT_SAFE_CLASSES,
    ClassCoverage,
    ClassImbalance,
    FrechetClassifierDistance,
    SharedSamples,
    fashion_mnist_tensor,
    feature_statistics,
    frechet_distance,
    load_classifier,
    to_classifier_input,
)
from torchgan_lstm.metrics.classifier import TRAIN_SCRIPT

try:
    find_fashion_mnist(split="test")
    HAVE_FASHION = True
except DataNotFoundError:
    HAVE_FASHION = False
needs_fashion = pytest.mark.skipif(not HAVE_FASHION, reason="Fashion-MNIST not on this machine")

BAG = 8  # the class the classifier confuses least (0.3% at most to another class)


class ImageBankGenerator(nn.Module):
    """A stand-in generator: ``sampler`` draws indices, ``forward`` returns those images."""

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("images", images)

    def sampler(self, sample_size: int, device: torch.device) -> list[torch.Tensor]:
        return [torch.randint(len(self.images), (sample_size,), device=device)]

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        return self.images[indices]


class UniformNoiseGenerator(nn.Module):
    """A stand-in generator whose images are uniform noise in [-1, 1]."""

    def sampler(self, sample_size: int, device: torch.device) -> list[torch.Tensor]:
        return [torch.rand(sample_size, 1, 32, 32, device=device) * 2 - 1]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images


def scipy_frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """The textbook formula with scipy's general matrix square root (as in pytorch-fid)."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def features_and_logits(classifier, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        features = torch.cat([classifier.features(chunk) for chunk in images.split(1000)])
        return features, classifier.head(features)


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


@pytest.fixture(scope="module")
def test_split():
    """The test split in the model convention, and its labels."""
    return fashion_mnist_tensor("test"), load_fashion_mnist(split="test")[1]


@pytest.fixture(scope="module")
def test_outputs(classifier, test_split):
    """Features ``(10000, 128)`` and logits ``(10000, 10)`` of the test split."""
    return features_and_logits(classifier, test_split[0])


@pytest.fixture(scope="module")
def train_subset_features(classifier):
    """Features of 10,000 train images chosen with a fixed seed."""
    images = fashion_mnist_tensor("train")
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:10_000]
    return features_and_logits(classifier, images[chosen])[0]


@pytest.fixture(scope="module")
def fcd():
    """A distance against the default reference (the test split), real statistics cached."""
    return FrechetClassifierDistance(sample_size=1000, batch_size=250)


@pytest.fixture(scope="module")
def bags(test_split):
    images, labels = test_split
    return images[labels == BAG]


# --- the classifier ---------------------------------------------------------------------------


@needs_fashion
def test_classifier_is_at_least_90_percent_accurate_on_the_test_split(test_split, test_outputs):
    accuracy = (test_outputs[1].argmax(1) == test_split[1]).float().mean().item()
    print(f"classifier test accuracy: {accuracy:.4f}")
    assert accuracy >= 0.90


@needs_fashion
def test_classifier_features_are_128_nonnegative_and_logits_are_10(test_outputs):
    features, logits = test_outputs
    assert features.shape == (10_000, 128) and logits.shape == (10_000, 10)
    assert features.min() >= 0  # taken after the ReLU


def test_load_classifier_names_the_training_script_when_weights_are_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=TRAIN_SCRIPT):
        load_classifier(weights_path=tmp_path / "missing.pt")


@needs_fashion
def test_fashion_mnist_tensor_pads_with_black_and_scales_to_minus_one_one(test_split):
    images = test_split[0]
    assert images.shape == (10_000, 1, 32, 32) and images.dtype == torch.float32
    assert images.min() == -1 and images.max() == 1
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (images[:, 0, border] == -1).all()


def test_to_classifier_input_turns_rgb_to_grey_and_resizes_to_32():
    grey = torch.rand(2, 1, 64, 48) * 2 - 1
    out = to_classifier_input(grey.expand(2, 3, 64, 48))
    assert out.shape == (2, 1, 32, 32)
    torch.testing.assert_close(out, to_classifier_input(grey))
    same = torch.rand(2, 1, 32, 32)
    assert to_classifier_input(same) is same


@pytest.mark.parametrize("shape", [(2, 2, 32, 32), (2, 1, 7, 32), (1, 32, 32), (0, 1, 32, 32)])
def test_to_classifier_input_rejects_bad_shapes_naming_them(shape):
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        to_classifier_input(torch.zeros(shape))


def test_to_classifier_input_rejects_integer_images():
    with pytest.raises(TypeError, match="floating-point"):
        to_classifier_input(torch.zeros(2, 1, 32, 32, dtype=torch.uint8))


# --- the Fréchet distance ---------------------------------------------------------------------


@needs_fashion
def test_train_split_is_near_zero_distance_from_test_split(train_subset_features, test_outputs):
    distance = frechet_distance(
        *feature_statistics(train_subset_features), *feature_statistics(test_outputs[0])
    )
    print(f"train (10k) vs test distance: {distance:.4f}")
    assert distance < 1.0


@needs_fashion
def test_default_reference_is_the_test_split(fcd, test_outputs):
    mu, sigma = fcd.real_statistics()
    expected_mu, expected_sigma = feature_statistics(test_outputs[0])
    np.testing.assert_allclose(mu, expected_mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sigma, expected_sigma, rtol=1e-5, atol=1e-6)


@needs_fashion
def test_one_class_generator_is_far_covers_one_class_and_is_imbalanced(fcd, bags):
    generator = ImageBankGenerator(bags)
    torch.manual_seed(0)
    distance = fcd.metric_ops(generator, torch.device("cpu"))
    coverage = ClassCoverage(sample_size=1000, batch_size=250)
    covered = coverage.metric_ops(generator, "cpu")
    imbalance = ClassImbalance(sample_size=1000, batch_size=250).metric_ops(generator, "cpu")
    print(f"one class: distance {distance:.2f}, coverage {covered}, imbalance {imbalance:.3f}")
    assert all(type(value) is float for value in (distance, covered, imbalance))
    assert distance > 100.0
    assert covered == 1.0
    assert coverage.last_histogram.argmax().item() == BAG
    assert imbalance > 0.95 * math.log(10)


@needs_fashion
def test_uniform_noise_is_far(fcd):
    torch.manual_seed(0)
    distance = fcd.metric_ops(UniformNoiseGenerator(), "cpu")
    print(f"uniform noise distance: {distance:.2f}")
    assert type(distance) is float
    assert distance > 100.0


@needs_fashion
def test_score_images_of_real_images_is_near_zero(fcd, test_split):
    # 5,000 test images against all 10,000: only the small-sample bias is left (about 0.3;
    # with 2,000 images it is about 1, so compare distances only at equal sample sizes).
    assert fcd.score_images(test_split[0][:5000]) < 1.0


def test_frechet_distance_matches_scipy_on_random_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 64)) @ rng.normal(size=(64, 64))
    b = rng.normal(size=(500, 64)) @ rng.normal(size=(64, 64)) + 0.5
    stats = (*feature_statistics(a), *feature_statistics(b))
    assert frechet_distance(*stats) == pytest.approx(scipy_frechet_distance(*stats), rel=1e-6)


@needs_fashion
def test_frechet_distance_matches_scipy_on_classifier_features(
    train_subset_features, test_outputs, bags, classifier
):
    # Units that never fire (zero variance in both sets, same mean) make the covariances
    # singular, where scipy's sqrtm loses accuracy (it warns so). They add nothing to the
    # distance, so compare scipy on the live units with ours on all of them.
    test_stats = feature_statistics(test_outputs[0])
    one_class = features_and_logits(classifier, bags)[0]
    for features in (train_subset_features, one_class):
        stats = (*feature_statistics(features), *test_stats)
        live = (np.diag(stats[1]) > 0) | (np.diag(stats[3]) > 0)
        assert live.sum() < len(live)  # the case this test is about
        np.testing.assert_array_equal(stats[0][~live], stats[2][~live])
        live_stats = (stats[0][live], stats[1][np.ix_(live, live)])
        live_stats += (stats[2][live], stats[3][np.ix_(live, live)])
        expected = scipy_frechet_distance(*live_stats)
        assert frechet_distance(*stats) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_is_zero_between_identical_gaussians_and_symmetric():
    rng = np.random.default_rng(1)
    mu1, sigma1 = feature_statistics(rng.normal(size=(50, 8)))
    mu2, sigma2 = feature_statistics(rng.normal(size=(50, 8)))
    assert frechet_distance(mu1, sigma1, mu1, sigma1) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(
        frechet_distance(mu2, sigma2, mu1, sigma1), rel=1e-9
    )


def test_frechet_distance_rejects_mismatched_shapes_naming_the_argument():
    with pytest.raises(ValueError, match="sigma2"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))


def test_feature_statistics_needs_two_rows():
    with pytest.raises(ValueError, match=r"N >= 2, got \(1, 4\)"):
        feature_statistics(np.zeros((1, 4)))


# --- coverage and imbalance -------------------------------------------------------------------


def test_coverage_counts_classes_with_at_least_min_fraction():
    predictions = torch.tensor([0] * 985 + [1] * 10 + [2] * 5)
    assert ClassCoverage(min_fraction=0.01).calculate_score(predictions) == 2.0
    assert ClassCoverage(min_fraction=0.005).calculate_score(predictions) == 3.0


def test_imbalance_is_zero_for_uniform_and_log10_for_one_class():
    assert ClassImbalance().calculate_score(torch.arange(1000) % 10) == pytest.approx(0.0)
    assert ClassImbalance().calculate_score(torch.zeros(1000, dtype=torch.long)) == pytest.approx(
        math.log(10)
    )


@needs_fashion
def test_real_test_split_covers_all_classes_and_is_balanced(test_outputs):
    predictions = test_outputs[1].argmax(1)
    coverage = ClassCoverage()
    assert coverage.calculate_score(predictions) == 10.0
    assert coverage.last_histogram.sum().item() == pytest.approx(1.0)
    assert ClassImbalance().calculate_score(predictions) < 0.01


def test_metrics_score_three_channel_images_of_other_sizes():
    images = torch.rand(20, 3, 64, 64) * 2 - 1
    coverage = ClassCoverage(batch_size=8)
    assert 1.0 <= coverage.score_images(images) <= 10.0
    assert coverage.last_histogram.shape == (10,)


# --- configuration, errors, checkpoints -------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ClassCoverage(sample_size=0), "sample_size must be an integer >= 1, got 0"),
        (lambda: ClassImbalance(batch_size=2.5), "batch_size must be an integer >= 1, got 2.5"),
        (lambda: FrechetClassifierDistance(sample_size=1), "sample_size must be .* >= 2, got 1"),
        (lambda: ClassCoverage(min_fraction=0), r"min_fraction must be in \(0, 1\], got 0"),
        (lambda: ClassImbalance(device="toaster"), "device must be .* got 'toaster'"),
        (
            lambda: FrechetClassifierDistance(real_images=torch.zeros(4, 1, 32, 32) + 255),
            r"real_images must be in \[-1, 1\]",
        ),
        (
            lambda: FrechetClassifierDistance(real_images=torch.zeros(4, 1, 32, 32), data_root="."),
            "not both",
        ),
    ],
)
def test_constructors_reject_bad_arguments_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_metric_ops_rejects_a_generator_without_sampler():
    with pytest.raises(TypeError, match="sampler"):
        ClassCoverage(sample_size=4).metric_ops(nn.Identity(), "cpu")


def test_metric_ops_rejects_a_generator_returning_the_wrong_count():
    class Short(UniformNoiseGenerator):
        def forward(self, images):
            return images[:-1]

    with pytest.raises(ValueError, match="tensor of 4 images"):
        ClassCoverage(sample_size=4).metric_ops(Short(), "cpu")


def test_metrics_round_trip_through_a_weights_only_checkpoint():
    real = torch.rand(6, 1, 32, 32) * 2 - 1
    metrics = [
        FrechetClassifierDistance(sample_size=6, batch_size=3, device="cpu", real_images=real),
        ClassCoverage(sample_size=8, min_fraction=0.2),
        ClassImbalance(sample_size=8),
    ]
    metrics[0].set_arg_map({"generator": "gen"})
    for metric in metrics:  # fill the caches: they must not reach the checkpoint
        metric.metric_ops(UniformNoiseGenerator(), torch.device("cpu"))
    buffer = io.BytesIO()
    torch.save({"metric_objects": {type(m).__name__: m for m in metrics}}, buffer)
    buffer.seek(0)
    with torch.serialization.safe_globals(list(CHECKPOINT_SAFE_CLASSES)):
        loaded = list(torch.load(buffer, weights_only=True)["metric_objects"].values())
    for before, after in zip(metrics, loaded, strict=True):
        assert type(after) is type(before)
        assert after.__getstate__().keys() == before.__getstate__().keys()
        assert after._classifier is None
        assert after.sample_size == before.sample_size and after.device == before.device
    assert torch.equal(loaded[0].real_images, real) and loaded[0]._real_statistics is None
    assert loaded[0].arg_map == {"generator": "gen"}
    assert loaded[1].min_fraction == 0.2 and loaded[1].last_histogram is None
    assert isinstance(loaded[1].metric_ops(UniformNoiseGenerator(), "cpu"), float)


class _CountingNoise(UniformNoiseGenerator):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))  # its version counter says "trained"
        self.calls = 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return images + self.weight.detach()


def test_a_runs_metrics_generate_their_images_once_per_evaluation(test_split):
    real = test_split[0][:500]
    make = [
        lambda **kw: FrechetClassifierDistance(real_images=real, **kw),
        ClassCoverage,
        ClassImbalance,
    ]
    alone, generator = [], _CountingNoise()
    for cls in make:
        torch.manual_seed(0)
        alone.append(cls(sample_size=600, batch_size=200).metric_ops(generator, "cpu"))
    assert generator.calls == 9  # 3 metrics x 3 chunks
    shared, counted = SharedSamples(), _CountingNoise()
    together = []
    for cls in make:
        torch.manual_seed(0)  # as TorchGAN leaves it: the same state for every metric
        together.append(
            cls(sample_size=600, batch_size=200, shared=shared).metric_ops(counted, "cpu")
        )
    assert counted.calls == 3 and together == alone
    with torch.no_grad():
        counted.weight.add_(0.0)  # a training step: new weights, new images
    torch.manual_seed(0)
    ClassCoverage(sample_size=600, batch_size=200, shared=shared).metric_ops(counted, "cpu")
    assert counted.calls == 6

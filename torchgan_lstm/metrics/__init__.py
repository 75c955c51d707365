"""Evaluation metrics for generated Fashion-MNIST images, judged by a small shipped classifier.

- :class:`FrechetClassifierDistance`: FID with the Fashion-MNIST classifier's features.
- :class:`ClassCoverage`: how many of the 10 classes the samples cover.
- :class:`ClassImbalance`: KL divergence of the predicted-class histogram from uniform.

All three are TorchGAN ``EvaluationMetric`` objects for the Trainer's ``metrics_list``, and score
a tensor of images when called. They pickle only their configuration, so checkpoints holding
them load with ``torch.load(weights_only=True)`` inside
``torch.serialization.safe_globals(list(CHECKPOINT_SAFE_CLASSES))``.
"""

from .base import ClassifierMetric, SharedSamples
from .classifier import (
    FashionClassifier,
    fashion_mnist_tensor,
    load_classifier,
    to_classifier_input,
)
from .coverage import ClassCoverage, ClassImbalance
from .frechet import (
    FrechetClassifierDistance,
    feature_statistics,
    frechet_distance,
)

__all__ = [
    "CHECKPOINT_SAFE_CLASSES",
    "ClassCoverage",
    "ClassImbalance",
    "ClassifierMetric",
    "FashionClassifier",
    "FrechetClassifierDistance",
    "SharedSamples",
    "fashion_mnist_tensor",
    "feature_statistics",
    "frechet_distance",
    "load_classifier",
    "to_classifier_input",
]

# Classes a checkpoint may hold that torch.load(weights_only=True) must be allowed to rebuild.
CHECKPOINT_SAFE_CLASSES = (FrechetClassifierDistance, ClassCoverage, ClassImbalance)

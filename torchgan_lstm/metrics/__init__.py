"""Evaluation metrics: generated Fashion-MNIST images judged by a small shipped classifier, and
generated time series judged as the time-series GAN papers do.

- :class:`FrechetClassifierDistance`: FID with the Fashion-MNIST classifier's features.
- :class:`ClassCoverage`: how many of the 10 classes the samples cover.
- :class:`ClassImbalance`: KL divergence of the predicted-class histogram from uniform.
- :class:`DiscriminativeScore`, :class:`PredictiveScore` (TimeGAN), :class:`CorrelationalScore`
  (Diffusion-TS), :class:`SequenceFrechetDistance`: see :mod:`.sequence`; the same scores as
  plain functions in :mod:`.sequence_scores`.
- :class:`CategoryDistance`, :class:`LengthDistance`, :class:`MissingRateDistance`,
  :class:`GapLengthDistance`, :class:`StaticDistance`, :class:`AttributeSeriesDistance`,
  :class:`AutocorrelationDistance`: packed tables of many entities (see :mod:`.table`); the
  same scores as plain functions in :mod:`.table_scores`.
- :class:`ContextFID` (Diffusion-TS): Fréchet distance in a TS2Vec embedding fitted on the
  real sequences (:mod:`.context_fid`, :mod:`.ts2vec`); TimeGAN's PCA / t-SNE figure in
  :mod:`.projections`.

All are TorchGAN ``EvaluationMetric`` objects for the Trainer's ``metrics_list``, and score
a tensor of samples when called. They pickle only their configuration, so checkpoints holding
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
from .context_fid import ContextFID, context_fid
from .coverage import ClassCoverage, ClassImbalance
from .frechet import (
    FrechetClassifierDistance,
    feature_statistics,
    frechet_distance,
)
from .sequence import (
    CorrelationalScore,
    DiscriminativeScore,
    PredictiveScore,
    SequenceFrechetDistance,
    SequenceMetric,
)
from .sequence_scores import (
    ScoreSpread,
    correlational_score,
    discriminative_score,
    predictive_score,
    score_spread,
    sequence_frechet_distance,
)
from .table import (
    AttributeSeriesDistance,
    AutocorrelationDistance,
    CategoryDistance,
    GapLengthDistance,
    LengthDistance,
    MissingRateDistance,
    StaticDistance,
    TableMetric,
)
from .table_scores import (
    attribute_series_distance,
    autocorrelation_distance,
    category_distance,
    gap_length_distance,
    length_distance,
    missing_rate_distance,
    static_distance,
    table_report,
)

__all__ = [
    "CHECKPOINT_SAFE_CLASSES",
    "AttributeSeriesDistance",
    "AutocorrelationDistance",
    "CategoryDistance",
    "ClassCoverage",
    "ClassImbalance",
    "ClassifierMetric",
    "ContextFID",
    "CorrelationalScore",
    "DiscriminativeScore",
    "FashionClassifier",
    "FrechetClassifierDistance",
    "GapLengthDistance",
    "LengthDistance",
    "MissingRateDistance",
    "PredictiveScore",
    "ScoreSpread",
    "SequenceFrechetDistance",
    "SequenceMetric",
    "SharedSamples",
    "StaticDistance",
    "TableMetric",
    "attribute_series_distance",
    "autocorrelation_distance",
    "category_distance",
    "context_fid",
    "correlational_score",
    "discriminative_score",
    "fashion_mnist_tensor",
    "feature_statistics",
    "frechet_distance",
    "gap_length_distance",
    "length_distance",
    "load_classifier",
    "missing_rate_distance",
    "predictive_score",
    "score_spread",
    "sequence_frechet_distance",
    "static_distance",
    "table_report",
    "to_classifier_input",
]

# Classes a checkpoint may hold that torch.load(weights_only=True) must be allowed to rebuild.
CHECKPOINT_SAFE_CLASSES = (
    FrechetClassifierDistance,
    ClassCoverage,
    ClassImbalance,
    DiscriminativeScore,
    PredictiveScore,
    CorrelationalScore,
    SequenceFrechetDistance,
    CategoryDistance,
    LengthDistance,
    MissingRateDistance,
    GapLengthDistance,
    StaticDistance,
    AttributeSeriesDistance,
    AutocorrelationDistance,
    ContextFID,
)

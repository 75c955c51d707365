"""Context-FID (Diffusion-TS, Yuan and Qiao, ICLR 2024; from Jeha et al., PSA-GAN, ICLR 2022):
the Fréchet distance between real and generated sequences in the embedding of a TS2Vec encoder
fitted on the real ones.

Diffusion-TS's ``Context_FID`` fits a fresh TS2Vec (:mod:`.ts2vec`, with TS2Vec's default
budget) on the real set for every score, embeds each whole real and generated series (max-pooled
over its steps: instance-level) and reports the Fréchet distance of the two sets of vectors.
Each score so depends on the encoder's seed; :class:`ContextFID` repeats it over ``runs`` seeds
and keeps the spread, as the papers report it. 0 is best.
"""

from __future__ import annotations

import torch

from .._validation import check_int
from .frechet import feature_statistics, frechet_distance
from .sequence import SequenceMetric
from .sequence_scores import SequenceArray, _pair
from .ts2vec import TS2VecEncoder, encode_series, fit_ts2vec

__all__ = ["ContextFID", "context_fid"]


def context_fid(
    real: SequenceArray,
    fake: SequenceArray,
    iterations: int | None = None,
    seed: int = 0,
    encoder: TS2VecEncoder | None = None,
) -> float:
    """Diffusion-TS's context-FID of ``fake`` against ``real``.

    Args:
        real: ``(N, seq_len, features)``, ``N >= 2``, scaled as the generator's output.
        fake: ``(M, seq_len, features)``, ``M >= 2``.
        iterations: the encoder's training steps; ``None``: TS2Vec's default (200 for data of
            at most 100,000 values, else 600).
        seed: seeds the encoder's fit; the caller's random state is left unchanged.
        encoder: an encoder already fitted on ``real`` (then ``iterations`` and ``seed`` are
            not used): scores several generated sets in one embedding.

    Returns:
        The distance, ``>= 0``.

    Raises:
        ValueError: the sets are not 3-D with at least 2 sequences and the same
            ``(seq_len, features)``, or hold NaN.
    """
    real, fake = _pair(real, fake)
    if encoder is None:
        encoder = fit_ts2vec(real, iterations, seed=seed)
    real_vectors, fake_vectors = encode_series(encoder, real), encode_series(encoder, fake)
    return frechet_distance(*feature_statistics(real_vectors), *feature_statistics(fake_vectors))


class ContextFID(SequenceMetric):
    """:func:`context_fid` as a TorchGAN metric (see :class:`~.sequence.SequenceMetric`): each
    run fits its own encoder on ``real`` with its seed.

    Args:
        real: as for :class:`~.sequence.SequenceMetric`.
        runs: as for :class:`~.sequence.SequenceMetric`.
        seed: as for :class:`~.sequence.SequenceMetric`.
        chunk_size: as for :class:`~.sequence.SequenceMetric`.
        iterations: the encoder's training steps (``None``: TS2Vec's default).
    """

    _config_names = (*SequenceMetric._config_names, "iterations")

    def __init__(
        self,
        real: SequenceArray,
        runs: int = 1,
        seed: int = 0,
        chunk_size: int = 1000,
        iterations: int | None = None,
    ) -> None:
        super().__init__(real, runs, seed, chunk_size)
        self.iterations = None if iterations is None else check_int("iterations", iterations)

    def score(self, real: torch.Tensor, fake: torch.Tensor, seed: int) -> float:
        """:func:`context_fid` with this metric's settings."""
        return context_fid(real, fake, self.iterations, seed=seed)

"""The ``DataLoader`` every run uses: batches as TorchGAN's ``Trainer`` unpacks them."""

from __future__ import annotations

import operator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .._validation import InputError

__all__ = ["make_dataloader"]


def make_dataloader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = True,
    seed: int | None = None,
    num_workers: int = 0,
    drop_last: bool = True,
    sampler: Sampler | None = None,
) -> DataLoader:
    """Wrap a map-style dataset in a ``DataLoader`` of ``[images, labels]`` batches.

    The batches are lists, which TorchGAN's ``Trainer`` unpacks as ``data[0]`` (images
    ``(batch_size, C, H, W)``) and ``data[1]`` (labels ``(batch_size,)``).

    Args:
        dataset: a sized dataset, e.g. from :func:`build_dataset`.
        batch_size: samples per batch; between 1 and the samples per epoch (``len(dataset)``, or
            ``len(sampler)`` when a sampler is given).
        shuffle: draw the samples in a new random order each epoch. Must be ``False`` when a
            ``sampler`` is given (the sampler sets the order).
        seed: seeds the shuffling (and worker seeds), making the order reproducible; ``None``
            draws from PyTorch's global generator.
        num_workers: subprocesses that load batches; 0 loads in the main process.
        drop_last: drop the last, incomplete batch, so every batch has ``batch_size`` samples.
        sampler: e.g. a ``DistributedSampler``; ``None`` uses sequential or random order.

    Returns:
        The ``DataLoader``.

    Raises:
        ValueError: the dataset is empty, ``batch_size`` is out of range, ``num_workers`` is
            negative, or ``shuffle`` is ``True`` alongside a ``sampler``.
        TypeError: ``batch_size`` is not an int.
    """
    if isinstance(batch_size, bool):
        raise TypeError(f"batch_size must be an int, got {batch_size!r}")
    try:
        batch_size = operator.index(batch_size)
    except TypeError:
        raise TypeError(f"batch_size must be an int, got {batch_size!r}") from None
    size = len(dataset)
    if size == 0:
        raise InputError("dataset must hold at least one sample, got an empty dataset")
    per_epoch = len(sampler) if sampler is not None else size
    if not 1 <= batch_size <= per_epoch:
        raise InputError(
            f"batch_size must be between 1 and the {per_epoch} samples per epoch "
            f"(dataset of {size}), got {batch_size}"
        )
    if num_workers < 0:
        raise InputError(f"num_workers must be >= 0, got {num_workers}")
    if sampler is not None and shuffle:
        raise InputError("shuffle must be False when a sampler is given (it sets the order)")
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        sampler=sampler,
        num_workers=num_workers,
        drop_last=drop_last,
        generator=generator,
    )

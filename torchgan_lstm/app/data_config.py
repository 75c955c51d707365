"""The data part of a run configuration: which dataset, and the settings that shape the models
(image size and channels, or sequence length and stride)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .._validation import InputError, check_choice, check_int
from ..data import DATASETS, SEQUENCE_DATASETS, build_sequence_dataset

__all__ = [
    "DataConfig",
    "check_data",
    "is_sequence_dataset",
    "natural_channels",
    "sequence_features",
]

_NATURAL_CHANNELS = {"fashion-mnist": 1, "mnist": 1, "cifar10": 3, "folder": 3}


def natural_channels(dataset: str, channels: int | None) -> int:
    """``channels``, or the dataset's own when ``None`` (1 for (Fashion-)MNIST, 3 otherwise)."""
    return _NATURAL_CHANNELS.get(dataset, 3) if channels is None else channels


@dataclass
class DataConfig:
    """The training data; the dataset decides whether the run makes images or sequences.

    Args:
        dataset: images: fashion-mnist, mnist, cifar10, folder; sequences: sines, stocks,
            etth, mujoco (Diffusion-TS's benchmarks), csv:PATH (numeric columns of a CSV
            file), fashion-mnist-rows.
        root: folder holding the data (default: search $TORCHGAN_LSTM_DATA, Debian's
            dataset-fashion-mnist, the download cache; stocks: the shipped copy; etth: the
            folder of ETTh1.csv, else $TORCHGAN_LSTM_DATA).
        download: let torchvision download an image dataset when it is found nowhere.
        image_size: images: side in pixels (also the models' out_size/in_size).
        channels: images: 1 or 3 (also the models' out_channels/in_channels); null: the
            dataset's own.
        seq_len: sequences: steps per training window (also the generator's seq_len).
        stride: sequences: steps between the starts of consecutive windows (stocks, csv).
    """

    dataset: str = "fashion-mnist"
    root: str | None = None
    download: bool = True
    image_size: int = 32
    channels: int | None = None
    seq_len: int = 24
    stride: int = 1

    @property
    def sequences(self) -> bool:
        """Whether the dataset holds sequences (else images)."""
        return is_sequence_dataset(self.dataset)


def is_sequence_dataset(name: str) -> bool:
    """Whether ``name`` names a sequence dataset (``sines``, ``stocks``, ``csv:PATH``...)."""
    return isinstance(name, str) and (name in SEQUENCE_DATASETS or name.startswith("csv:"))


@functools.lru_cache(maxsize=8)
def _sequence_features(dataset: str, seq_len: int, stride: int, root: str | None) -> int:
    return build_sequence_dataset(dataset, seq_len, stride, root).features


def sequence_features(data: DataConfig) -> int:
    """Features per step of a sequence dataset (read from the data, once per process)."""
    return _sequence_features(data.dataset, data.seq_len, data.stride, data.root)


def check_data(data: DataConfig) -> None:
    """Check the data part on its own (the dataset name, and that no setting of the other kind
    of data was changed).

    Raises:
        InputError: the message names the field and its value.
    """
    if not data.sequences:
        check_choice("data.dataset", data.dataset, (*DATASETS, *SEQUENCE_DATASETS))
    defaults = DataConfig()
    if data.sequences:
        check_int("data.seq_len", data.seq_len, minimum=2)
        check_int("data.stride", data.stride)
        unread = [f for f in ("image_size", "channels") if getattr(data, f) != getattr(defaults, f)]
    else:
        check_int("data.image_size", data.image_size, minimum=8)
        if data.channels is not None and data.channels not in (1, 3):
            raise InputError(f"data.channels must be 1, 3 or null, got {data.channels!r}")
        unread = [f for f in ("seq_len", "stride") if getattr(data, f) != getattr(defaults, f)]
    if unread:
        kind, other = ("sequences", "image") if data.sequences else ("images", "sequence")
        settings = ", ".join(f"data.{f}={getattr(data, f)!r}" for f in unread)
        raise InputError(
            f"{settings}: only {other} datasets read it, but data.dataset={data.dataset!r} "
            f"holds {kind}"
        )

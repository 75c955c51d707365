"""Training and evaluation data: IDX files on disk, image and sequence datasets, the loader."""

from .ett import etth
from .hopper import mujoco
from .idx import (
    DEBIAN_FASHION_MNIST,
    DOWNLOAD_CACHE,
    ENV_VAR,
    DataNotFoundError,
    find_fashion_mnist,
    find_idx_dataset,
    load_fashion_mnist,
    load_idx_dataset,
    read_idx,
)
from .images import DATASETS, ImageTensorDataset, build_dataset, to_model_range
from .loaders import make_dataloader
from .sequences import (
    SEQUENCE_DATASETS,
    MinMaxScaler,
    SequenceDataset,
    build_sequence_dataset,
    csv_sequences,
    fashion_mnist_rows,
    read_numeric_csv,
    sines,
    sliding_windows,
    stocks,
)

__all__ = [
    "DATASETS",
    "DEBIAN_FASHION_MNIST",
    "DOWNLOAD_CACHE",
    "ENV_VAR",
    "SEQUENCE_DATASETS",
    "DataNotFoundError",
    "ImageTensorDataset",
    "MinMaxScaler",
    "SequenceDataset",
    "build_dataset",
    "build_sequence_dataset",
    "csv_sequences",
    "etth",
    "fashion_mnist_rows",
    "find_fashion_mnist",
    "find_idx_dataset",
    "load_fashion_mnist",
    "load_idx_dataset",
    "make_dataloader",
    "mujoco",
    "read_idx",
    "read_numeric_csv",
    "sines",
    "sliding_windows",
    "stocks",
    "to_model_range",
]

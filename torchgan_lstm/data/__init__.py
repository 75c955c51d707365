"""Training and evaluation data: IDX files on disk, image datasets, the data loader."""

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

__all__ = [
    "DATASETS",
    "DEBIAN_FASHION_MNIST",
    "DOWNLOAD_CACHE",
    "ENV_VAR",
    "DataNotFoundError",
    "ImageTensorDataset",
    "build_dataset",
    "find_fashion_mnist",
    "find_idx_dataset",
    "load_fashion_mnist",
    "load_idx_dataset",
    "make_dataloader",
    "read_idx",
    "to_model_range",
]

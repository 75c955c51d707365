"""Training and evaluation data: IDX files on disk, image, sequence and table datasets, the
loader."""

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
from .named_sequences import build_sequence_dataset
from .sequences import (
    SEQUENCE_DATASETS,
    MinMaxScaler,
    SequenceDataset,
    csv_sequences,
    fashion_mnist_rows,
    read_numeric_csv,
    sines,
    sliding_windows,
    stocks,
)

# The table modules need pandas: imported on first use, so that image and sequence runs (and
# every command line) start without it.
_TABLES = {
    "TableCodec": "table_codec",
    "TableRoles": "table_roles",
    "TableDataset": "tables",
    "read_table": "tables",
    "table_dataset": "tables",
    "table_sines": "synthetic_tables",
    "write_table": "tables",
}


def __getattr__(name: str):
    if name in _TABLES:
        import importlib

        return getattr(importlib.import_module(f".{_TABLES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "TableCodec",
    "TableDataset",
    "TableRoles",
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
    "read_table",
    "sines",
    "sliding_windows",
    "stocks",
    "table_dataset",
    "table_sines",
    "to_model_range",
    "write_table",
]

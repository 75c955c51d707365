"""The data part of a run configuration: which dataset, and the settings that shape the models
(image size and channels, or sequence length and stride)."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass

from .._validation import InputError, check_choice, check_int
from ..data import DATASETS, SEQUENCE_DATASETS, build_sequence_dataset

__all__ = [
    "TABLE_FIELDS",
    "DataConfig",
    "check_data",
    "is_sequence_dataset",
    "natural_channels",
    "sequence_dataset",
    "sequence_features",
    "table_channels",
    "table_classes",
]

TABLE_FIELDS = ("id", "time", "series", "static", "categorical", "label", "min_length")

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
        stride: sequences: steps between the starts of consecutive windows (stocks, csv; tables:
            of an entity longer than seq_len).
        id: tables: the entity id column (null: a column named id, entity, entity_id,
            series_id or group; "": none, one series cut into windows).
        time: tables: the time column, dates or numbers (null: a column named date, time,
            timestamp or datetime; "": the row order).
        series: tables: the time-varying columns (null: every column without another role).
        static: tables: the per-entity attribute columns (null: those constant within every
            entity).
        categorical: tables: columns read as categories whatever their type (text and boolean
            columns always are).
        label: tables: a per-entity class column to condition on.
        min_length: tables: the fewest rows an entity may have.
    """

    dataset: str = "fashion-mnist"
    root: str | None = None
    download: bool = True
    image_size: int = 32
    channels: int | None = None
    seq_len: int = 24
    stride: int = 1
    id: str | None = None
    time: str | None = None
    series: list[str] | None = None
    static: list[str] | None = None
    categorical: list[str] | None = None
    label: str | None = None
    min_length: int = 2

    @property
    def sequences(self) -> bool:
        """Whether the dataset holds sequences (else images)."""
        return is_sequence_dataset(self.dataset)

    @property
    def table(self) -> bool:
        """Whether the dataset is a table (``table:FILE`` or ``table-sines``)."""
        return isinstance(self.dataset, str) and self.dataset.startswith("table")

    def roles(self):
        """The table columns' roles this data part gives (a
        :class:`~torchgan_lstm.data.table_roles.TableRoles`)."""
        from ..data.table_roles import TableRoles

        lists = {k: None if getattr(self, k) is None else list(getattr(self, k))
                 for k in ("series", "static", "categorical")}  # fmt: skip
        return TableRoles(id=self.id, time=self.time, label=self.label, **lists)


def is_sequence_dataset(name: str) -> bool:
    """Whether ``name`` names a sequence dataset (``sines``, ``stocks``, ``csv:PATH``...)."""
    return isinstance(name, str) and (
        name in SEQUENCE_DATASETS or name.startswith(("csv:", "table:")) or name == "table-sines"
    )


def sequence_dataset(data: DataConfig):
    """The sequence dataset a data part names (tables with their roles).

    Raises:
        InputError: as :func:`~torchgan_lstm.data.build_sequence_dataset`.
    """
    table = {"roles": data.roles(), "min_length": data.min_length} if data.table else {}
    return build_sequence_dataset(data.dataset, data.seq_len, data.stride, data.root, **table)


@functools.lru_cache(maxsize=8)
def _dataset_shape(key: str) -> tuple[int, str, int | None]:
    dataset = sequence_dataset(DataConfig(**json.loads(key)))
    channels = json.dumps(getattr(dataset, "channels", None))
    return dataset.features, channels, dataset.num_classes


def _key(data: DataConfig) -> str:
    return json.dumps(dataclasses.asdict(data), sort_keys=True)


def sequence_features(data: DataConfig) -> int:
    """Features per step of a sequence dataset (read from the data, once per process)."""
    return _dataset_shape(_key(data))[0]


def table_channels(data: DataConfig) -> list[dict]:
    """The packed channel groups of a table dataset (read from the data, once per process)."""
    return json.loads(_dataset_shape(_key(data))[1])


def table_classes(data: DataConfig) -> int | None:
    """The classes of a table's label column (``None`` without one), read once per process."""
    return _dataset_shape(_key(data))[2]


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
        _check_table_fields(data, defaults)
    else:
        check_int("data.image_size", data.image_size, minimum=8)
        if data.channels is not None and data.channels not in (1, 3):
            raise InputError(f"data.channels must be 1, 3 or null, got {data.channels!r}")
        fields = ("seq_len", "stride", *TABLE_FIELDS)
        unread = [f for f in fields if getattr(data, f) != getattr(defaults, f)]
    if unread:
        kind, other = ("sequences", "image") if data.sequences else ("images", "sequence")
        settings = ", ".join(f"data.{f}={getattr(data, f)!r}" for f in unread)
        raise InputError(
            f"{settings}: only {other} datasets read it, but data.dataset={data.dataset!r} "
            f"holds {kind}"
        )


def _check_table_fields(data: DataConfig, defaults: DataConfig) -> None:
    if data.table:
        if data.dataset == "table:":
            raise InputError(
                "data.dataset='table:' names no file; write table:FILE (CSV or Parquet)"
            )
        check_int("data.min_length", data.min_length)
        return
    unread = [f for f in TABLE_FIELDS if getattr(data, f) != getattr(defaults, f)]
    if unread:
        settings = ", ".join(f"data.{f}={getattr(data, f)!r}" for f in unread)
        raise InputError(
            f"{settings}: only tables (table:FILE, table-sines) read it, but "
            f"data.dataset={data.dataset!r}"
        )

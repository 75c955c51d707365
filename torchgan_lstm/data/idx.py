"""Fashion-MNIST and MNIST as IDX files: reading, finding on disk, downloading.

They are looked for, in this order: a folder the user names (then only there); the environment
variable ``TORCHGAN_LSTM_DATA``; the files of Debian's package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``, Fashion-MNIST only); torchvision's download, when the
machine is online (into ``~/.cache/torchgan_lstm``, which is searched too).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import socket
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision

from .._validation import InputError

__all__ = [
    "DEBIAN_FASHION_MNIST",
    "DOWNLOAD_CACHE",
    "ENV_VAR",
    "DataNotFoundError",
    "find_fashion_mnist",
    "find_idx_dataset",
    "load_fashion_mnist",
    "load_idx_dataset",
    "read_idx",
]

SPLITS = ("train", "test")

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
ENV_VAR = "TORCHGAN_LSTM_DATA"
DOWNLOAD_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "torchgan_lstm"
# Seconds a download may wait on one socket operation: long enough for a slow mirror, short
# enough that an offline machine (where connections can hang rather than fail) gives up fast.
DOWNLOAD_TIMEOUT_S = 20.0
SPLIT_PREFIX = {"train": "train", "test": "t10k"}

# IDX type codes (third byte of the magic number) -> numpy dtype, big-endian on disk.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class DataNotFoundError(InputError, FileNotFoundError):
    """Raised when a dataset cannot be found in any of the places it is looked for."""


@dataclass(frozen=True)
class _IdxSet:
    """One dataset stored as IDX files: how it is named, found and downloaded."""

    title: str  # for messages, e.g. "Fashion-MNIST"
    torchvision_class: str  # also its folder: <root>/<torchvision_class>/raw
    classes: tuple[str, ...]


IDX_SETS = {
    "fashion-mnist": _IdxSet(
        "Fashion-MNIST",
        "FashionMNIST",
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
    "mnist": _IdxSet("MNIST", "MNIST", tuple(str(digit) for digit in range(10))),
}


# --------------------------------------------------------------------------- IDX files


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzipped or not (told apart by content, not name).

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns:
        A writable array in native byte order with the file's dtype and shape, e.g.
        ``(60000, 28, 28)`` uint8 for images or ``(60000,)`` uint8 for labels.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the magic number is not an IDX one, the gzip stream is corrupt, or the file
            holds fewer or more bytes than its header promises (a truncated or corrupt file).
            The message names the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise
    except (OSError, EOFError, zlib.error) as err:  # gzip raises these on a broken stream
        raise InputError(f"{path}: cannot be read as an IDX file ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise InputError(
            f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'}; "
            f"expected 0000 followed by a type code in "
            f"{[f'{code:02x}' for code in _IDX_DTYPES]} and the number of dimensions)"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise InputError(f"{path}: IDX header is truncated or declares {ndim} dimensions")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise InputError(
            f"{path}: IDX header promises shape {shape} ({expected} bytes of data), "
            f"file holds {len(raw) - header} bytes: truncated or corrupt"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a copy: writable, native byte order


def _idx_set(name: str) -> _IdxSet:
    if name not in IDX_SETS:
        raise InputError(f"name must be one of {sorted(IDX_SETS)} for IDX files, got {name!r}")
    return IDX_SETS[name]


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise InputError(f"split must be one of {list(SPLITS)}, got {split!r}")


def _idx_files(name: str, folder: Path, split: str) -> tuple[Path, Path] | None:
    """The images and labels files of one split in ``folder``, or ``None``.

    Both files must sit in the same directory. The subfolders named after the dataset come first,
    because MNIST and Fashion-MNIST share file names: a flat folder is taken to be whichever
    dataset was asked for.
    """
    prefix = SPLIT_PREFIX[split]
    directories = [folder / IDX_SETS[name].torchvision_class / "raw", folder / name, folder]
    for directory in directories:
        pair = []
        for kind, dims in (("images", 3), ("labels", 1)):
            stem = f"{prefix}-{kind}-idx{dims}-ubyte"
            hit = next(
                (p for p in (directory / stem, directory / f"{stem}.gz") if p.is_file()), None
            )
            if hit is not None:
                pair.append(hit)
        if len(pair) == 2:
            return pair[0], pair[1]
    return None


def _search_places(name: str, root: str | os.PathLike | None) -> list[tuple[str, Path]]:
    if root is not None:
        return [("the path given", Path(root))]
    places = []
    if os.environ.get(ENV_VAR):
        places.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    if name == "fashion-mnist":
        places.append(("Debian's dataset-fashion-mnist", DEBIAN_FASHION_MNIST))
    places.append(("torchvision's download cache", DOWNLOAD_CACHE))
    return places


def _not_found_message(
    name: str, split: str, places: list[tuple[str, Path]], download_error: Exception | None
) -> str:
    title = IDX_SETS[name].title
    tried = "; ".join(f"{label}: {folder}" for label, folder in places)
    ways = [
        "pass the folder holding the *-idx?-ubyte[.gz] files as root= (--data-root on the "
        "command line)",
        f"set the environment variable {ENV_VAR} to that folder",
    ]
    if name == "fashion-mnist":
        ways.append(
            "install Debian's package: apt-get install dataset-fashion-mnist "
            f"(files in {DEBIAN_FASHION_MNIST})"
        )
    ways.append(
        "on a machine with internet access, pass download=True (--download) to let torchvision "
        f"fetch it (into root, or {DOWNLOAD_CACHE} when no root is given)"
    )
    numbered = "; ".join(f"({i}) {way}" for i, way in enumerate(ways, start=1))
    # torchvision's download errors span several lines (one per mirror); keep ours on one.
    reason = " ".join(str(download_error).split())
    failure = "" if download_error is None else f" The download failed: {reason}"
    return (
        f"{title} ({split} split) not found (looked in {tried}).{failure} "
        f"Provide it one of {len(ways)} ways: {numbered}."
    )


def find_idx_dataset(
    name: str, root: str | os.PathLike | None = None, split: str = "train"
) -> tuple[Path, Path]:
    """Locate the IDX files of one split of ``"fashion-mnist"`` or ``"mnist"`` on disk.

    Each place is searched as ``<place>/<TorchvisionName>/raw`` (torchvision's layout, e.g.
    ``FashionMNIST/raw``), ``<place>/<name>`` (e.g. ``fashion-mnist/``), then ``<place>`` itself.

    Args:
        name: ``"fashion-mnist"`` or ``"mnist"``.
        root: a folder the user names; when given, only it is searched.
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).

    Returns:
        ``(images_file, labels_file)``.

    Raises:
        ValueError: ``name`` or ``split`` is not one of the allowed values.
        DataNotFoundError: no place holds the files; the message lists every way to provide them.
    """
    _idx_set(name)
    check_split(split)
    places = _search_places(name, root)
    for _, folder in places:
        files = _idx_files(name, folder, split)
        if files is not None:
            return files
    raise DataNotFoundError(_not_found_message(name, split, places, download_error=None))


def find_fashion_mnist(
    root: str | os.PathLike | None = None, split: str = "train"
) -> tuple[Path, Path]:
    """Locate the Fashion-MNIST IDX files of one split on disk.

    Args:
        root: a folder the user names; when given, only it is searched.
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).

    Returns:
        ``(images_file, labels_file)``.

    Raises:
        ValueError: ``split`` is not ``"train"`` or ``"test"``.
        DataNotFoundError: no folder holds the files; the message lists every way to provide them.
    """
    return find_idx_dataset("fashion-mnist", root, split)


@contextlib.contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    # torchvision's urlopen calls take no timeout; the process-wide default is the only handle.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _download_idx(name: str, root: str | os.PathLike | None, split: str) -> tuple[Path, Path]:
    """Let torchvision fetch the dataset into ``root`` (or the cache) and return its files."""
    places = _search_places(name, root)
    target = Path(root) if root is not None else DOWNLOAD_CACHE
    dataset_class = getattr(torchvision.datasets, IDX_SETS[name].torchvision_class)
    try:
        with socket_timeout(DOWNLOAD_TIMEOUT_S):
            dataset_class(str(target), train=split == "train", download=True)
    except (RuntimeError, OSError) as err:  # URLError and timeouts are OSErrors
        raise DataNotFoundError(_not_found_message(name, split, places, err)) from err
    files = _idx_files(name, target, split)
    if files is None:
        raise DataNotFoundError(
            f"torchvision reported {IDX_SETS[name].title} downloaded into {target}, "
            f"but the {split} IDX files are not there"
        )
    return files


def load_idx_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    split: str = "train",
    download: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of ``"fashion-mnist"`` or ``"mnist"`` from its IDX files.

    Args:
        name: ``"fashion-mnist"`` or ``"mnist"``.
        root: a folder holding the IDX files; ``None`` searches the default places.
        split: ``"train"`` or ``"test"``.
        download: when the files are found nowhere, let torchvision download them (into
            ``root``, or ``DOWNLOAD_CACHE`` when ``root`` is ``None``).

    Returns:
        ``(images, labels)``: uint8 images of shape ``(N, H, W)`` and int64 labels ``(N,)``.

    Raises:
        ValueError: ``name`` or ``split`` is not allowed, a file is corrupt, the images are not
            uint8, or images and labels disagree in count.
        DataNotFoundError: the files are not found (and, with ``download``, the download failed;
            the download's error is chained).
    """
    try:
        images_file, labels_file = find_idx_dataset(name, root, split)
    except DataNotFoundError:
        if not download:
            raise
        images_file, labels_file = _download_idx(name, root, split)
    images, labels = read_idx(images_file), read_idx(labels_file)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise InputError(
            f"{images_file} holds images of shape {images.shape} but {labels_file} holds "
            f"labels of shape {labels.shape}: expected (N, H, W) and (N,) with the same N"
        )
    if images.dtype != np.uint8:
        raise InputError(f"{images_file} holds {images.dtype} pixels, expected uint8 (0..255)")
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def load_fashion_mnist(
    root: str | os.PathLike | None = None, split: str = "train", download: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of Fashion-MNIST from disk.

    Args:
        root: a folder holding the IDX files; ``None`` searches the default places.
        split: ``"train"`` or ``"test"``.
        download: when the files are found nowhere, let torchvision download them.

    Returns:
        ``(images, labels)``: uint8 images of shape ``(N, 28, 28)`` and int64 labels ``(N,)``.

    Raises:
        DataNotFoundError: the files are not found.
        ValueError: a file is corrupt, or images and labels disagree in count.
    """
    return load_idx_dataset("fashion-mnist", root, split, download)

"""Datasets for training and evaluation: (Fashion-)MNIST found on disk, plus torchvision's sets.

Every dataset yields ``(image, label)``: a float image of shape ``(channels, image_size,
image_size)`` in ``[-1, 1]`` (the range of a ``tanh`` generator) and an ``int`` label.

Fashion-MNIST and MNIST are looked for, in this order: a folder the user names (then only
there); the environment variable ``TORCHGAN_LSTM_DATA``; the files of Debian's package
``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``, Fashion-MNIST only);
torchvision's download, when the machine is online (into ``~/.cache/torchgan_lstm``, which is
searched too).
"""

from __future__ import annotations

import contextlib
import gzip
import operator
import os
import socket
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset
from torchvision.transforms import v2

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
]

DATASETS = ("fashion-mnist", "mnist", "cifar10", "folder")
SPLITS = ("train", "test")
CHANNELS = (None, 1, 3)
MIN_IMAGE_SIZE = 8

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


class DataNotFoundError(FileNotFoundError):
    """Raised when a dataset cannot be found in any of the places it is looked for."""


@dataclass(frozen=True)
class _IdxSet:
    """One dataset stored as IDX files: how it is named, found and downloaded."""

    title: str  # for messages, e.g. "Fashion-MNIST"
    torchvision_class: str  # also its folder: <root>/<torchvision_class>/raw
    classes: tuple[str, ...]


_IDX_SETS = {
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
        raise ValueError(f"{path}: cannot be read as an IDX file ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'}; "
            f"expected 0000 followed by a type code in "
            f"{[f'{code:02x}' for code in _IDX_DTYPES]} and the number of dimensions)"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{path}: IDX header is truncated or declares {ndim} dimensions")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header promises shape {shape} ({expected} bytes of data), "
            f"file holds {len(raw) - header} bytes: truncated or corrupt"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a copy: writable, native byte order


def _idx_set(name: str) -> _IdxSet:
    if name not in _IDX_SETS:
        raise ValueError(f"name must be one of {sorted(_IDX_SETS)} for IDX files, got {name!r}")
    return _IDX_SETS[name]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")


def _idx_files(name: str, folder: Path, split: str) -> tuple[Path, Path] | None:
    """The images and labels files of one split in ``folder``, or ``None``.

    Both files must sit in the same directory. The subfolders named after the dataset come first,
    because MNIST and Fashion-MNIST share file names: a flat folder is taken to be whichever
    dataset was asked for.
    """
    prefix = SPLIT_PREFIX[split]
    directories = [folder / _IDX_SETS[name].torchvision_class / "raw", folder / name, folder]
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
    title = _IDX_SETS[name].title
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
    _check_split(split)
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
def _socket_timeout(seconds: float) -> Iterator[None]:
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
    dataset_class = getattr(torchvision.datasets, _IDX_SETS[name].torchvision_class)
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            dataset_class(str(target), train=split == "train", download=True)
    except (RuntimeError, OSError) as err:  # URLError and timeouts are OSErrors
        raise DataNotFoundError(_not_found_message(name, split, places, err)) from err
    files = _idx_files(name, target, split)
    if files is None:
        raise DataNotFoundError(
            f"torchvision reported {_IDX_SETS[name].title} downloaded into {target}, "
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
        raise ValueError(
            f"{images_file} holds images of shape {images.shape} but {labels_file} holds "
            f"labels of shape {labels.shape}: expected (N, H, W) and (N,) with the same N"
        )
    if images.dtype != np.uint8:
        raise ValueError(f"{images_file} holds {images.dtype} pixels, expected uint8 (0..255)")
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


# --------------------------------------------------------------------------- datasets


class ImageTensorDataset(TensorDataset):
    """A whole split preprocessed once into memory: ``(image, int label)`` pairs.

    Args:
        images: float tensor ``(N, C, H, W)`` in ``[-1, 1]``.
        labels: int64 tensor ``(N,)``.
        classes: the name of each label value.

    Raises:
        ValueError: the tensors' shapes do not fit together.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: Sequence[str]):
        if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"images must be (N, C, H, W) and labels (N,) with the same N, got "
                f"{tuple(images.shape)} and {tuple(labels.shape)}"
            )
        super().__init__(images, labels)
        self.classes = list(classes)

    @property
    def images(self) -> torch.Tensor:
        """Float tensor ``(N, C, H, W)`` in ``[-1, 1]``."""
        return self.tensors[0]

    @property
    def labels(self) -> torch.Tensor:
        """Int64 tensor ``(N,)``."""
        return self.tensors[1]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.tensors[0][index], int(self.tensors[1][index])


def _idx_to_model_range(images: torch.Tensor, image_size: int, channels: int) -> torch.Tensor:
    """uint8 ``(N, H, W)`` -> float ``(N, channels, image_size, image_size)`` in ``[-1, 1]``."""
    # Resample on the 0..255 scale, where black is 0: a sum of zeros stays exactly 0, whereas
    # -1 times weights summing to 1 - ulp would leave the background at -0.99999994.
    x = images.unsqueeze(1).to(torch.float32)
    native = tuple(x.shape[-2:])
    if native == (28, 28) and image_size == 32:
        # The usual 32-px input: pad with background instead of resampling, so strokes stay exact.
        x = F.pad(x, (2, 2, 2, 2), value=0.0)
    elif native != (image_size, image_size):
        x = F.interpolate(
            x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
        )
        x.clamp_(0.0, 255.0)  # the weights are convex, but their float sum may stray by an ulp
    x.div_(127.5).sub_(1.0)
    # A view, not a copy: three grey channels would triple the memory for no new information.
    return x.expand(-1, channels, -1, -1) if channels != 1 else x


class _ConvertMode:
    """PIL image -> the mode (``"L"`` or ``"RGB"``) of the channel count asked for."""

    def __init__(self, channels: int):
        self.mode = "L" if channels == 1 else "RGB"

    def __call__(self, image: Image.Image) -> Image.Image:
        return image.convert(self.mode)


def _pil_transform(channels: int, image_size: int, resize: bool) -> v2.Compose:
    steps: list = [_ConvertMode(channels)]
    if resize:
        # Shorter side to image_size, then the central square: keeps the aspect ratio.
        steps += [v2.Resize(image_size, antialias=True), v2.CenterCrop(image_size)]
    steps += [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize([0.5] * channels, [0.5] * channels),
    ]
    return v2.Compose(steps)


def _check_build_args(name: str, image_size: int, channels: int | None, split: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"name must be one of {list(DATASETS)}, got {name!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise TypeError(f"image_size must be an int, got {image_size!r}")
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be >= {MIN_IMAGE_SIZE}, got {image_size}")
    if channels not in CHANNELS or isinstance(channels, bool):
        raise ValueError(f"channels must be one of {list(CHANNELS)}, got {channels!r}")
    _check_split(split)
    if name == "folder" and split != "train":
        raise ValueError(
            f"split must be 'train' for name='folder' (an image folder has no splits; point root "
            f"at the folder of the split you want), got {split!r}"
        )


def _build_cifar10(
    root: str | os.PathLike | None, image_size: int, channels: int, split: str, download: bool
) -> Dataset:
    env = os.environ.get(ENV_VAR)
    if root is not None:
        folder = Path(root)
    elif env and (Path(env) / "cifar-10-batches-py").is_dir():
        folder = Path(env)
    else:
        folder = DOWNLOAD_CACHE
    transform = _pil_transform(channels, image_size, resize=image_size != 32)
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            return torchvision.datasets.CIFAR10(
                str(folder), train=split == "train", transform=transform, download=download
            )
    except (RuntimeError, OSError) as err:  # torchvision's "not found", URLError, timeouts
        raise DataNotFoundError(
            f"CIFAR-10 ({split} split) not found or corrupt in {folder} ({err}). Provide it one "
            f"of three ways: (1) pass the folder holding cifar-10-batches-py/ as root=; "
            f"(2) set {ENV_VAR} to that folder; (3) on a machine with internet access, pass "
            f"download=True to let torchvision fetch it (into root, or {DOWNLOAD_CACHE})."
        ) from err


def _build_folder(root: str | os.PathLike | None, image_size: int, channels: int) -> Dataset:
    if root is None:
        raise ValueError("root must name a folder of images for name='folder', got None")
    if not Path(root).is_dir():
        raise DataNotFoundError(f"root must be an existing folder for name='folder', got {root}")
    transform = _pil_transform(channels, image_size, resize=True)
    extensions = ", ".join(torchvision.datasets.folder.IMG_EXTENSIONS)
    try:
        return torchvision.datasets.ImageFolder(str(root), transform=transform)
    except FileNotFoundError as err:  # no class subfolder, or one without images
        raise DataNotFoundError(
            f"root={root} holds no usable images for name='folder': expected one subfolder per "
            f"class, each holding image files ({extensions}) ({err})"
        ) from err


def build_dataset(
    name: str = "fashion-mnist",
    root: str | os.PathLike | None = None,
    image_size: int = 32,
    channels: int | None = None,
    split: str = "train",
    download: bool = True,
) -> Dataset:
    """Build a dataset of ``(image, label)`` pairs ready for a GAN.

    Fashion-MNIST and MNIST are read from their IDX files and preprocessed once into memory (an
    :class:`ImageTensorDataset`): 28x28 images are padded to 32x32 with black when
    ``image_size == 32``, otherwise resized with antialiased bilinear interpolation. CIFAR-10
    and image folders are torchvision datasets that convert each image when it is read (image
    folders: shorter side resized to ``image_size``, then center-cropped).

    Args:
        name: one of ``DATASETS``: ``"fashion-mnist"``, ``"mnist"``, ``"cifar10"``, ``"folder"``.
        root: where the data is. For ``"fashion-mnist"``/``"mnist"``: a folder holding the IDX
            files (``None`` searches ``$TORCHGAN_LSTM_DATA``, Debian's package, the download
            cache). For ``"cifar10"``: the folder holding ``cifar-10-batches-py/`` (``None``:
            ``$TORCHGAN_LSTM_DATA`` if it holds one, else the download cache). For
            ``"folder"``: required, an ``ImageFolder`` root (one subfolder per class).
        image_size: side of the square images, in pixels; at least 8.
        channels: 1 (grey) or 3 (RGB); ``None`` keeps the dataset's own (1 for (Fashion-)MNIST,
            3 for CIFAR-10 and folders). Grey images asked for 3 channels repeat their channel;
            colour images asked for 1 are converted to grey.
        split: ``"train"`` or ``"test"`` (``"folder"`` accepts only ``"train"``).
        download: let torchvision download (Fashion-)MNIST or CIFAR-10 when it is found nowhere.
            Not used by ``"folder"``.

    Returns:
        A map-style dataset whose items are ``(image, label)``: a float tensor
        ``(channels, image_size, image_size)`` in ``[-1, 1]`` and an ``int``.

    Raises:
        ValueError: ``name``, ``image_size``, ``channels`` or ``split`` is not allowed, ``root``
            is missing for ``"folder"``, or an IDX file is corrupt or inconsistent.
        TypeError: ``image_size`` is not an int.
        DataNotFoundError: the data is not found (the message says how to provide it), or the
            image folder is missing or holds no images.
    """
    _check_build_args(name, image_size, channels, split)
    if name in _IDX_SETS:
        images, labels = load_idx_dataset(name, root, split, download)
        pixels = _idx_to_model_range(images, image_size, channels or 1)
        return ImageTensorDataset(pixels, labels, _IDX_SETS[name].classes)
    if name == "cifar10":
        return _build_cifar10(root, image_size, channels or 3, split, download)
    return _build_folder(root, image_size, channels or 3)


# --------------------------------------------------------------------------- loaders


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
        raise ValueError("dataset must hold at least one sample, got an empty dataset")
    per_epoch = len(sampler) if sampler is not None else size
    if not 1 <= batch_size <= per_epoch:
        raise ValueError(
            f"batch_size must be between 1 and the {per_epoch} samples per epoch "
            f"(dataset of {size}), got {batch_size}"
        )
    if num_workers < 0:
        raise ValueError(f"num_workers must be >= 0, got {num_workers}")
    if sampler is not None and shuffle:
        raise ValueError("shuffle must be False when a sampler is given (it sets the order)")
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

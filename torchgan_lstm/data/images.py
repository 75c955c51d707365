"""Image datasets for training and evaluation, in the one convention the models use.

Every dataset yields ``(image, label)``: a float image of shape ``(channels, image_size,
image_size)`` in ``[-1, 1]`` (the range of a ``tanh`` generator, background ``-1``) and an
``int`` label. Fashion-MNIST and MNIST come from their IDX files (:mod:`.idx`); CIFAR-10 and
image folders through torchvision.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch.utils.data import Dataset, TensorDataset
from torchvision.transforms import v2

from .._validation import InputError
from . import idx
from .idx import DataNotFoundError, load_idx_dataset

__all__ = ["DATASETS", "ImageTensorDataset", "build_dataset", "to_model_range"]

DATASETS = ("fashion-mnist", "mnist", "cifar10", "folder")
CHANNELS = (None, 1, 3)
MIN_IMAGE_SIZE = 8


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
            raise InputError(
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


def to_model_range(images: torch.Tensor, image_size: int = 32, channels: int = 1) -> torch.Tensor:
    """The models' convention for grey uint8 images such as (Fashion-)MNIST.

    28x28 images asked for 32 px are padded with 2 px of black (strokes stay exact); other sizes
    are resized, bilinear with antialiasing. Values are scaled by ``x / 127.5 - 1``, so black is
    ``-1``.

    Args:
        images: uint8 ``(N, H, W)``, values 0..255.
        image_size: side of the square output, in pixels.
        channels: 1, or 3 (the grey channel repeated, as a view).

    Returns:
        float32 ``(N, channels, image_size, image_size)`` in ``[-1, 1]``.

    Raises:
        ValueError: ``images`` is not a uint8 tensor of shape ``(N, H, W)``.
    """
    if images.dtype != torch.uint8 or images.ndim != 3:
        raise InputError(
            f"images must be uint8 of shape (N, H, W), got {images.dtype} {tuple(images.shape)}"
        )
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
        raise InputError(f"name must be one of {list(DATASETS)}, got {name!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise TypeError(f"image_size must be an int, got {image_size!r}")
    if image_size < MIN_IMAGE_SIZE:
        raise InputError(f"image_size must be >= {MIN_IMAGE_SIZE}, got {image_size}")
    if channels not in CHANNELS or isinstance(channels, bool):
        raise InputError(f"channels must be one of {list(CHANNELS)}, got {channels!r}")
    idx.check_split(split)
    if name == "folder" and split != "train":
        raise InputError(
            f"split must be 'train' for name='folder' (an image folder has no splits; point root "
            f"at the folder of the split you want), got {split!r}"
        )


def _build_cifar10(
    root: str | os.PathLike | None, image_size: int, channels: int, split: str, download: bool
) -> Dataset:
    env = os.environ.get(idx.ENV_VAR)
    if root is not None:
        folder = Path(root)
    elif env and (Path(env) / "cifar-10-batches-py").is_dir():
        folder = Path(env)
    else:
        folder = idx.DOWNLOAD_CACHE
    transform = _pil_transform(channels, image_size, resize=image_size != 32)
    try:
        with idx.socket_timeout(idx.DOWNLOAD_TIMEOUT_S):
            return torchvision.datasets.CIFAR10(
                str(folder), train=split == "train", transform=transform, download=download
            )
    except (RuntimeError, OSError) as err:  # torchvision's "not found", URLError, timeouts
        raise DataNotFoundError(
            f"CIFAR-10 ({split} split) not found or corrupt in {folder} ({err}). Provide it one "
            f"of three ways: (1) pass the folder holding cifar-10-batches-py/ as root=; "
            f"(2) set {idx.ENV_VAR} to that folder; (3) on a machine with internet access, pass "
            f"download=True to let torchvision fetch it (into root, or {idx.DOWNLOAD_CACHE})."
        ) from err


def _build_folder(root: str | os.PathLike | None, image_size: int, channels: int) -> Dataset:
    if root is None:
        raise InputError("root must name a folder of images for name='folder', got None")
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
    if name in idx.IDX_SETS:
        images, labels = load_idx_dataset(name, root, split, download)
        pixels = to_model_range(images, image_size, channels or 1)
        return ImageTensorDataset(pixels, labels, idx.IDX_SETS[name].classes)
    if name == "cifar10":
        return _build_cifar10(root, image_size, channels or 3, split, download)
    return _build_folder(root, image_size, channels or 3)

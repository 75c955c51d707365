"""A small Fashion-MNIST classifier: the feature extractor every image metric here is built on.

The classifier plays the role Inception-v3 plays for FID: its penultimate-layer features
give the Fréchet distance (``frechet.py``), its predicted classes give coverage and balance
(``coverage.py``). It reads images in the models' convention
(:func:`torchgan_lstm.data.to_model_range`): ``(B, 1, 32, 32)``, Fashion-MNIST padded
28 -> 32 with black and scaled to ``[-1, 1]``.

Its weights ship in ``fashion_classifier.pt`` beside this file; ``scripts/train_classifier.py``
makes them (and ``fashion_classifier.json``, which records the test accuracy).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from torchgan_lstm.data import load_fashion_mnist, to_model_range

from .._validation import InputError

__all__ = [
    "FEATURE_DIMS",
    "IMAGE_SIZE",
    "NUM_CLASSES",
    "WEIGHTS_PATH",
    "FashionClassifier",
    "check_images",
    "fashion_mnist_tensor",
    "load_classifier",
    "to_classifier_input",
]

IMAGE_SIZE = 32
NUM_CLASSES = 10
FEATURE_DIMS = 128
WEIGHTS_PATH = Path(__file__).with_name("fashion_classifier.pt")
TRAIN_SCRIPT = "scripts/train_classifier.py"
# Luminance weights of ITU-R BT.601, the usual RGB -> grey conversion.
_RGB_TO_GREY = (0.299, 0.587, 0.114)


def _conv_block(in_channels: int, out_channels: int, kernel: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel, stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class FashionClassifier(nn.Module):
    """A small CNN that classifies ``(B, 1, 32, 32)`` Fashion-MNIST images in ``[-1, 1]``.

    Layout: a 4x4 stride-2 convolution (32 -> 16 px), two 3x3 convolutions each followed by
    2x2 max pooling (16 -> 8 -> 4 px), then a 128-unit fully connected layer (the features) and
    the 10-way linear head. About 190k parameters; one forward pass over 1,000 images takes
    about 0.35 s on two CPU cores.

    Args:
        feature_dims: width of the penultimate layer, the ``D`` of :meth:`features`.
        dropout: dropout probability applied to the features during training only.
    """

    def __init__(self, feature_dims: int = FEATURE_DIMS, dropout: float = 0.3) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_block(1, 32, kernel=4, stride=2),
            *_conv_block(32, 64, kernel=3, stride=1),
            nn.MaxPool2d(2),
            *_conv_block(64, 64, kernel=3, stride=1),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, feature_dims),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dims, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features, taken after the ReLU.

        Args:
            x: images ``(B, 1, 32, 32)`` in ``[-1, 1]``.

        Returns:
            Features ``(B, D)``, non-negative, ``D = feature_dims`` (128 by default).
        """
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits.

        Args:
            x: images ``(B, 1, 32, 32)`` in ``[-1, 1]``.

        Returns:
            Unnormalised logits ``(B, 10)`` over the Fashion-MNIST classes.
        """
        return self.head(self.dropout(self.features(x)))


def load_classifier(
    device: str | torch.device = "cpu", weights_path: str | os.PathLike | None = None
) -> FashionClassifier:
    """Build the classifier and load its shipped weights.

    Args:
        device: where to put it.
        weights_path: a state_dict saved by ``scripts/train_classifier.py``; ``None`` takes the
            one shipped with the package (``torchgan_lstm/metrics/fashion_classifier.pt``).

    Returns:
        A :class:`FashionClassifier` in eval mode on ``device``.

    Raises:
        FileNotFoundError: the weights file does not exist; the message names the script that
            makes it.
    """
    path = WEIGHTS_PATH if weights_path is None else Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"classifier weights not found at {path}; make them with "
            f"`python {TRAIN_SCRIPT} --out {path}` (about 6 minutes on two CPU cores)"
        )
    model = FashionClassifier()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.to(device).eval()


def check_images(images: torch.Tensor) -> tuple[int, ...]:
    """The shape of a batch of images the classifier can read.

    Raises:
        TypeError: ``images`` is not a floating-point tensor.
        ValueError: the shape is not ``(B, C, H, W)`` with ``B >= 1``, ``C`` in {1, 3} and
            ``H, W >= 8``.
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        got = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
        raise TypeError(f"images must be a floating-point tensor in [-1, 1], got {got}")
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[0] < 1 or shape[1] not in (1, 3) or min(shape[2:]) < 8:
        raise InputError(
            f"images must have shape (B, C, H, W) with B >= 1, C in {{1, 3}} and H, W >= 8, "
            f"got {shape}"
        )
    return shape


def to_classifier_input(images: torch.Tensor) -> torch.Tensor:
    """Turn generator outputs into what the classifier reads.

    Args:
        images: ``(B, C, H, W)`` floating-point images in ``[-1, 1]``, ``C`` 1 (grey) or 3 (RGB,
            converted to grey by luminance), ``H, W >= 8`` (resized to 32x32, bilinear with
            antialiasing, when not already 32x32).

    Returns:
        ``(B, 1, 32, 32)`` images in ``[-1, 1]``, on the device and dtype of ``images``
        (the input itself when nothing needed changing).

    Raises:
        TypeError: ``images`` is not a floating-point tensor.
        ValueError: the shape is not ``(B, C, H, W)`` with ``B >= 1``, ``C`` in {1, 3} and
            ``H, W >= 8``; the message names the shape.
    """
    shape = check_images(images)
    if shape[1] == 3:
        weights = images.new_tensor(_RGB_TO_GREY).view(1, 3, 1, 1)
        images = (images * weights).sum(dim=1, keepdim=True)
    if shape[2:] != (IMAGE_SIZE, IMAGE_SIZE):
        images = F.interpolate(
            images, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True
        )
    return images


def fashion_mnist_tensor(
    split: str = "test", root: str | os.PathLike | None = None
) -> torch.Tensor:
    """Fashion-MNIST images in the models' convention (:func:`~torchgan_lstm.data.to_model_range`).

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        root: a folder holding the IDX files; ``None`` searches the default places
            (see :mod:`torchgan_lstm.data`).

    Returns:
        float32 images ``(N, 1, 32, 32)`` in ``[-1, 1]``, background ``-1``.

    Raises:
        ValueError: ``split`` is unknown, or a file is corrupt.
        DataNotFoundError: the files are not found.
    """
    images, _ = load_fashion_mnist(root, split)
    return to_model_range(images, IMAGE_SIZE, 1)

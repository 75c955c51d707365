"""A small Fashion-MNIST classifier, and the plumbing every metric built on it shares.

The classifier plays the role Inception-v3 plays for FID: its penultimate-layer features
give the Fréchet distance (``frechet.py``), its predicted classes give coverage and balance
(``coverage.py``). It reads images the way the project's models write them: ``(B, 1, 32, 32)``,
Fashion-MNIST padded 28 -> 32 with black and scaled to ``[-1, 1]`` (background ``-1``).

Its weights ship in ``fashion_classifier.pt`` beside this file; ``scripts/train_classifier.py``
makes them (and ``fashion_classifier.json``, which records the test accuracy).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchgan.metrics import EvaluationMetric

from torchgan_lstm.data import load_fashion_mnist

__all__ = [
    "FEATURE_DIMS",
    "IMAGE_SIZE",
    "NUM_CLASSES",
    "WEIGHTS_PATH",
    "ClassifierMetric",
    "FashionClassifier",
    "fashion_mnist_tensor",
    "load_classifier",
    "to_classifier_input",
    "to_model_convention",
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


def _check_images(images: torch.Tensor) -> tuple[int, ...]:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        got = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
        raise TypeError(f"images must be a floating-point tensor in [-1, 1], got {got}")
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[0] < 1 or shape[1] not in (1, 3) or min(shape[2:]) < 8:
        raise ValueError(
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
    shape = _check_images(images)
    if shape[1] == 3:
        weights = images.new_tensor(_RGB_TO_GREY).view(1, 3, 1, 1)
        images = (images * weights).sum(dim=1, keepdim=True)
    if shape[2:] != (IMAGE_SIZE, IMAGE_SIZE):
        images = F.interpolate(
            images, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True
        )
    return images


def to_model_convention(images: torch.Tensor) -> torch.Tensor:
    """Pad and scale raw Fashion-MNIST images into the project's model convention.

    Args:
        images: uint8 images ``(N, 28, 28)`` with values 0..255, as
            :func:`torchgan_lstm.data.load_fashion_mnist` returns them.

    Returns:
        float32 images ``(N, 1, 32, 32)``: padded with 2 px of black on every side and scaled
        to ``[-1, 1]`` by ``x / 127.5 - 1``, so the background is ``-1``.

    Raises:
        ValueError: ``images`` is not a uint8 tensor of shape ``(N, H, W)`` with ``H, W <= 32``.
    """
    if images.dtype != torch.uint8 or images.ndim != 3 or max(images.shape[1:]) > IMAGE_SIZE:
        raise ValueError(
            f"images must be uint8 of shape (N, H, W) with H, W <= {IMAGE_SIZE}, "
            f"got {images.dtype} {tuple(images.shape)}"
        )
    top, left = (IMAGE_SIZE - images.shape[1]) // 2, (IMAGE_SIZE - images.shape[2]) // 2
    bottom, right = IMAGE_SIZE - images.shape[1] - top, IMAGE_SIZE - images.shape[2] - left
    padded = F.pad(images.unsqueeze(1).float(), (left, right, top, bottom), value=0.0)
    return padded / 127.5 - 1.0


def fashion_mnist_tensor(
    split: str = "test", root: str | os.PathLike | None = None
) -> torch.Tensor:
    """Fashion-MNIST images in the project's model convention (see :func:`to_model_convention`).

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
    return to_model_convention(images)


def _positive_int(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _device_name(device: str | torch.device | None) -> str | None:
    # Stored as a string: checkpoints are read with weights_only=True, which rejects torch.device.
    if device is None:
        return None
    try:
        return str(torch.device(device))
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be None, a torch.device or a device string such as 'cpu' or 'cuda:0', "
            f"got {device!r}"
        ) from err


class ClassifierMetric(EvaluationMetric):
    """Base of the metrics that judge generated images by the Fashion-MNIST classifier.

    It owns what they share: the configuration, the lazily loaded classifier, sampling from a
    generator in chunks, and pickling (only the configuration goes into TorchGAN checkpoints,
    so they load with ``torch.load(weights_only=True)``; caches are rebuilt on first use).

    Subclasses name their extra configuration attributes in ``_config_names``, and implement
    :meth:`classifier_outputs` (what they need from the classifier per chunk of images) and
    :meth:`calculate_score` (outputs of all chunks concatenated -> float).

    As TorchGAN metrics, ``metric.metric_ops(generator, device)`` scores a generator (the
    Trainer fills both arguments from its attributes of those names) and ``metric(images)``
    scores a tensor of images; :meth:`score_images` is the same as the latter.

    Args:
        sample_size: number of images to generate per evaluation.
        batch_size: images generated and classified per chunk.
        device: where to run the classifier; ``None`` runs it where the generator runs
            (``metric_ops``) or where the images are (``score_images``).
    """

    _config_names: tuple[str, ...] = ("sample_size", "batch_size", "device", "arg_map")
    # Fewest images a score is defined for (a covariance needs two).
    _min_samples = 1

    def __init__(
        self,
        sample_size: int = 5000,
        batch_size: int = 500,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        self.sample_size = _positive_int("sample_size", sample_size, self._min_samples)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.device = _device_name(device)
        self._reset_caches()

    def _reset_caches(self) -> None:
        self._classifier: FashionClassifier | None = None

    def __getstate__(self) -> dict:
        """Only the configuration: no module, no cached statistics, no ``torch.device``."""
        return {name: getattr(self, name) for name in self._config_names}

    def __setstate__(self, state: dict) -> None:
        """Restore the configuration saved by :meth:`__getstate__`; caches start empty."""
        missing = [name for name in self._config_names if name not in state]
        if missing:
            raise ValueError(
                f"cannot restore {type(self).__name__}: saved state lacks {missing}, "
                f"has {sorted(state)}"
            )
        for name in self._config_names:
            setattr(self, name, state[name])
        self._reset_caches()

    def __repr__(self) -> str:
        def show(value: object) -> str:
            if isinstance(value, torch.Tensor):
                return f"<tensor {tuple(value.shape)}>"
            return repr(value)

        config = ", ".join(
            f"{name}={show(getattr(self, name))}"
            for name in self._config_names
            if name != "arg_map"
        )
        return f"{type(self).__name__}({config})"

    def classifier(self, device: str | torch.device) -> FashionClassifier:
        """The classifier, loaded on first use and kept.

        Args:
            device: where the caller needs it; the metric's own ``device``, when set, wins.

        Returns:
            The :class:`FashionClassifier` in eval mode, on that device.
        """
        target = torch.device(self.device if self.device is not None else device)
        if self._classifier is None:
            self._classifier = load_classifier(target)
        elif self._classifier_device() != target:
            self._classifier = self._classifier.to(target)
        return self._classifier

    def _classifier_device(self) -> torch.device:
        return next(self._classifier.parameters()).device

    def classifier_outputs(
        self, classifier: FashionClassifier, images: torch.Tensor
    ) -> torch.Tensor:
        """What the score needs from one chunk of images (features, logits, ...).

        Args:
            classifier: the classifier, in eval mode.
            images: ``(B, 1, 32, 32)`` images on the classifier's device.

        Returns:
            A tensor whose first dimension is ``B``.
        """
        raise NotImplementedError

    def calculate_score(self, outputs: torch.Tensor) -> float:
        """The score, from the classifier outputs of all images.

        Args:
            outputs: the results of :meth:`classifier_outputs`, concatenated along dim 0.

        Returns:
            The score as a plain Python float.
        """
        raise NotImplementedError

    def _run_classifier(self, chunks: Iterable[torch.Tensor], device: torch.device) -> torch.Tensor:
        classifier = self.classifier(device)
        target = self._classifier_device()
        outputs = []
        with torch.no_grad():
            for chunk in chunks:
                images = to_classifier_input(chunk).to(target, torch.float32)
                outputs.append(self.classifier_outputs(classifier, images).cpu())
        return torch.cat(outputs)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Classifier outputs of a tensor of images, computed ``batch_size`` at a time.

        Args:
            x: images ``(N, C, H, W)`` in ``[-1, 1]``, as :func:`to_classifier_input` accepts.

        Returns:
            The outputs of :meth:`classifier_outputs` for all ``N`` images, on the CPU.

        Raises:
            TypeError, ValueError: as :func:`to_classifier_input`.
        """
        _check_images(x)
        return self._run_classifier(x.split(self.batch_size), x.device)

    def score_images(self, images: torch.Tensor) -> float:
        """Score a given tensor of images (the same as calling the metric on them).

        Args:
            images: ``(N, C, H, W)`` in ``[-1, 1]``, as :func:`to_classifier_input` accepts.

        Returns:
            The score as a plain Python float.

        Raises:
            TypeError, ValueError: the images are not of an accepted type or shape, or too few.
        """
        _positive_int("the number of images", _check_images(images)[0], self._min_samples)
        return self(images)

    def _generated_chunks(
        self, generator: nn.Module, device: torch.device
    ) -> Iterator[torch.Tensor]:
        remaining = self.sample_size
        while remaining > 0:
            n = min(self.batch_size, remaining)
            images = generator(*generator.sampler(n, device))
            if not isinstance(images, torch.Tensor) or images.ndim == 0 or images.shape[0] != n:
                got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
                raise ValueError(
                    f"generator must return a tensor of {n} images for sampler({n}, device), "
                    f"got {got}"
                )
            yield images.detach()
            remaining -= n

    def metric_ops(self, generator: nn.Module, device: str | torch.device) -> float:
        """Generate ``sample_size`` images and score them (TorchGAN calls this each epoch).

        The generator is used in whatever mode it is in (TorchGAN's Trainer puts it in eval
        mode before evaluating).

        Args:
            generator: a module with ``sampler(n, device) -> list of inputs``;
                ``generator(*inputs)`` must return ``(n, C, H, W)`` images in ``[-1, 1]``.
            device: the device the generator is on.

        Returns:
            The score as a plain Python float.

        Raises:
            TypeError: ``generator`` has no ``sampler`` method.
            ValueError: the generator's output is not ``n`` images of an accepted shape.
        """
        if not callable(getattr(generator, "sampler", None)):
            raise TypeError(
                f"generator must have a sampler(n, device) method returning its inputs, "
                f"got {type(generator).__name__} without one"
            )
        device = torch.device(device)
        # Draw the noise from a fork of the RNG, so that evaluating mid-run does not change the
        # noise the training steps after it draw (a resumed run must match an unbroken one).
        with (
            torch.random.fork_rng(devices=[device] if device.type == "cuda" else []),
            torch.no_grad(),
        ):
            outputs = self._run_classifier(self._generated_chunks(generator, device), device)
        return self.calculate_score(outputs)

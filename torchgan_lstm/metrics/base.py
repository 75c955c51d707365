"""The base of the metrics that judge generated images by the Fashion-MNIST classifier."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import nn
from torchgan.metrics import EvaluationMetric

from .._random import forked_rng
from .._validation import InputError
from .classifier import FashionClassifier, check_images, load_classifier, to_classifier_input

__all__ = ["ClassifierMetric", "ConfigPickled", "SharedSamples"]


def _positive_int(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _device_name(device: str | torch.device | None) -> str | None:
    # Stored as a string: checkpoints are read with weights_only=True, which rejects torch.device.
    if device is None:
        return None
    try:
        return str(torch.device(device))
    except (RuntimeError, TypeError) as err:
        raise InputError(
            f"device must be None, a torch.device or a device string such as 'cpu' or 'cuda:0', "
            f"got {device!r}"
        ) from err


class ConfigPickled:
    """Pickles only the attributes named in ``_config_names``: a metric inside a TorchGAN
    checkpoint then holds no module, cache or ``torch.device``, and loads with
    ``torch.load(weights_only=True)``. After loading, :meth:`_reset_caches` starts the caches
    empty."""

    _config_names: tuple[str, ...] = ()

    def _reset_caches(self) -> None:
        """Empty whatever is computed on first use (nothing here)."""

    def __getstate__(self) -> dict:
        """Only the configuration."""
        return {name: getattr(self, name) for name in self._config_names}

    def __setstate__(self, state: dict) -> None:
        """Restore the configuration saved by :meth:`__getstate__`; caches start empty.

        Raises:
            InputError: ``state`` lacks a configuration attribute.
        """
        missing = [name for name in self._config_names if name not in state]
        if missing:
            raise InputError(
                f"cannot restore {type(self).__name__}: saved state lacks {missing}, "
                f"has {sorted(state)}"
            )
        for name in self._config_names:
            setattr(self, name, state[name])
        self._reset_caches()


class SharedSamples:
    """One set of generated images per evaluation, shared by the metrics given this object.

    TorchGAN evaluates each metric on its own; the metrics of a run all draw their noise from
    the same (forked) random state, so they would generate the very same images, once each.
    Given one ``SharedSamples``, the first metric of an evaluation generates them and the others
    reuse them: the scores are unchanged, the generator runs once. The images are reused only
    while the generator, its weights (their in-place version counters), the random state, the
    device and the sample sizes are all the same.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._chunks: list[torch.Tensor] = []

    def chunks(self, metric: ClassifierMetric, generator: nn.Module, device: torch.device):
        """The generated image chunks for ``metric``'s evaluation of ``generator``."""
        key = (
            id(generator),
            tuple(t._version for t in (*generator.parameters(), *generator.buffers())),
            hash(torch.get_rng_state().numpy().tobytes()),
            _cuda_rng_hash(device),
            str(device),
            metric.sample_size,
            metric.batch_size,
        )
        if key != self._key:
            self._chunks = list(metric._generated_chunks(generator, device))
            self._key = key
        return self._chunks


def _cuda_rng_hash(device: torch.device) -> int | None:
    if device.type != "cuda":
        return None
    return hash(torch.cuda.get_rng_state(device).numpy().tobytes())


class ClassifierMetric(ConfigPickled, EvaluationMetric):
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
        shared: a :class:`SharedSamples` that the metrics of one run share, so that each
            evaluation generates its images once; ``None``: this metric generates its own.
    """

    _config_names: tuple[str, ...] = ("sample_size", "batch_size", "device", "arg_map")
    # Fewest images a score is defined for (a covariance needs two).
    _min_samples = 1

    def __init__(
        self,
        sample_size: int = 5000,
        batch_size: int = 500,
        device: str | torch.device | None = None,
        shared: SharedSamples | None = None,
    ) -> None:
        super().__init__()
        self.sample_size = _positive_int("sample_size", sample_size, self._min_samples)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.device = _device_name(device)
        self._reset_caches()
        self.shared = shared

    def _reset_caches(self) -> None:
        self._classifier: FashionClassifier | None = None
        self.shared: SharedSamples | None = None  # a run's own, never pickled

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
        check_images(x)
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
        _positive_int("the number of images", check_images(images)[0], self._min_samples)
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
                raise InputError(
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
        with forked_rng(device), torch.no_grad():
            # The classifier's first load draws random numbers (its initialisation): load it
            # before the noise, so every metric of a run draws its images from the same state.
            self.classifier(device)
            chunks = (
                self._generated_chunks(generator, device)
                if self.shared is None
                else self.shared.chunks(self, generator, device)
            )
            outputs = self._run_classifier(chunks, device)
        return self.calculate_score(outputs)

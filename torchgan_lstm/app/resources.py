"""Memory estimates of runs and sampling requests, made before any model or batch exists.

A model's weights are counted by building it on PyTorch's ``meta`` device, where tensors have
shapes and no storage, so even a model of exabytes is counted in milliseconds. Activations are
estimated from the sizes in its constructor arguments: every step an LSTM runs keeps its gates
and states, every pixel or step a convolution stack produces keeps ``step_channels`` values,
roughly. The estimates are rough on purpose: they tell a request that fits from one that is
orders of magnitude beyond this machine (a ``hidden_size`` or ``seq_len`` of 10**9), not the
last gigabyte.
"""

from __future__ import annotations

import inspect
from numbers import Integral

import torch

from .._memory import check_memory
from .._validation import InputError
from .model_spec import ModelSpec

__all__ = [
    "MAX_LAYERS",
    "activation_elements",
    "check_checkpoint_models",
    "check_rollout_memory",
    "check_run_memory",
    "check_sampling_memory",
    "parameter_bytes",
]

# Building a model runs a Python loop per layer (on any device): deeper stacks than this are
# refused before the loop, however small their layers.
MAX_LAYERS = 256
_FLOAT_BYTES = 4
_LSTM_VALUES_PER_UNIT = 6  # four gates, the cell and the hidden state of every step
_TRAINING_COPIES = 4  # weights, gradients and Adam's two moments
_UNCOUNTABLE = 2**80  # a model whose size overflows PyTorch's storage arithmetic


def _filled(spec: ModelSpec) -> dict:
    """``spec``'s arguments over its class's defaults (all given when the class is unknown)."""
    try:
        parameters = inspect.signature(spec.cls).parameters.values()
    except InputError:
        return dict(spec.init_args)
    defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    return {**defaults, **spec.init_args}


def _int_args(spec: ModelSpec, given_only: bool = False) -> dict[str, int]:
    args = spec.init_args if given_only else _filled(spec)
    return {
        k: int(v) for k, v in args.items() if isinstance(v, Integral) and not isinstance(v, bool)
    }


def _largest(role: str, spec: ModelSpec) -> str:
    """The largest integer argument of ``spec``, as ``role.init_args.name=value``."""
    sizes = _int_args(spec, given_only=True)
    if not sizes:
        return role
    name = max(sizes, key=sizes.get)
    return f"{role}.init_args.{name}={sizes[name]}"


def parameter_bytes(spec: ModelSpec, role: str = "model") -> int:
    """Bytes of the weights and buffers of the model ``spec`` builds, without allocating them.

    Args:
        spec: a resolved model specification.
        role: what the model is called in the configuration, for the message.

    Returns:
        The bytes; ``2**80`` when the sizes overflow PyTorch's own storage arithmetic.

    Raises:
        InputError: ``num_layers`` exceeds :data:`MAX_LAYERS`, or the class refuses its
            arguments.
    """
    layers = spec.init_args.get("num_layers")
    if isinstance(layers, Integral) and layers > MAX_LAYERS:
        raise InputError(f"{role}.init_args.num_layers must be <= {MAX_LAYERS}, got {layers}")
    try:
        with torch.device("meta"), torch.random.fork_rng(devices=[]):
            model = spec.build()
    except RuntimeError as err:
        if "overflow" not in str(err).lower():
            raise
        return _UNCOUNTABLE
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def activation_elements(spec: ModelSpec) -> int:
    """Roughly the values one sample keeps in the model's forward pass.

    Args:
        spec: a resolved model specification (sizes named as this package's and TorchGAN's
            models name them: ``seq_len``, ``out_size``/``in_size``, ``hidden_size``,
            ``num_layers``, ``step_channels``, ``encoding_dims``, ``features``, channels).

    Returns:
        Values per sample: LSTM states over its steps, convolution maps over the pixels or
        steps, the noise and the output.
    """
    args = _int_args(spec)
    filled = _filled(spec)
    side = filled.get("out_size", filled.get("in_size"))
    height, width = (side, side) if isinstance(side, Integral) else tuple(side or (1, 1))
    seq_len = args.get("seq_len")
    steps, area = (seq_len, seq_len) if seq_len else (height, height * width)
    layers = args.get("num_layers", 1)
    recurrent = steps * args.get("hidden_size", 0) * layers * _LSTM_VALUES_PER_UNIT
    # image stacks halve the map as they double the channels; sequence stacks keep the length
    growth = 2 ** min(layers, MAX_LAYERS) if seq_len else 2
    conv = area * args.get("step_channels", 0) * growth
    noise = args.get("encoding_dims", 0) * (steps if seq_len else 1)
    channels = args.get("features", args.get("out_channels", args.get("in_channels", 1)))
    return recurrent + conv + noise + area * channels


def check_checkpoint_models(config, where: str) -> None:
    """Refuse a checkpoint's stored configuration whose models' weights cannot fit in memory.

    Args:
        config: the resolved :class:`~torchgan_lstm.app.config.RunConfig` a checkpoint holds.
        where: the checkpoint, for the message.

    Raises:
        InputError: a model's weights alone exceed this machine's memory; the message names
            the checkpoint, the largest size argument and the estimate.
    """
    for role in ("generator", "discriminator"):
        spec = getattr(config, role)
        check_memory(
            f"{where}: {_largest(role, spec)}",
            parameter_bytes(spec, role),
            "for its weights",
        )


def check_run_memory(config) -> None:
    """Refuse a training run whose estimated memory exceeds this machine's, before building it.

    Counts the weights (with gradients and Adam's moments, and the generator's average), one
    batch's activations of both models, and the samples kept for the grid and the metrics.

    Args:
        config: a resolved :class:`~torchgan_lstm.app.config.RunConfig`.

    Raises:
        InputError: the message names the value responsible and the estimate.
    """
    weights = 0
    for role in ("generator", "discriminator"):
        spec = getattr(config, role)
        size = parameter_bytes(spec, role)
        check_memory(_largest(role, spec), size, "for its weights")
        copies = _TRAINING_COPIES + (1 if role == "generator" and config.ema_decay else 0)
        weights += size * copies
    critic = config.discriminator
    if config.data.sequences:  # a sequence critic's length is the data's
        critic = ModelSpec(critic.class_path, {**critic.init_args, "seq_len": config.data.seq_len})
    per_sample = activation_elements(config.generator) + activation_elements(critic)
    batch = config.batch_size * per_sample * _FLOAT_BYTES * 2  # values and their gradients
    kept = config.sample_size + config.metric_samples
    samples = kept * activation_elements(config.generator) * _FLOAT_BYTES
    sizes = {
        "batch_size": config.batch_size,
        "sample_size": config.sample_size,
        "metric_samples": config.metric_samples,
    }
    for role in ("generator", "discriminator"):
        given = _int_args(getattr(config, role), given_only=True)
        sizes |= {f"{role}.init_args.{k}": v for k, v in given.items()}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:3])
    check_memory(shown, weights + batch + samples, "to train")


def check_sampling_memory(spec: ModelSpec, n: int, what: str, seq_len: int | None = None) -> None:
    """Refuse drawing ``n`` samples at once from the generator ``spec`` builds when their
    estimated memory exceeds this machine's.

    Args:
        spec: the generator's resolved specification.
        n: samples drawn together.
        what: the option responsible (``"--n 1000000000"``), for the message.
        seq_len: a sequence generator's roll-out length, when not its training length.

    Raises:
        InputError: the message names ``what`` and the estimate.
    """
    if seq_len is not None:
        spec = ModelSpec(spec.class_path, {**spec.init_args, "seq_len": seq_len})
    # the forward pass's values, then the output kept as float64 and written out
    per_sample = activation_elements(spec) * _FLOAT_BYTES * 3
    check_memory(what, n * per_sample, f"for {n} samples")


def check_rollout_memory(generator: torch.nn.Module, n: int, seq_len: int | None) -> None:
    """Refuse rolling out ``n`` sequences of ``seq_len`` steps from a built sequence generator
    when their estimated memory exceeds this machine's (see :func:`check_sampling_memory`).

    Args:
        generator: a sequence generator with ``seq_len``, ``features``,
            ``step_encoding_dims``, ``global_noise_dims`` and an ``lstm``, as
            :class:`~torchgan_lstm.LSTMSequenceGenerator` has.
        n: sequences drawn together.
        seq_len: steps per sequence; ``None``: the generator's training length.

    Raises:
        InputError: the message names ``n`` and ``seq_len`` and the estimate.
    """
    length = generator.seq_len if seq_len is None else seq_len
    lstm = getattr(generator, "lstm", None)
    args = {
        "seq_len": length,
        "features": getattr(generator, "features", 1),
        "encoding_dims": getattr(generator, "step_encoding_dims", 0)
        + getattr(generator, "global_noise_dims", 0),
        "hidden_size": getattr(lstm, "hidden_size", 0),
        "num_layers": getattr(lstm, "num_layers", 1),
    }
    spec = ModelSpec(type(generator).__name__, args)
    check_sampling_memory(spec, n, f"n={n} with seq_len={length}")

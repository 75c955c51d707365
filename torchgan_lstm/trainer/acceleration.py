"""Speed switches for a model already built and placed: bf16 autocast, ``torch.compile``,
channels-last memory format.

Each leaves the module's parameters, state dict and public attributes as they were, so
TorchGAN's ``Trainer``, its losses (which read ``encoding_dims``, ``label_type``,
``sampler``) and its checkpoints see the same model.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

__all__ = ["accelerate", "autocast_forward"]


def autocast_forward(module: nn.Module, device_type: str) -> nn.Module:
    """Run ``module``'s forward under bf16 autocast, returning float32 outputs.

    Losses and gradient penalties then compute in float32 while the convolutions, linear
    layers and the LSTM run in bfloat16 (no loss scaling needed: bf16 has float32's range).
    """
    forward = module.forward

    @functools.wraps(forward)
    def wrapped(*args, **kwargs):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            out = forward(*args, **kwargs)
        return out.float() if torch.is_tensor(out) else out

    module.forward = wrapped
    return module


def accelerate(
    module: nn.Module,
    device: torch.device,
    amp: bool = False,
    compile: bool = False,
    channels_last: bool = False,
) -> nn.Module:
    """Apply the chosen switches to ``module`` in place and return it.

    Args:
        module: a model on ``device``.
        device: where it runs; autocast uses its type.
        amp: bf16 autocast around the forward pass (:func:`autocast_forward`).
        compile: ``module.compile()`` (TorchInductor); the first steps are slow while it
            compiles. Not usable with losses that need a double backward (gradient penalties).
        channels_last: convolution weights (and so activations) in NHWC layout, which
            Tensor Cores prefer.
    """
    if channels_last:
        module.to(memory_format=torch.channels_last)
    if amp:
        autocast_forward(module, device.type)
    if compile:
        module.compile()
    return module

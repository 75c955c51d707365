"""TorchGAN's ParallelTrainer (nn.DataParallel around every child module) with our models.

On CPU DataParallel passes calls straight through, so the CPU tests check the wrapping itself:
the models still build, train, checkpoint and give the same outputs. The ``cuda`` tests
(``pytest -k cuda``) run the real thing on every visible GPU."""

from __future__ import annotations

import contextlib
import copy
import io
import math
import warnings

import pytest
import torch
from torchgan.trainer import ParallelTrainer

from torchgan_lstm.losses import build_losses

from .conftest import model_config

DECODERS = ["conv", "rows", "canvas"]
CONDITIONAL_G = {"label_type": "generated", "num_classes": 4}
CONDITIONAL_D = {"label_type": "required", "num_classes": 4, "minibatch_features": 4}


def parallel(
    paths, devices, generator_args=None, discriminator_args=None, epochs=1, loss="minimax"
):
    torch.manual_seed(0)
    return ParallelTrainer(
        model_config(generator_args, discriminator_args),
        build_losses(loss),
        devices=devices,
        epochs=epochs,
        sample_size=8,
        **paths,
    )


def train_without_warnings(trainer, loader):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("error")  # e.g. cuDNN's "RNN module weights are not part of..."
        trainer(loader)


def unwrapped_copy(model: torch.nn.Module) -> torch.nn.Module:
    plain = copy.deepcopy(model)
    for name, child in list(plain._modules.items()):
        if isinstance(child, torch.nn.DataParallel):
            plain._modules[name] = child.module
    return plain


def same_outputs(trainer, device):
    g, d = trainer.generator.eval(), trainer.discriminator.eval()
    plain_g, plain_d = unwrapped_copy(g), unwrapped_copy(d)
    inputs = g.sampler(6, device)
    with torch.no_grad():
        images = g(*inputs)
        torch.testing.assert_close(images, plain_g(*inputs))
        labels = inputs[1:] if d.label_type == "required" else []
        torch.testing.assert_close(d(images, *labels), plain_d(images, *labels))
    return images


@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "conditional"])
@pytest.mark.parametrize("decoder", DECODERS)
def test_parallel_trainer_on_cpu_wraps_trains_and_keeps_outputs(
    decoder, conditional, trainer_paths, blob_loader
):
    g_args = {"decoder": decoder, **(CONDITIONAL_G if conditional else {})}
    d_args = CONDITIONAL_D if conditional else None
    trainer = parallel(trainer_paths, [torch.device("cpu")], g_args, d_args)
    children = list(trainer.generator.children()) + list(trainer.discriminator.children())
    assert all(isinstance(c, torch.nn.DataParallel) for c in children)
    assert isinstance(trainer.generator.lstm, torch.nn.LSTM)  # reached through the wrapper
    train_without_warnings(trainer, blob_loader)
    logs = trainer.logger.get_loss_viz().logs
    assert all(len(v) == 4 and all(math.isfinite(x) for x in v) for v in logs.values())
    same_outputs(trainer, "cpu")

    resumed = parallel(trainer_paths, [torch.device("cpu")], g_args, d_args, epochs=2)
    with contextlib.redirect_stdout(io.StringIO()):
        resumed.load_model(trainer_paths["checkpoints"] + "0.model")
    assert resumed.start_epoch == 1
    train_without_warnings(resumed, blob_loader)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "conditional"])
@pytest.mark.parametrize("decoder", DECODERS)
def test_cuda_parallel_trainer_on_every_gpu_flat_weights_no_warnings_same_outputs(
    decoder, conditional, trainer_paths, blob_loader
):
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    g_args = {"decoder": decoder, **(CONDITIONAL_G if conditional else {})}
    d_args = {"norm": "spectral", **(CONDITIONAL_D if conditional else {})}
    trainer = parallel(trainer_paths, devices, g_args, d_args, epochs=2, loss="wgan-gp")
    train_without_warnings(trainer, blob_loader)
    logs = trainer.logger.get_loss_viz().logs
    assert all(math.isfinite(x) for v in logs.values() for x in v)
    images = same_outputs(trainer, devices[0])
    assert images.device == devices[0] and torch.isfinite(images).all()
    lstm = trainer.generator.lstm
    # flatten_parameters made the weights one cuDNN block: each is a view into the first.
    base = lstm._flat_weights[0].untyped_storage().data_ptr()
    assert all(w.untyped_storage().data_ptr() == base for w in lstm._flat_weights)

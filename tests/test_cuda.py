"""On a CUDA machine: TorchGAN's Trainer drives our models with every speed switch and the EMA.

Skipped without CUDA (CI has none); run on a GPU with ``pytest -k cuda``.
"""

from __future__ import annotations

import pytest
import torch

from torchgan_lstm.losses import build_losses
from torchgan_lstm.trainer import RunTrainer

from .conftest import model_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CUDA = torch.device("cuda")


def _cuda_trainer(paths, decoder: str, loss: str = "minimax", **switches) -> RunTrainer:
    torch.manual_seed(0)
    trainer = RunTrainer(
        model_config({"decoder": decoder}, {"norm": "spectral" if loss == "wgan-gp" else "none"}),
        build_losses(loss),
        device=CUDA,
        epochs=2,
        sample_size=16,
        ema_decay=0.9,
        **switches,
        **paths,
    )
    return trainer


def _check_trained(trainer: RunTrainer) -> None:
    for model in (trainer.generator, trainer.discriminator, trainer.ema.module):
        params = list(model.parameters())
        assert all(p.is_cuda and torch.isfinite(p).all() for p in params)
    assert trainer.ema.updates > 0
    with torch.no_grad():
        images = trainer.ema.module(*trainer.generator.sampler(8, CUDA))
    assert images.is_cuda and images.abs().max() <= 1.0


@pytest.mark.parametrize("decoder", ["conv", "rows", "canvas"])
def test_cuda_trainer_with_amp_channels_last_and_ema(decoder, trainer_paths, blob_loader):
    trainer = _cuda_trainer(trainer_paths, decoder, amp=True, channels_last=True)
    trainer(blob_loader)
    _check_trained(trainer)


def test_cuda_wgan_gp_double_backward_under_amp(trainer_paths, blob_loader):
    trainer = _cuda_trainer(trainer_paths, "conv", "wgan-gp", amp=True)
    trainer(blob_loader)
    _check_trained(trainer)


def test_cuda_compiled_models_train(trainer_paths, blob_loader):
    trainer = _cuda_trainer(trainer_paths, "conv", amp=True, compile=True)
    trainer(blob_loader)
    _check_trained(trainer)


def test_cuda_metrics_score_a_generator_on_the_gpu():
    from torchgan_lstm.metrics import ClassCoverage, FrechetClassifierDistance
    from torchgan_lstm.models import LSTMGenerator

    g = LSTMGenerator(encoding_dims=16, out_size=32, step_channels=8, hidden_size=16).to(CUDA)
    real = torch.rand(64, 1, 32, 32) * 2 - 1
    fcd = FrechetClassifierDistance(sample_size=64, device="cuda", real_images=real)
    assert fcd.metric_ops(g.eval(), CUDA) > 0
    assert 1 <= ClassCoverage(sample_size=64, device="cuda").metric_ops(g, CUDA) <= 10

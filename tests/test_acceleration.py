"""Speed switches (bf16 autocast, torch.compile, channels-last) keep models TorchGAN-usable."""

from __future__ import annotations

import pytest
import torch
from torchgan.trainer import Trainer

from torchgan_lstm.losses import build_losses
from torchgan_lstm.models import ConvDiscriminator, LSTMGenerator
from torchgan_lstm.trainer.acceleration import accelerate

from .conftest import SMALL_DISCRIMINATOR, SMALL_GENERATOR, model_config

CPU = torch.device("cpu")


def test_amp_runs_layers_in_bf16_and_returns_float32():
    g = LSTMGenerator(**SMALL_GENERATOR)
    keys = list(g.state_dict())
    seen = []
    g.decoder.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    accelerate(g, CPU, amp=True)
    out = g(*g.sampler(4, CPU))
    assert seen == [torch.bfloat16] and out.dtype == torch.float32
    assert list(g.state_dict()) == keys and g.encoding_dims == SMALL_GENERATOR["encoding_dims"]
    assert out.abs().max() <= 1.0


def test_channels_last_puts_conv_weights_in_nhwc():
    d = accelerate(ConvDiscriminator(**SMALL_DISCRIMINATOR), CPU, channels_last=True)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs)
    assert d(torch.rand(2, 1, 16, 16)).shape == (2,)


def _train_one_epoch(paths, blob_loader, **switches):
    torch.manual_seed(0)
    trainer = Trainer(
        model_config({"decoder": "conv"}, {"dropout": 0.0}),
        build_losses("minimax"),
        device=CPU,
        epochs=1,
        sample_size=8,
        **paths,
    )
    for name in trainer.model_names:
        accelerate(getattr(trainer, name), CPU, **switches)
    torch.manual_seed(1)
    trainer(blob_loader)
    return trainer


@pytest.mark.parametrize("switches", [{"amp": True}, {"channels_last": True}])
def test_trainer_trains_with_switch_close_to_plain_float32(switches, trainer_paths, blob_loader):
    plain = _train_one_epoch(trainer_paths, blob_loader)
    fast = _train_one_epoch(trainer_paths, blob_loader, **switches)
    # The first step's losses come from identical weights and data; Adam's later steps would
    # amplify rounding differences of near-zero gradients.
    tol = 0.02 if switches.get("amp") else 1e-5  # bf16 keeps 8 mantissa bits
    torch.testing.assert_close(_first_losses(fast), _first_losses(plain), atol=tol, rtol=tol)
    moved = [
        not torch.equal(a, b)
        for a, b in zip(plain.generator.parameters(), fast.generator.parameters(), strict=True)
    ]
    assert any(moved) or switches.get("channels_last")
    assert all(torch.isfinite(p).all() for p in fast.generator.parameters())


def _first_losses(trainer) -> torch.Tensor:
    logs = trainer.logger.get_loss_viz().logs
    return torch.tensor([float(series[0]) for series in logs.values()], dtype=torch.float64)


def test_compiled_models_train_like_eager(trainer_paths, blob_loader):
    plain = _train_one_epoch(trainer_paths, blob_loader)
    compiled = _train_one_epoch(trainer_paths, blob_loader, compile=True)
    torch.testing.assert_close(_first_losses(compiled), _first_losses(plain), atol=1e-5, rtol=1e-5)
    assert all(torch.isfinite(p).all() for p in compiled.generator.parameters())
    for a, b in zip(
        plain.discriminator.state_dict().values(),
        compiled.discriminator.state_dict().values(),
        strict=True,
    ):
        torch.testing.assert_close(b, a, atol=2e-3, rtol=0)  # 4 Adam steps of lr 2e-4 apart

"""Generator EMA: the average's arithmetic, and TorchGAN's Trainer sampling/evaluating from it."""

from __future__ import annotations

import pytest
import torch
from torchgan.metrics import EvaluationMetric

from torchgan_lstm.checkpoint import allow_checkpoint_classes, safe_load
from torchgan_lstm.losses import build_losses
from torchgan_lstm.models import LSTMGenerator
from torchgan_lstm.trainer import RunTrainer
from torchgan_lstm.trainer.ema import GeneratorEMA

from .conftest import SMALL_GENERATOR, model_config


def _fill(module: torch.nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(value)


def test_average_follows_the_warmed_up_decay():
    live = LSTMGenerator(**SMALL_GENERATOR)
    _fill(live, 0.0)
    ema = GeneratorEMA(live, decay=0.9)
    expected = 0.0
    for step, value in enumerate([1.0, 2.0, 3.0, 4.0, 5.0], start=1):
        _fill(live, value)
        if step == 1:  # AveragedModel copies the first update
            expected = value
        else:
            beta = min(0.9, (1 + ema.updates) / (10 + ema.updates))
            expected = beta * expected + (1 - beta) * value
        ema.update(live)
    for p in ema.module.parameters():
        torch.testing.assert_close(p, torch.full_like(p, expected))
    assert ema.updates == 5 and not any(p.requires_grad for p in ema.parameters())


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_decay_outside_open_interval_is_refused(decay):
    with pytest.raises(ValueError, match=rf"ema_decay must be in \(0, 1\), got {decay}"):
        GeneratorEMA(LSTMGenerator(**SMALL_GENERATOR), decay)


class _SeenGenerator(EvaluationMetric):
    """Records which generator TorchGAN hands to the metrics."""

    def __init__(self):
        super().__init__()
        self.arg_map = {}
        self.seen = []

    def metric_ops(self, generator, device):
        self.seen.append(id(generator))  # ids: checkpoints pickle metrics
        return 0.0


allow_checkpoint_classes(_SeenGenerator)  # TorchGAN pickles the metric objects into checkpoints


def _trainer(paths, epochs=2):
    torch.manual_seed(0)
    metric = _SeenGenerator()
    trainer = RunTrainer(
        model_config(),
        build_losses("minimax"),
        metrics_list=[metric],
        device=torch.device("cpu"),
        epochs=epochs,
        sample_size=16,
        ema_decay=0.9,
        **paths,
    )
    return trainer, metric


def test_trainer_updates_average_each_generator_step_and_evaluates_it(trainer_paths, blob_loader):
    trainer, metric = _trainer(trainer_paths)
    live = trainer.generator
    trainer(blob_loader)
    assert trainer.ema.updates == 2 * len(blob_loader)
    assert trainer.generator is live  # restored after each epoch's evaluation
    assert metric.seen == [id(trainer.ema.module)] * 2
    differs = [
        not torch.equal(a, b)
        for a, b in zip(trainer.ema.module.parameters(), live.parameters(), strict=True)
    ]
    assert any(differs)


def test_checkpoint_holds_the_average_and_resume_restores_it(trainer_paths, blob_loader, tmp_path):
    trainer, _ = _trainer(trainer_paths)
    trainer(blob_loader)
    path = trainer_paths["checkpoints"] + "1.model"
    saved = safe_load(path)  # weights only: the average is plain tensors and ints
    assert saved["generator_ema"]["n_averaged"] == 2 * len(blob_loader)

    fresh, _ = _trainer({**trainer_paths, "log_dir": str(tmp_path / "tb2")}, epochs=3)
    fresh.load_model(path)
    assert fresh.ema.updates == trainer.ema.updates
    for a, b in zip(
        fresh.ema.module.state_dict().values(),
        trainer.ema.module.state_dict().values(),
        strict=True,
    ):
        torch.testing.assert_close(a, b)
    fresh(blob_loader)  # one more epoch continues the average
    assert fresh.ema.updates == 3 * len(blob_loader)

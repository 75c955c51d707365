"""The tqdm progress bar, registered through TorchGAN's Logger.register."""

from __future__ import annotations

import io

import torch
from torchgan.trainer import Trainer

from torchgan_lstm.losses import build_losses
from torchgan_lstm.trainer.progress import ProgressBar, attach_progress_bar

from .conftest import model_config


def make_trainer(trainer_paths, epochs=2):
    return Trainer(
        model_config(),
        build_losses("minimax"),
        device=torch.device("cpu"),
        epochs=epochs,
        **trainer_paths,
    )


def test_bar_counts_every_step_and_shows_running_losses(trainer_paths, blob_loader, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    trainer = make_trainer(trainer_paths)
    bar = attach_progress_bar(trainer, total=8, enabled=True)
    assert isinstance(bar, ProgressBar) and bar in trainer.logger.logger_mid_epoch
    trainer(blob_loader)  # 2 epochs x 4 steps; end-of-epoch calls must not advance it
    assert bar.bar.n == 8
    assert set(bar.losses) == {"G", "D"}
    mean_d = trainer.loss_information["discriminator_losses"] / 8
    assert 0 < bar.losses["D"] < 10 * mean_d
    bar.close()
    assert "8/8" in stream.getvalue() and "G=" in stream.getvalue()


def test_bar_is_off_when_stderr_is_not_a_terminal(trainer_paths, monkeypatch):
    trainer = make_trainer(trainer_paths)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    before = len(trainer.logger.logger_mid_epoch)
    assert attach_progress_bar(trainer, total=8) is None
    assert attach_progress_bar(trainer, total=8, enabled=False) is None
    assert len(trainer.logger.logger_mid_epoch) == before

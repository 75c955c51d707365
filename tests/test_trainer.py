"""The real TorchGAN Trainer drives our models with its losses, logging and checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torchgan.trainer import Trainer

from torchgan_lstm.losses import build_losses

from .conftest import model_config

# name -> (loss family, discriminator norm): the tested matrix.
LOSSES = {
    "minimax": ("minimax", "none"),
    "minimax-smoothed": ("minimax-smoothed", "none"),
    "wgan-gp": ("wgan-gp", "none"),
    "wgan-gp-spectral": ("wgan-gp", "spectral"),
    "least-squares": ("lsgan", "none"),
    "feature-matching": ("feature-matching", "none"),
    "hinge-spectral": ("hinge", "spectral"),
    "dragan": ("dragan", "none"),
    "historical-averaging": ("historical", "none"),
}


def build(paths, losses, decoder="conv", norm="none", epochs=2):
    torch.manual_seed(0)
    return Trainer(
        model_config({"decoder": decoder}, {"norm": norm}),
        losses,
        device=torch.device("cpu"),
        epochs=epochs,
        sample_size=16,
        **paths,
    )


def _flat(values):
    for v in values:
        yield from (v if isinstance(v, tuple) else (v,))


@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("decoder", ["conv", "rows", "canvas"])
def test_loss_matrix_trains_logs_samples_and_resumes(
    decoder, loss_name, trainer_paths, blob_loader, tmp_path
):
    family, norm = LOSSES[loss_name]
    trainer = build(trainer_paths, build_losses(family), decoder, norm)
    initial = {
        name: [p.detach().clone() for p in getattr(trainer, name).parameters()]
        for name in ("generator", "discriminator")
    }
    trainer(blob_loader)

    logs = trainer.logger.get_loss_viz().logs
    assert set(logs) == {type(loss).__name__ for loss in build_losses(family)}
    values = list(_flat(v for series in logs.values() for v in series))
    assert len(values) >= 2 * 4 * len(logs) - 4 and all(math.isfinite(v) for v in values)
    for name, before in initial.items():
        after = list(getattr(trainer, name).parameters())
        changed = [not torch.equal(a, b) for a, b in zip(before, after, strict=True)]
        assert sum(changed) >= len(changed) - 1, f"{name}: parameters did not train"
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == [
        "epoch1_generator.png",
        "epoch2_generator.png",
    ]

    resumed = build(trainer_paths, build_losses(family), decoder, norm, epochs=3)
    resumed.load_model(trainer_paths["checkpoints"] + "1.model")
    assert resumed.start_epoch == 2
    for a, b in zip(trainer.generator.parameters(), resumed.generator.parameters(), strict=True):
        assert torch.equal(a, b)
    resumed(blob_loader)
    assert (tmp_path / "images" / "epoch1_generator.png").exists()
    assert resumed.loss_information["generator_iters"] > trainer.loss_information["generator_iters"]


def test_tensorboard_event_files_hold_losses_gradients_and_samples(trainer_paths, blob_loader):
    trainer = build(trainer_paths, build_losses("minimax"))
    trainer(blob_loader)
    trainer.logger.close()  # waits for tensorboardX's writer thread; flush() may not
    events = EventAccumulator(trainer_paths["log_dir"], size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    for tag in (
        "Running_Generator_Loss",  # tensorboardX turns spaces into underscores
        "Running_Discriminator_Loss",
        "Losses/MinimaxGeneratorLoss",
        "Losses/MinimaxDiscriminatorLoss",
        "Gradients/generator",
    ):
        assert tag in tags["scalars"], tag
    # TorchGAN logs each of the 2 x 4 steps, and the last value again at the end of each epoch.
    assert len(events.Scalars("Losses/MinimaxGeneratorLoss")) == 2 * 4 + 2
    assert all(math.isfinite(e.value) for e in events.Scalars("Running_Generator_Loss"))
    images = events.Images("Generated_Samples/generator")
    assert len(images) == 2
    assert images[-1].width > 16 and images[-1].height > 16

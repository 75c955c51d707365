"""The loss zoo beyond the Trainer matrix: historical averaging's state in checkpoints, losses of
other discriminator families (supported with TorchGAN's autoencoder critic, refused clearly
with ours), and the families' names."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
import torch
import torch.nn.functional as F
from torch.optim import Adam
from torchgan.losses import (
    AuxiliaryClassifierDiscriminatorLoss,
    AuxiliaryClassifierGeneratorLoss,
    BoundaryEquilibriumDiscriminatorLoss,
    BoundaryEquilibriumGeneratorLoss,
    EnergyBasedDiscriminatorLoss,
    EnergyBasedGeneratorLoss,
    EnergyBasedPullingAwayTerm,
    MinimaxDiscriminatorLoss,
    MinimaxGeneratorLoss,
    MutualInformationPenalty,
)
from torchgan.models import AutoEncodingDiscriminator, DCGANGenerator, Discriminator
from torchgan.trainer import ParallelTrainer, Trainer
from torchgan.trainer.base_trainer import BaseTrainer

from torchgan_lstm import compat
from torchgan_lstm.losses import LOSS_FAMILIES, build_losses

from .conftest import blob_images, model_config


def quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def trainer(paths, losses, generator_args=None, discriminator_args=None, epochs=1, cls=Trainer):
    torch.manual_seed(0)
    device = (
        {"devices": [torch.device("cpu")]}
        if cls is ParallelTrainer
        else {"device": torch.device("cpu")}
    )
    models = model_config(generator_args, discriminator_args)
    return cls(models, losses, epochs=epochs, sample_size=8, **device, **paths)


def test_historical_averaging_state_is_saved_and_resumed(trainer_paths, blob_loader):
    first = trainer(trainer_paths, build_losses("historical"), epochs=2)
    quiet(first, blob_loader)
    averaged = first.losses["HistoricalAverageGeneratorLoss"]
    assert averaged.timesteps == 2 * 4  # one per step
    resumed = trainer(trainer_paths, build_losses("historical"), epochs=3)
    quiet(resumed.load_model, trainer_paths["checkpoints"] + "1.model")  # weights-only load
    for name in ("HistoricalAverageGeneratorLoss", "HistoricalAverageDiscriminatorLoss"):
        saved, loaded = first.losses[name], resumed.losses[name]
        assert loaded.timesteps == saved.timesteps
        for a, b in zip(saved.sum_parameters, loaded.sum_parameters, strict=True):
            assert torch.equal(a, b)
    quiet(resumed, blob_loader)
    assert resumed.losses["HistoricalAverageGeneratorLoss"].timesteps == 3 * 4
    assert all(math.isfinite(v) for v in resumed.logger.get_loss_viz().logs[name])


CONDITIONAL = {"label_type": "generated", "num_classes": 4}
# name -> (losses, generator args, discriminator args, words the error must contain)
REFUSED = {
    "energy-based": (
        [EnergyBasedGeneratorLoss(), EnergyBasedDiscriminatorLoss()],
        None,
        None,
        "EnergyBasedGeneratorLoss needs an autoencoder discriminator",
    ),
    "energy-based-pulling-away": (
        [EnergyBasedPullingAwayTerm(), MinimaxDiscriminatorLoss()],
        None,
        None,
        "EnergyBasedPullingAwayTerm needs an autoencoder discriminator",
    ),
    "boundary-equilibrium": (
        [BoundaryEquilibriumGeneratorLoss(), BoundaryEquilibriumDiscriminatorLoss()],
        None,
        None,
        "BoundaryEquilibriumGeneratorLoss needs an autoencoder discriminator",
    ),
    "mutual-information": (
        [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss(), MutualInformationPenalty()],
        None,
        None,
        "MutualInformationPenalty needs InfoGAN's latent split",
    ),
    "acgan-unconditional-generator": (
        [AuxiliaryClassifierGeneratorLoss(), AuxiliaryClassifierDiscriminatorLoss()],
        None,
        {"num_classes": 4},
        "needs a conditional generator",
    ),
    "acgan-no-classifier": (
        [AuxiliaryClassifierGeneratorLoss(), AuxiliaryClassifierDiscriminatorLoss()],
        CONDITIONAL,
        None,
        "needs a discriminator with an auxiliary classifier",
    ),
    "wgan-gp-batch-norm-critic": (
        build_losses("wgan-gp"),
        None,
        {"norm": "batch"},
        "WassersteinGradientPenalty penalises each image's gradient, but ConvDiscriminator has "
        "batch norm",
    ),
    "dragan-batch-norm-critic": (
        build_losses("dragan"),
        None,
        {"norm": "batch"},
        "DraganGradientPenalty penalises each image's gradient",
    ),
    "classes-disagree": (
        build_losses("minimax"),
        CONDITIONAL,
        {"label_type": "required", "num_classes": 3},
        "generator has num_classes=4 but the discriminator has num_classes=3",
    ),
}


@pytest.mark.parametrize("cls", [Trainer, ParallelTrainer])
@pytest.mark.parametrize("case", list(REFUSED))
def test_losses_of_other_families_fail_at_trainer_construction(case, cls, trainer_paths):
    losses, g_args, d_args, match = REFUSED[case]
    with pytest.raises(ValueError, match=match):
        trainer(trainer_paths, losses, g_args, d_args, cls=cls)


def test_original_trainer_accepts_an_energy_loss_on_a_logit_critic(monkeypatch, trainer_paths):
    # Without the fix the Trainer is built, and would minimise an unbounded logit as an energy.
    monkeypatch.setattr(
        BaseTrainer, "_store_loss_maps", compat.ORIGINALS["BaseTrainer._store_loss_maps"]
    )
    losses = [EnergyBasedGeneratorLoss(), EnergyBasedDiscriminatorLoss()]
    assert isinstance(trainer(trainer_paths, losses), Trainer)


@pytest.mark.parametrize(
    "losses",
    [
        [EnergyBasedGeneratorLoss(), EnergyBasedDiscriminatorLoss()],
        [BoundaryEquilibriumGeneratorLoss(), BoundaryEquilibriumDiscriminatorLoss()],
    ],
    ids=["energy-based", "boundary-equilibrium"],
)
@pytest.mark.parametrize("decoder", ["conv", "rows", "canvas"])
def test_autoencoder_losses_train_the_lstm_generator_with_torchgans_autoencoder(
    decoder, losses, trainer_paths, blob_loader
):
    models = model_config({"decoder": decoder})
    models["discriminator"] = {
        "name": AutoEncodingDiscriminator,
        "args": {"in_size": 16, "in_channels": 1, "encoding_dims": 16, "step_channels": 8},
        "optimizer": {"name": Adam, "args": {"lr": 1e-4}},
    }
    torch.manual_seed(0)
    t = Trainer(
        models, losses, device=torch.device("cpu"), epochs=1, sample_size=8, **trainer_paths
    )
    before = [p.detach().clone() for p in t.generator.parameters()]
    quiet(t, blob_loader)
    logs = t.logger.get_loss_viz().logs
    assert all(len(v) == 4 and all(math.isfinite(x) for x in v) for v in logs.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, t.generator.parameters(), strict=True))


def test_new_families_are_named():
    assert {"dragan", "historical", "minimax-smoothed"} <= set(LOSS_FAMILIES)
    with pytest.raises(ValueError, match="loss must be one of"):
        build_losses("ebgan")


def test_smoothed_minimax_aims_the_critic_at_0_9_for_real_data_and_0_for_generated():
    generator_loss, discriminator_loss = build_losses("minimax-smoothed")
    assert type(generator_loss) is MinimaxGeneratorLoss
    dx, dgz = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([-0.5, 0.4, 1.1])
    expected = F.binary_cross_entropy_with_logits(
        dx, torch.full_like(dx, 0.9)
    ) + F.binary_cross_entropy_with_logits(dgz, torch.zeros_like(dgz))
    assert torch.allclose(discriminator_loss(dx, dgz), expected)
    assert not torch.allclose(build_losses("minimax")[1](dx, dgz), expected)


class _OwnAutoencoder(Discriminator):
    """A user's autoencoder critic that does not subclass TorchGAN's AutoEncodingDiscriminator:
    its output is each image's reconstruction error, as the energy-based losses expect."""

    def __init__(self):
        super().__init__(1, "none")
        self.encode = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(256, 8))
        self.decode = torch.nn.Linear(8, 256)

    def forward(self, x, feature_matching=False):
        flat = x.flatten(1)
        code = self.encode(x)
        if feature_matching:
            return code
        return ((self.decode(code) - flat) ** 2).mean(dim=1)


def test_torchgan_models_of_a_user_train_with_energy_losses_after_import(trainer_paths):
    # torchgan_lstm is imported (this module does): its loss checks must not touch a Trainer
    # that holds none of its models.
    models = {
        "generator": {
            "name": DCGANGenerator,
            "args": {"encoding_dims": 16, "out_size": 16, "out_channels": 1, "step_channels": 8},
            "optimizer": {"name": Adam, "args": {"lr": 1e-4}},
        },
        "discriminator": {
            "name": _OwnAutoencoder,
            "args": {},
            "optimizer": {"name": Adam, "args": {"lr": 1e-4}},
        },
    }
    losses = [EnergyBasedGeneratorLoss(), EnergyBasedDiscriminatorLoss()]
    torch.manual_seed(0)
    t = Trainer(
        models, losses, device=torch.device("cpu"), epochs=1, sample_size=4, **trainer_paths
    )
    data = torch.utils.data.DataLoader(blob_images(16), batch_size=4)
    quiet(t, data)
    logs = t.logger.get_loss_viz().logs
    assert all(len(v) == 4 and all(math.isfinite(x) for x in v) for v in logs.values())

"""Each TorchGAN fix: it is needed (the original fails) and it works (the fix passes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchgan.logging.visualize import ImageVisualize
from torchgan.losses import (
    AuxiliaryClassifierDiscriminatorLoss,
    BoundaryEquilibriumDiscriminatorLoss,
    DiscriminatorLoss,
    MinimaxDiscriminatorLoss,
    MinimaxGeneratorLoss,
    WassersteinGradientPenalty,
)
from torchgan.models import DCGANDiscriminator, DCGANGenerator
from torchgan.trainer import Trainer
from torchgan.trainer.base_trainer import BaseTrainer

from torchgan_lstm import compat
from torchgan_lstm.checkpoint import CheckpointError
from torchgan_lstm.losses import build_losses

from .conftest import blob_images, model_config, sequence_model_config


def make_trainer(trainer_paths, epochs=1, **generator_args):
    return Trainer(
        model_config(generator_args),
        [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()],
        device=torch.device("cpu"),
        epochs=epochs,
        sample_size=8,
        **trainer_paths,
    )


@pytest.fixture
def original(monkeypatch):
    """Put one of TorchGAN's original methods back for the duration of a test."""

    def restore(owner, name):
        monkeypatch.setattr(owner, name, compat.ORIGINALS[f"{owner.__name__}.{name}"])

    return restore


def test_apply_is_idempotent_and_patches_only_torchgan_classes():
    before = {k: getattr(cls, k.split(".")[1]) for k, cls in _owners().items()}
    compat.apply()
    compat.apply()
    after = {k: getattr(cls, k.split(".")[1]) for k, cls in _owners().items()}
    assert before == after
    assert all(after[k] is not compat.ORIGINALS[k] for k in after)


def _owners():
    return {
        "ImageVisualize.__call__": ImageVisualize,
        "BaseTrainer.load_model": BaseTrainer,
        "BaseTrainer.save_model": BaseTrainer,
        "BaseTrainer._store_loss_maps": BaseTrainer,
        **{f"{cls.__name__}.train_ops": cls for cls in compat._GENERATOR_CALLING_LOSSES},
    }


def test_original_image_logging_crashes_on_current_torchvision(
    trainer_paths, blob_loader, original
):
    original(ImageVisualize, "__call__")
    trainer = make_trainer(trainer_paths)
    with pytest.raises(TypeError, match="range"):
        trainer(blob_loader)


def test_fixed_image_logging_writes_a_grid_png(trainer_paths, blob_loader, tmp_path):
    trainer = make_trainer(trainer_paths)
    trainer(blob_loader)
    grids = list((tmp_path / "images").glob("epoch1_generator.png"))
    assert len(grids) == 1 and grids[0].stat().st_size > 0


def test_original_load_model_refuses_every_torchgan_checkpoint(
    trainer_paths, blob_loader, original
):
    trainer = make_trainer(trainer_paths)
    trainer(blob_loader)
    original(BaseTrainer, "load_model")
    with pytest.raises(Exception, match="could not be loaded"):
        make_trainer(trainer_paths).load_model(trainer_paths["checkpoints"] + "0.model")


def test_fixed_load_model_restores_models_optimizers_and_epoch(
    trainer_paths, blob_loader, tmp_path
):
    trainer = make_trainer(trainer_paths)
    trainer(blob_loader)
    fresh = make_trainer(trainer_paths, epochs=2)
    fresh.load_model(trainer_paths["checkpoints"] + "0.model")
    assert fresh.start_epoch == 1
    for name in ("generator", "discriminator"):
        for a, b in zip(
            getattr(trainer, name).state_dict().values(),
            getattr(fresh, name).state_dict().values(),
            strict=True,
        ):
            assert torch.equal(a, b)
    assert fresh.optimizer_generator.state_dict()["state"].keys() == (
        trainer.optimizer_generator.state_dict()["state"].keys()
    )
    first_grid = (tmp_path / "images" / "epoch1_generator.png").read_bytes()
    fresh(blob_loader)  # trains the second epoch only
    # The logger continues its counts: epoch 2's grid is a new file, epoch 1's is untouched.
    assert (tmp_path / "images" / "epoch1_generator.png").read_bytes() == first_grid
    assert (tmp_path / "images" / "epoch2_generator.png").exists()
    assert (
        fresh.loss_information["generator_iters"] == 2 * trainer.loss_information["generator_iters"]
    )


def test_load_items_are_loaded_by_name(trainer_paths, blob_loader):
    trainer = make_trainer(trainer_paths)
    trainer.note = torch.tensor([1.5, 2.5])
    trainer(blob_loader, save_items="note")
    fresh = make_trainer(trainer_paths)
    fresh.load_model(trainer_paths["checkpoints"] + "0.model", load_items="note")
    assert torch.equal(fresh.note, torch.tensor([1.5, 2.5]))


class _WritesAFile:
    """A pickle payload that, when unpickled without an allow-list, creates a file."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_crafted_checkpoint_is_refused_and_its_code_never_runs(
    trainer_paths, blob_loader, tmp_path
):
    trainer = make_trainer(trainer_paths)
    trainer(blob_loader)
    path = trainer_paths["checkpoints"] + "0.model"
    checkpoint = torch.load(path, weights_only=False)  # our own file, to graft the payload on
    target = tmp_path / "pwned.txt"
    checkpoint["loss_information"] = _WritesAFile(target)
    bad = tmp_path / "bad.model"
    torch.save(checkpoint, bad)
    with pytest.raises(CheckpointError, match=r"refusing to load .*outside the allow-list"):
        make_trainer(trainer_paths).load_model(str(bad))
    assert not target.exists()
    # Control: without the allow-list the same file would have run the payload.
    torch.load(bad, weights_only=False)
    assert target.exists()


def test_checkpoint_of_another_configuration_names_the_mismatching_shapes(
    trainer_paths, blob_loader
):
    make_trainer(trainer_paths, hidden_size=16)(blob_loader)
    other = make_trainer(trainer_paths, hidden_size=24)
    weight_before = other.generator.lstm.weight_hh_l0.clone()
    with pytest.raises(
        CheckpointError, match=r"weight_hh_l0: checkpoint \(64, 16\) vs model \(96, 24\)"
    ):
        other.load_model(trainer_paths["checkpoints"] + "0.model")
    assert torch.equal(other.generator.lstm.weight_hh_l0, weight_before), "nothing half-loaded"


def test_unreadable_checkpoint_reports_the_real_cause(trainer_paths, tmp_path):
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="cannot read checkpoint") as info:
        make_trainer(trainer_paths).load_model(str(junk))
    assert info.value.__cause__ is not None
    with pytest.raises(CheckpointError, match="does not exist"):
        make_trainer(trainer_paths).load_model(str(tmp_path / "missing.model"))


def _crash_midway(obj, f, *args, **kwargs):
    """A torch.save that dies after writing part of the file."""
    if isinstance(f, str):
        f = open(f, "wb")  # noqa: SIM115 - left half-written on purpose
    f.write(b"PK\x03\x04 half a checkpoint")
    f.flush()
    raise OSError("disk full")


@pytest.mark.parametrize("fixed", [True, False])
def test_crash_while_saving_keeps_the_previous_checkpoint(
    trainer_paths, blob_loader, monkeypatch, original, fixed
):
    if not fixed:
        original(BaseTrainer, "save_model")
    trainer = make_trainer(trainer_paths, epochs=1)
    trainer.retain_checkpoints = 1  # every save overwrites gan0.model
    trainer(blob_loader)
    path = trainer_paths["checkpoints"] + "0.model"
    good = Path(path).read_bytes()
    monkeypatch.setattr(torch, "save", _crash_midway)
    with pytest.raises(OSError, match="disk full"):
        trainer.save_model(1)
    intact = Path(path).read_bytes() == good
    assert intact is fixed, "only the atomic save keeps the last good checkpoint"
    if fixed:
        leftovers = sorted(p.name for p in Path(path).parent.iterdir())
        assert leftovers == ["gan0.model"], "no temporary file left behind"


def test_checkpoint_pickles_nothing_but_allow_listed_classes(trainer_paths, blob_loader):
    trainer = make_trainer(trainer_paths)
    trainer(blob_loader)
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(
        trainer_paths["checkpoints"] + "0.model"
    )
    from torchgan_lstm.checkpoint import checkpoint_safe_classes

    allowed = {f"{c.__module__}.{c.__qualname__}" for c in checkpoint_safe_classes()}
    assert unsafe, "TorchGAN pickles its loss objects: the allow-list is needed"
    assert set(unsafe) <= allowed


# The generator in the discriminator's step: no graph recorded, the same numbers.

_D_LOSSES = (
    DiscriminatorLoss,
    WassersteinGradientPenalty,
    BoundaryEquilibriumDiscriminatorLoss,
    AuxiliaryClassifierDiscriminatorLoss,
)


def _restore_d_losses(monkeypatch):
    for cls in _D_LOSSES:
        monkeypatch.setattr(cls, "train_ops", compat.ORIGINALS[f"{cls.__name__}.train_ops"])


def _record_generator_graph(generator) -> list[bool]:
    """Register a hook noting, for each call, whether the images carry the generator's graph."""
    seen = []
    generator.register_forward_hook(lambda m, i, out: seen.append(out.grad_fn is not None))
    return seen


def _dcgan_config(size=16):
    adam = {"name": torch.optim.Adam, "args": {"lr": 2e-4, "betas": (0.5, 0.999)}}
    args = {"out_size": size, "out_channels": 1, "step_channels": 8, "encoding_dims": 16}
    return {
        "generator": {"name": DCGANGenerator, "args": args, "optimizer": adam},
        "discriminator": {
            "name": DCGANDiscriminator,
            "args": {"in_size": size, "in_channels": 1, "step_channels": 8},
            "optimizer": adam,
        },
    }


def _trainer(config, family, trainer_paths):
    return Trainer(
        config, build_losses(family), device=torch.device("cpu"), sample_size=8, **trainer_paths
    )


@pytest.mark.parametrize("fixed", [True, False])
@pytest.mark.parametrize("family", ["minimax", "wgan-gp"])
def test_discriminator_step_records_no_generator_graph(trainer_paths, monkeypatch, fixed, family):
    if not fixed:
        _restore_d_losses(monkeypatch)
    torch.manual_seed(0)
    trainer = _trainer(model_config({"lstm_gate": False}), family, trainer_paths)
    trainer.real_inputs = blob_images(8)
    seen = _record_generator_graph(trainer.generator)
    grad_mode = []
    trainer.generator.register_forward_pre_hook(
        lambda m, i: grad_mode.append(torch.is_grad_enabled())
    )
    for name in ("WassersteinDiscriminatorLoss", "MinimaxDiscriminatorLoss"):
        if name in trainer.losses:
            d_loss = trainer.losses[name]
    d_loss.train_ops(**trainer._get_arguments(trainer.loss_arg_maps[type(d_loss).__name__]))
    assert seen == [not fixed], "the discriminator's step builds the generator's graph only unfixed"
    assert grad_mode == [True], "autograd's mode is left on (same kernels as in training)"
    if family == "wgan-gp":  # the penalty differentiates at the generated images, not through G
        trainer.generator.zero_grad()
        trainer.losses["WassersteinGradientPenalty"].train_ops(
            **trainer._get_arguments(trainer.loss_arg_maps["WassersteinGradientPenalty"])
        )
        reached = any(p.grad is not None for p in trainer.generator.parameters())
        assert reached is not fixed
        assert any(p.grad is not None for p in trainer.discriminator.parameters())
    assert all(p.requires_grad for p in trainer.generator.parameters()), "restored after the call"


def _train_steps(config, family, trainer_paths, steps=4, opt_in=None):
    torch.manual_seed(0)
    trainer = _trainer(config, family, trainer_paths)
    if opt_in is not None:
        trainer.generator.frozen_in_discriminator_step = opt_in
    trainer.real_inputs = blob_images(8)
    losses = [trainer.train_iter()[:2] for _ in range(steps)]
    weights = [t.clone() for name in ("generator", "discriminator")
               for t in getattr(trainer, name).state_dict().values()]  # fmt: skip
    return losses, weights, trainer.logger.get_loss_viz().logs


@pytest.mark.parametrize(
    ("config", "family", "opt_in"),
    [
        (model_config({"lstm_gate": False}), "minimax", None),
        (model_config({"lstm_gate": False}), "wgan-gp", None),
        (model_config({"lstm_gate": False, "batchnorm": True}), "lsgan", None),
        (_dcgan_config(), "minimax", True),  # TorchGAN's own models, opted in
    ],
    ids=["lstm-minimax", "lstm-wgan-gp", "lstm-lsgan", "dcgan-opted-in-minimax"],
)
def test_frozen_generator_gives_bit_identical_training(
    trainer_paths, monkeypatch, config, family, opt_in
):
    fixed = _train_steps(config, family, trainer_paths, opt_in=opt_in)
    _restore_d_losses(monkeypatch)
    original = _train_steps(config, family, trainer_paths, opt_in=opt_in)
    assert fixed[0] == original[0], "the same loss values, bit for bit"
    assert fixed[2] == original[2]
    for a, b in zip(fixed[1], original[1], strict=True):
        assert torch.equal(a, b), "the same weights and batch-norm statistics, bit for bit"


def test_other_models_are_run_as_torchgan_runs_them(trainer_paths):
    torch.manual_seed(0)
    trainer = _trainer(_dcgan_config(), "minimax", trainer_paths)
    trainer.real_inputs = blob_images(8)
    seen = _record_generator_graph(trainer.generator)
    trainer.losses["MinimaxDiscriminatorLoss"].train_ops(
        **trainer._get_arguments(trainer.loss_arg_maps["MinimaxDiscriminatorLoss"])
    )
    assert seen == [True], "TorchGAN's DCGAN is not ours and did not opt in"
    assert compat.frozen_in_discriminator_step(trainer.generator) is False
    trainer.generator.frozen_in_discriminator_step = True
    assert compat.frozen_in_discriminator_step(trainer.generator) is True


def test_our_generator_can_opt_out(trainer_paths):
    torch.manual_seed(0)
    trainer = _trainer(model_config(), "minimax", trainer_paths)
    trainer.generator.frozen_in_discriminator_step = False
    trainer.real_inputs = blob_images(8)
    seen = _record_generator_graph(trainer.generator)
    trainer.losses["MinimaxDiscriminatorLoss"].train_ops(
        **trainer._get_arguments(trainer.loss_arg_maps["MinimaxDiscriminatorLoss"])
    )
    assert seen == [True]


def test_a_users_own_train_ops_gets_the_real_generator(trainer_paths):
    received = []

    def own_train_ops(loss, generator, *args):
        received.append(generator)
        return 0.0

    torch.manual_seed(0)
    trainer = _trainer(model_config(), "minimax", trainer_paths)
    loss = trainer.losses["MinimaxDiscriminatorLoss"]
    loss.override_train_ops = own_train_ops
    trainer.real_inputs = blob_images(8)
    loss.train_ops(**trainer._get_arguments(trainer.loss_arg_maps["MinimaxDiscriminatorLoss"]))
    assert received == [trainer.generator]


def test_image_logging_skips_a_sequence_generator_with_a_warning(
    trainer_paths, sine_loader, tmp_path
):
    # Without the skip, make_grid reads (N, steps, features) as one N-channel image and PIL
    # crashes at the end of the first epoch, after the whole epoch's training.
    trainer = Trainer(
        sequence_model_config("lstm"),
        [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()],
        device=torch.device("cpu"),
        epochs=1,
        sample_size=4,
        **trainer_paths,
    )
    with pytest.warns(UserWarning, match="use torchgan_lstm.trainer.sequence_plots"):
        trainer(sine_loader)
    assert trainer.loss_information["generator_iters"] == 4
    assert not list((tmp_path / "images").glob("*.png"))

"""Each TorchGAN fix: it is needed (the original fails) and it works (the fix passes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchgan.logging.visualize import ImageVisualize
from torchgan.losses import MinimaxDiscriminatorLoss, MinimaxGeneratorLoss
from torchgan.trainer import Trainer
from torchgan.trainer.base_trainer import BaseTrainer

from torchgan_lstm import compat
from torchgan_lstm.checkpoint import CheckpointError

from .conftest import model_config, sequence_model_config


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

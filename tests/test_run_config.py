"""RunConfig: the shipped defaults, the models as class + constructor arguments, the data part
setting their shape, YAML round trips, and the flat configurations of 0.1.0 checkpoints."""

from __future__ import annotations

import pytest
import torch
from torchgan.models import DCGANGenerator

from torchgan_lstm import ConvDiscriminator, LSTMGenerator
from torchgan_lstm._validation import InputError
from torchgan_lstm.app.cli import config_from_args, train_parser
from torchgan_lstm.app.config import DataConfig, ModelSpec, RunConfig, load_config
from torchgan_lstm.app.run import build_trainer, check_same_models
from torchgan_lstm.checkpoint import CheckpointError
from torchgan_lstm.trainer import SingleProcess


def test_defaults_are_the_gated_lstm_against_our_dcgan_style_discriminator():
    config = RunConfig().validate()
    generator, discriminator = config.build_models()
    assert isinstance(generator, LSTMGenerator) and generator.decoder_name == "conv"
    assert generator.decoder.gate is not None, "the gated conv decoder"
    assert (generator.lstm.hidden_size, generator.lstm.num_layers) == (128, 1)
    assert generator.decoder.gate_scale == 10.0
    assert type(discriminator) is ConvDiscriminator
    assert discriminator.norm == "batch" and config.discriminator.init_args["step_channels"] == 32
    assert config.generator.init_args["out_size"] == 32
    assert config.discriminator.init_args["in_channels"] == 1  # Fashion-MNIST's own
    assert config.ema_decay == 0.99


@pytest.mark.parametrize(
    "change",
    [{"decoder": "rows"}, {"decoder": "canvas"}, {"lstm_gate": False}, {"latent_skip": False}],
)
def test_the_default_gate_scale_leaves_the_ungated_generators_buildable(change):
    config = RunConfig()
    config.generator.init_args.update(change)
    generator, _ = config.validate().build_models()
    assert getattr(generator.decoder, "gate", None) is None
    assert config.generator.init_args["gate_scale"] == 10.0


def test_the_command_lines_trainer_steps_the_generator_at_twice_the_critics_rate_and_averages_it(
    tmp_path,
):
    config = config_from_args(train_parser().parse_args(["--out", str(tmp_path)])).validate()
    config.metric_samples = 0
    trainer = build_trainer(config, SingleProcess("cpu"), epochs=1)
    lrs = [group["lr"] for group in trainer.optimizer_generator.param_groups]
    assert lrs == [4e-4]
    lrs = [group["lr"] for group in trainer.optimizer_discriminator.param_groups]
    assert lrs == [2e-4]
    assert trainer.ema is not None and trainer.ema.decay == 0.99


def test_unset_settings_take_the_data_kinds_recipe_and_set_ones_are_kept():
    images = RunConfig().validate()
    assert (images.batch_size, images.g_lr, images.d_lr, images.ema_decay) == (64, 4e-4, 2e-4, 0.99)
    assert images.max_steps == 1000
    sines = RunConfig(data=DataConfig("sines")).validate()
    assert (sines.batch_size, sines.g_lr, sines.d_lr, sines.ema_decay) == (128, 1e-3, 1e-3, 0.999)
    assert sines.max_steps == 4000
    assert sines.discriminator.init_args == {
        "input_norm": "whiten", "whitening_floor": 1.0, "features": 5
    }  # fmt: skip
    chosen = RunConfig(data=DataConfig("sines"), g_lr=2e-4, ema_decay=0.0).validate()
    assert (chosen.g_lr, chosen.d_lr, chosen.ema_decay) == (2e-4, 1e-3, 0.0)
    from_cli = config_from_args(train_parser(True).parse_args(["--data.dataset", "sines"]))
    models = {"generator": None, "discriminator": None}
    assert from_cli.validate().to_dict() | models == sines.to_dict() | models
    with pytest.raises(InputError, match=r"ema_decay must be in \[0, 1\) .*, got 1.0"):
        RunConfig(data=DataConfig("sines"), ema_decay=1.0).validate()


def test_the_command_line_defaults_are_the_python_defaults():
    from_cli = config_from_args(train_parser().parse_args([])).validate()
    python = RunConfig().validate()
    for role in ("generator", "discriminator"):
        assert getattr(from_cli, role).cls is getattr(python, role).cls
        cli_model, py_model = getattr(from_cli, role).build(), getattr(python, role).build()
        assert {k: v.shape for k, v in cli_model.state_dict().items()} == {
            k: v.shape for k, v in py_model.state_dict().items()
        }
    assert from_cli.to_dict() | {"generator": None, "discriminator": None} == (
        python.to_dict() | {"generator": None, "discriminator": None}
    )


def test_the_data_part_sets_the_models_shape_and_refuses_a_contradiction():
    config = RunConfig()
    config.data.image_size, config.data.dataset, config.data.channels = 24, "folder", None
    config.discriminator = ModelSpec("ConvDiscriminator", {"step_channels": 8})
    resolved = config.validate()
    assert resolved.generator.init_args["out_size"] == 24
    assert resolved.discriminator.init_args["in_channels"] == 3  # an image folder's own
    assert "out_size" not in config.generator.init_args, "validate() leaves the input alone"
    config.generator.init_args["out_size"] = 32
    with pytest.raises(InputError, match=r"generator.init_args.out_size=32 disagrees with data"):
        config.validate()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"max_steps": 0}, "max_steps must be >= 1, got 0"),
        ({"loss": "ebgan"}, "loss must be one of"),
        ({"ema_decay": 1.0}, r"ema_decay must be in \[0, 1\)"),
        ({"generator": ModelSpec("os.system")}, "class_path 'os.system' is not a registered"),
        ({"generator": ModelSpec("LSTMGenerator", {"decoder": "spiral"})}, "decoder must be one"),
        ({"generator": ModelSpec("LSTMGenerator", {"hidden_sized": 3})}, "LSTMGenerator refused"),
        ({"discriminator": ModelSpec("LSTMGenerator")}, "discriminator must be a TorchGAN Disc"),
    ],
)
def test_bad_settings_name_the_field(change, match):
    config = RunConfig()
    for key, value in change.items():
        setattr(config, key, value)
    with pytest.raises(InputError, match=match):
        config.validate()


def test_dcgan_models_refuse_other_sizes_and_name_the_way_out():
    config = RunConfig(discriminator=ModelSpec("DCGANDiscriminator"))
    config.data.image_size = 28
    with pytest.raises(InputError, match=r"DCGANDiscriminator refused.*ConvDiscriminator take any"):
        config.validate()
    config.discriminator = ModelSpec("ConvDiscriminator")
    config.validate()


@pytest.mark.parametrize("loss", ["wgan-gp", "dragan"])
def test_gradient_penalties_refuse_a_batch_norm_critic(loss):
    config = RunConfig(loss=loss)
    with pytest.raises(InputError, match="batch norm couples the images"):
        config.validate()
    config.discriminator = ModelSpec("ConvDiscriminator", {"norm": "batch"})
    with pytest.raises(InputError, match="batch norm couples the images"):
        config.validate()
    config.discriminator = ModelSpec("ConvDiscriminator", {"norm": "spectral"})
    config.validate()


def test_yaml_round_trip_and_config_file_with_overrides(tmp_path):
    config = RunConfig(max_steps=7)
    config.generator = ModelSpec("torchgan.models.DCGANGenerator", {"step_channels": 16})
    path = tmp_path / "run.yaml"
    path.write_text(config.to_yaml())
    assert load_config(path).to_dict() == config.to_dict()
    args = train_parser().parse_args(["--config", str(path), "--max_steps", "9"])
    parsed = config_from_args(args).validate()
    assert parsed.max_steps == 9 and parsed.generator.cls is DCGANGenerator
    assert parsed.generator.init_args["step_channels"] == 16


def older_checkpoint_config(**fields) -> dict:
    """A run configuration as torchgan-lstm 0.1.0 checkpoints stored it (flat, no gate)."""
    flat = {
        "dataset": "fashion-mnist", "data_root": None, "download": True, "image_size": 32,
        "channels": 1, "generator": "lstm", "decoder": "conv", "encoding_dims": 100,
        "hidden_size": 256, "num_layers": 2, "lstm_dropout": 0.0, "g_step_channels": 32,
        "g_batchnorm": True, "latent_skip": True, "rows_per_step": 1, "canvas_steps": 4,
        "discriminator": "conv", "d_step_channels": 32, "d_layers": 3, "d_dropout": 0.3,
        "d_norm": "none", "d_minibatch_features": 0, "loss": "minimax", "ncritic": 1,
        "batch_size": 64, "g_lr": 2e-4, "d_lr": 2e-4, "betas": [0.5, 0.999], "max_steps": 1000,
        "epochs": None, "eval_every": 500, "metric_samples": 2000, "seed": 0, "device": "auto",
        "out": "runs/train", "sample_size": 64, "ema_decay": 0.0, "amp": False,
        "compile": False, "channels_last": False, "max_seconds": None,
    }  # fmt: skip
    return flat | fields


def test_checkpoints_of_0_1_0_load_as_they_were_trained():
    config = RunConfig.from_dict(older_checkpoint_config()).validate()
    assert (config.g_lr, config.d_lr) == (2e-4, 2e-4)
    assert config.ema_decay == 0.0
    unset_keys = ("g_lr", "d_lr", "ema_decay")
    unset = {k: v for k, v in older_checkpoint_config().items() if k not in unset_keys}
    unset_config = RunConfig.from_dict(unset).validate()
    assert (unset_config.g_lr, unset_config.d_lr) == (2e-4, 2e-4)
    assert unset_config.ema_decay == 0.0, "0.1.0 kept no average unless asked"
    generator, discriminator = config.build_models()
    assert config.generator.init_args["lstm_gate"] is False
    assert "decoder.gate" not in generator.state_dict()
    assert isinstance(discriminator, ConvDiscriminator) and discriminator.norm == "none"
    dcgan = RunConfig.from_dict(older_checkpoint_config(generator="dcgan", discriminator="dcgan"))
    assert dcgan.generator.cls is DCGANGenerator
    assert dcgan.generator.init_args == {
        "encoding_dims": 100,
        "step_channels": 32,
        "batchnorm": True,
    }


def test_resume_compares_the_models_as_built():
    saved = RunConfig.from_dict(older_checkpoint_config())
    old_conv = {"step_channels": 32, "norm": "none", "dropout": 0.3}  # 0.1.0's ConvDiscriminator
    old_lstm = {"step_channels": 32, "hidden_size": 256, "num_layers": 2}  # and its LSTM
    request = RunConfig(
        generator=ModelSpec("LSTMGenerator", old_lstm),
        discriminator=ModelSpec("ConvDiscriminator", old_conv),
    )
    with pytest.raises(CheckpointError, match="lstm_gate: checkpoint False vs requested None"):
        check_same_models(saved, request, "checkpoint 'x'", resume=True)
    request.generator.init_args["lstm_gate"] = False
    check_same_models(saved, request, "checkpoint 'x'", resume=True)
    # None (the default) and True build the same gated model: not a difference.
    gated = RunConfig()
    gated.generator.init_args["lstm_gate"] = True
    check_same_models(gated, RunConfig(), "checkpoint 'x'", resume=True)
    with pytest.raises(CheckpointError, match="eval_every: checkpoint 500 vs requested 250"):
        check_same_models(RunConfig(), RunConfig(eval_every=250), "checkpoint 'x'", resume=True)


def test_the_models_are_built_without_touching_the_global_random_state():
    state = torch.get_rng_state()
    check_same_models(RunConfig(), RunConfig(), "checkpoint 'x'", resume=False)
    assert torch.equal(state, torch.get_rng_state())


def test_a_new_config_gets_the_classes_defaults_and_records_them():
    assert ConvDiscriminator().model[0][0].out_channels == 32
    assert LSTMGenerator(out_channels=1).decoder.head.base_channels == 32 * 4
    config = RunConfig(
        generator=ModelSpec("torchgan_lstm.LSTMGenerator", {}),
        discriminator=ModelSpec("torchgan_lstm.ConvDiscriminator", {}),
    )
    resolved = config.validate()
    generator, discriminator = resolved.build_models()
    assert discriminator.model[0][0].out_channels == 32
    assert generator.decoder.head.base_channels == 32 * 4
    assert resolved.discriminator.init_args["step_channels"] == 32  # written explicitly
    assert resolved.generator.init_args["step_channels"] == 32
    shipped = RunConfig().validate()
    assert shipped.discriminator.init_args["step_channels"] == 32
    assert shipped.generator.init_args["step_channels"] == 32


def test_a_stored_config_without_the_models_widths_keeps_the_widths_it_was_written_with(tmp_path):
    # A checkpoint whose configuration names a class without step_channels was written when
    # the default was 64, and rebuilds that; one that names it keeps its value.
    from torchgan_lstm.app.stored_config import stored_config

    old = RunConfig(
        generator=ModelSpec("torchgan_lstm.LSTMGenerator", {}),
        discriminator=ModelSpec("torchgan_lstm.ConvDiscriminator", {"step_channels": 16}),
    ).to_dict()
    read = stored_config(old, tmp_path / "gan0.model")
    assert read.generator.init_args["step_channels"] == 64
    assert read.discriminator.init_args["step_channels"] == 16
    generator, _ = read.build_models()
    assert generator.decoder.head.base_channels == 64 * 4
    new = stored_config(RunConfig().validate().to_dict(), tmp_path / "gan1.model")
    assert new.generator.init_args["step_channels"] == 32

"""RunConfig: the shipped defaults, options that only one model reads, and older checkpoints."""

import dataclasses

import pytest
from torchgan.models import DCGANDiscriminator

from torchgan_lstm import ConvDiscriminator, LSTMGenerator
from torchgan_lstm.app.cli import build_parser, config_from_args
from torchgan_lstm.app.run import (
    RunConfig,
    build_generator,
    check_same_models,
    discriminator_spec,
)
from torchgan_lstm.checkpoint import CheckpointError


def test_defaults_are_the_quality_issues_winner():
    config = RunConfig().validate()
    generator = build_generator(config)
    cls, _ = discriminator_spec(config)
    assert isinstance(generator, LSTMGenerator) and generator.decoder_name == "conv"
    assert generator.decoder.gate is not None, "the gated conv decoder"
    assert cls is DCGANDiscriminator
    assert config.ema_decay == 0.0


@pytest.mark.parametrize(
    ("fields", "gated"),
    [
        ({}, True),
        ({"lstm_gate": False}, False),
        ({"latent_skip": False}, False),
        ({"decoder": "rows"}, False),
        ({"decoder": "canvas"}, False),
        ({"generator": "dcgan"}, False),
    ],
)
def test_gate_resolves_where_it_applies(fields, gated):
    assert RunConfig(**fields).gate is gated


def test_command_line_switches_the_gate_both_ways():
    parser = build_parser()
    for argv, expected in (([], None), (["--lstm-gate"], True), (["--no-lstm-gate"], False)):
        assert config_from_args(parser.parse_args(["train", *argv])).lstm_gate is expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"d_dropout": 0.0}, "d_dropout=0.0 is only read by discriminator='conv'"),
        ({"d_norm": "spectral"}, "d_norm='spectral' is only read by discriminator='conv'"),
        ({"d_layers": 2, "d_minibatch_features": 8}, "d_layers=2, d_minibatch_features=8 are "),
        ({"generator": "dcgan", "hidden_size": 64}, "hidden_size=64 is only read by generator="),
        ({"generator": "dcgan", "lstm_gate": True}, "lstm_gate=True is only read by generator="),
        ({"generator": "dcgan", "decoder": "rows"}, "decoder='rows' is only read by generator="),
    ],
)
def test_options_another_model_would_ignore_are_refused(fields, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        RunConfig(**fields).validate()


@pytest.mark.parametrize("loss", ["wgan-gp", "dragan"])
@pytest.mark.parametrize("fields", [{}, {"discriminator": "conv", "d_norm": "batch"}])
def test_gradient_penalty_with_a_batch_norm_critic_is_refused(loss, fields):
    with pytest.raises(ValueError, match=f"loss='{loss}' penalises each image's gradient"):
        RunConfig(loss=loss, **fields).validate()


def test_gradient_penalty_runs_with_our_critic_unnormalised():
    config = RunConfig(loss="wgan-gp", discriminator="conv", d_norm="none").validate()
    assert discriminator_spec(config)[0] is ConvDiscriminator


def test_a_power_of_two_hint_names_the_other_discriminator():
    with pytest.raises(ValueError, match=r"got 28 \(discriminator='conv' takes any size >= 8\)"):
        RunConfig(image_size=28).validate()
    RunConfig(image_size=28, discriminator="conv").validate()


def older_checkpoint_config() -> dict:
    """A run configuration as checkpoints stored it before ``lstm_gate`` existed."""
    saved = RunConfig(discriminator="conv").to_dict()
    del saved["lstm_gate"]
    return saved


def test_checkpoints_from_before_the_gate_load_ungated():
    config = RunConfig.from_dict(older_checkpoint_config())
    assert config.lstm_gate is False and not config.gate
    assert "decoder.gate" not in build_generator(config).state_dict()


def test_resume_compares_the_gate_as_built():
    saved = older_checkpoint_config()
    request = RunConfig(discriminator="conv")  # the new default: gated
    with pytest.raises(CheckpointError, match="lstm_gate: checkpoint False vs requested True"):
        check_same_models(saved, request, "checkpoint 'x'")
    check_same_models(saved, dataclasses.replace(request, lstm_gate=False), "checkpoint 'x'")
    # None (the default) and True build the same gated model: not a difference.
    gated = RunConfig(discriminator="conv", lstm_gate=True).to_dict()
    check_same_models(gated, request, "checkpoint 'x'")

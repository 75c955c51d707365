"""Registration: torchgan.models lookup, the entry points, the torchvision-style registry."""

from __future__ import annotations

import doctest
from importlib.metadata import entry_points

import pytest
import torch.nn as nn
import torchgan.models

import torchgan_lstm
import torchgan_lstm.registry
from torchgan_lstm import get_model, get_model_builder, list_models, register_model
from torchgan_lstm.models import ConvDiscriminator, LSTMGenerator


def test_classes_are_importable_from_torchgan_models():
    from torchgan.models import ConvDiscriminator as TgConv
    from torchgan.models import LSTMGenerator as TgLSTM

    assert TgLSTM is LSTMGenerator and TgConv is ConvDiscriminator
    assert torchgan.models.LSTMGenerator is torchgan_lstm.LSTMGenerator


def test_entry_points_declare_both_classes_under_torchgan_models():
    found = {ep.name: ep.load() for ep in entry_points(group="torchgan.models")}
    assert found["LSTMGenerator"] is LSTMGenerator
    assert found["ConvDiscriminator"] is ConvDiscriminator


def test_list_and_get_models_by_name():
    assert {"lstm_generator", "conv_discriminator", "dcgan_generator"} <= set(list_models())
    assert list_models("*_generator") == [
        "dcgan_generator",
        "lstm_generator",
        "lstm_sequence_generator",
        "table_sequence_generator",
    ]
    g = get_model("lstm_generator", out_size=16, out_channels=1, decoder="rows", hidden_size=8)
    assert isinstance(g, LSTMGenerator) and g.decoder_name == "rows"
    assert get_model_builder("conv_discriminator") is ConvDiscriminator


def test_unknown_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"unknown model 'lstm'; registered models: \['conv_disc"):
        get_model("lstm")


def test_register_model_decorator_and_duplicate_names():
    @register_model()
    def tiny_test_generator(**kw) -> nn.Module:
        return LSTMGenerator(out_size=8, hidden_size=4, step_channels=2, **kw)

    try:
        assert "tiny_test_generator" in list_models()
        assert isinstance(get_model("tiny_test_generator", out_channels=1), LSTMGenerator)
        with pytest.raises(ValueError, match="already registered as 'tiny_test_generator'"):
            register_model("tiny_test_generator")(lambda: None)
    finally:
        torchgan_lstm.registry._MODELS.pop("tiny_test_generator")


def test_register_model_also_works_bare_and_returns_the_class_itself():
    @register_model
    class TinyBareGenerator(LSTMGenerator):
        pass

    try:
        assert isinstance(TinyBareGenerator, type)  # not replaced by the decorator's inner function
        assert get_model_builder("tinybaregenerator") is TinyBareGenerator
    finally:
        torchgan_lstm.registry._MODELS.pop("tinybaregenerator")


def test_the_registry_docstring_example_runs_as_a_doctest():
    result = doctest.testmod(torchgan_lstm.registry, raise_on_error=False)
    assert result.attempted >= 4 and result.failed == 0

"""Exported generators: safetensors + JSON written, rebuilt from the registry, no pickle."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
import torch.nn as nn
from safetensors.torch import load_file

import torchgan_lstm
from torchgan_lstm import registry
from torchgan_lstm.app.export import ExportError, export_generator, load_exported
from torchgan_lstm.models import DCGANGenerator, LSTMGenerator

from .conftest import SMALL_GENERATOR

LSTM_ARGS = {**SMALL_GENERATOR, "decoder": "conv"}
DCGAN_ARGS = {"encoding_dims": 16, "out_size": 16, "out_channels": 1, "step_channels": 8}


def trained_dcgan() -> DCGANGenerator:
    """A DCGAN generator whose batch-norm statistics are no longer their initial values."""
    generator = DCGANGenerator(**DCGAN_ARGS)
    with torch.no_grad():
        generator(torch.randn(8, DCGAN_ARGS["encoding_dims"]))
    return generator.eval()


def read_config(folder) -> dict:
    return json.loads((folder / "config.json").read_text())


def write_config(folder, config: dict) -> None:
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("name", "make", "args"),
    [
        ("lstm_generator", lambda: LSTMGenerator(**LSTM_ARGS).eval(), LSTM_ARGS),
        ("dcgan_generator", trained_dcgan, DCGAN_ARGS),
    ],
)
def test_round_trip_gives_identical_outputs(tmp_path, name, make, args):
    torch.manual_seed(0)
    generator = make()
    export_generator(generator, name, args, tmp_path)
    loaded = load_exported(tmp_path)
    assert type(loaded) is type(generator)
    assert not loaded.training
    z = torch.randn(4, args["encoding_dims"])
    with torch.no_grad():
        torch.testing.assert_close(loaded(z), generator(z), rtol=0, atol=0)


def test_weights_file_is_plain_safetensors(tmp_path):
    generator = trained_dcgan()
    export_generator(generator, "dcgan_generator", DCGAN_ARGS, tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    state = generator.state_dict()
    assert tensors.keys() == state.keys()
    for key, value in state.items():
        torch.testing.assert_close(tensors[key], value, rtol=0, atol=0)


def test_config_names_model_args_and_version(tmp_path):
    out = export_generator(LSTMGenerator(**LSTM_ARGS), "lstm_generator", LSTM_ARGS, tmp_path / "g")
    assert out == tmp_path / "g"
    assert read_config(out) == {
        "format": "torchgan-lstm-export",
        "version": 1,
        "model": "lstm_generator",
        "args": LSTM_ARGS,
        "torchgan_lstm_version": torchgan_lstm.__version__,
    }


def test_loading_unpickles_nothing(tmp_path, monkeypatch):
    export_generator(LSTMGenerator(**LSTM_ARGS), "lstm_generator", LSTM_ARGS, tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("an export must load without pickle")

    monkeypatch.setattr(torch, "load", refuse)
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    assert isinstance(load_exported(tmp_path), LSTMGenerator)


def test_loading_leaves_the_random_stream_alone(tmp_path):
    export_generator(LSTMGenerator(**LSTM_ARGS), "lstm_generator", LSTM_ARGS, tmp_path)
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    load_exported(tmp_path)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)


class TiedGenerator(nn.Module):
    """Two layers sharing one weight, and a buffer that is a transposed (non-contiguous) view."""

    def __init__(self, width: int = 4):
        super().__init__()
        self.first = nn.Linear(width, width, bias=False)
        self.second = nn.Linear(width, width, bias=False)
        self.second.weight = self.first.weight
        mix = torch.arange(width * width, dtype=torch.float32).reshape(width, width)
        self.register_buffer("mix", mix.t())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(z)) @ self.mix


def test_shared_and_non_contiguous_tensors_round_trip(tmp_path, monkeypatch):
    monkeypatch.setitem(registry._MODELS, "tied_test_generator", TiedGenerator)
    generator = TiedGenerator()
    assert not generator.mix.is_contiguous()
    export_generator(generator, "tied_test_generator", {}, tmp_path)
    loaded = load_exported(tmp_path)
    assert loaded.second.weight is loaded.first.weight
    z = torch.randn(2, 4)
    with torch.no_grad():
        torch.testing.assert_close(loaded(z), generator(z), rtol=0, atol=0)


def test_arguments_json_cannot_hold_are_refused_by_name(tmp_path):
    args = {**DCGAN_ARGS, "nonlinearity": nn.LeakyReLU(0.2)}
    with pytest.raises(ValueError, match=r"model_args\['nonlinearity'\] must be JSON-serial"):
        export_generator(DCGANGenerator(**args), "dcgan_generator", args, tmp_path)
    assert not (tmp_path / "config.json").exists()


def test_arguments_that_build_another_model_are_refused_at_export(tmp_path):
    generator = LSTMGenerator(**LSTM_ARGS)
    wrong = {**LSTM_ARGS, "hidden_size": 32}
    with pytest.raises(ExportError, match=r"could not be loaded back: .*vs model"):
        export_generator(generator, "lstm_generator", wrong, tmp_path)


def test_unknown_model_in_config_is_a_clear_error(tmp_path):
    export_generator(LSTMGenerator(**LSTM_ARGS), "lstm_generator", LSTM_ARGS, tmp_path)
    write_config(tmp_path, {**read_config(tmp_path), "model": "lstm_genrator"})
    with pytest.raises(ExportError, match=r"model 'lstm_genrator' is not registered; registered"):
        load_exported(tmp_path)


def test_config_of_another_shape_is_a_clear_error(tmp_path):
    export_generator(LSTMGenerator(**LSTM_ARGS), "lstm_generator", LSTM_ARGS, tmp_path)
    config = read_config(tmp_path)
    write_config(tmp_path, {**config, "args": {**config["args"], "encoding_dims": 24}})
    with pytest.raises(ExportError, match=r"model\.safetensors does not fit lstm_generator") as err:
        load_exported(tmp_path)
    assert "file (" in str(err.value) and "vs model (" in str(err.value)


def test_arguments_the_model_refuses_are_a_clear_error(tmp_path):
    export_generator(LSTMGenerator(**LSTM_ARGS), "lstm_generator", LSTM_ARGS, tmp_path)
    config = read_config(tmp_path)
    write_config(tmp_path, {**config, "args": {**config["args"], "colour": "red"}})
    with pytest.raises(ExportError, match=r"config\.json: lstm_generator\(\*\*.*\) failed"):
        load_exported(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "is not a torchgan-lstm export"),
        ({"version": 2}, "has export version 2; this torchgan-lstm reads version 1"),
        ({"args": [1, 2]}, "'args' must be an object"),
    ],
)
def test_config_of_another_kind_is_refused(tmp_path, change, message):
    export_generator(LSTMGenerator(**LSTM_ARGS), "lstm_generator", LSTM_ARGS, tmp_path)
    write_config(tmp_path, {**read_config(tmp_path), **change})
    with pytest.raises(ExportError, match=message):
        load_exported(tmp_path)


def test_corrupt_weights_and_missing_files_are_clear_errors(tmp_path):
    export_generator(LSTMGenerator(**LSTM_ARGS), "lstm_generator", LSTM_ARGS, tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ExportError, match="is not a readable safetensors file"):
        load_exported(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors not found"):
        load_exported(tmp_path)


def test_weights_holding_nan_or_inf_are_refused_naming_the_tensor(tmp_path):
    from safetensors.torch import save_file

    export_generator(LSTMGenerator(**LSTM_ARGS), "lstm_generator", LSTM_ARGS, tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    state["decoder.lstm.weight_hh_l0"][0, :5] = torch.tensor([float("nan")] * 4 + [float("inf")])
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(
        ExportError,
        match=r"model\.safetensors: tensor 'decoder\.lstm\.weight_hh_l0' must be finite, got 5 "
        r"NaN/inf values",
    ):
        load_exported(tmp_path)

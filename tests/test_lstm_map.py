"""benchmarks.lstm_map: scores with the LSTM's map as trained, zeroed and moved to other samples."""

from __future__ import annotations

import pytest
import torch

from benchmarks.lstm_map import lstm_map_scores
from torchgan_lstm.models import LSTMGenerator

from .conftest import blob_images

GENERATOR = {"encoding_dims": 16, "out_size": 32, "out_channels": 1, "step_channels": 8}


def scores(gate: float) -> dict:
    torch.manual_seed(0)
    generator = LSTMGenerator(**GENERATOR, hidden_size=16, num_layers=1)
    with torch.no_grad():
        generator.decoder.gate.fill_(gate)
    return lstm_map_scores(generator, samples=64, batch=32, real_images=blob_images(64, 32))


def test_the_map_is_zeroed_and_moved_between_samples():
    opened, closed = scores(1.0), scores(0.0)
    # Zeroing the map is the generator with its gate shut; at gate 0 the map changes nothing.
    assert opened["zeroed"] == closed["trained"] == closed["zeroed"] == closed["shuffled"]
    assert opened["shuffled"]["fcd"] != opened["trained"]["fcd"]
    assert opened["zeroed"]["fcd"] != opened["trained"]["fcd"]
    for mode in opened.values():
        assert 0.0 <= mode["rarest_class"] <= 0.1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"decoder": "rows"}, "needs an LSTMGenerator with decoder='conv'"),
        ({"label_type": "generated", "num_classes": 3}, "needs an unconditional generator"),
    ],
)
def test_other_generators_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lstm_map_scores(LSTMGenerator(**GENERATOR, **kwargs), samples=8)

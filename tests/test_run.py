"""The one training recipe, called from Python: it leaves its configuration alone."""

from __future__ import annotations

import contextlib
import copy
import io

import pytest
import torch

from torchgan_lstm import ModelSpec, RunConfig, TrainingDiverged, train
from torchgan_lstm.checkpoint import safe_load

from .conftest import write_idx_blobs


def tiny(tmp_path, **settings) -> RunConfig:
    """A seconds-long run of tiny models on 48 blob images of 16 px."""
    config = RunConfig(batch_size=16, eval_every=2, metric_samples=0, sample_size=4, **settings)
    config.data.root, config.data.image_size, config.data.download = (
        write_idx_blobs(tmp_path),
        16,
        False,
    )
    config.generator = ModelSpec(
        "LSTMGenerator", {"hidden_size": 8, "step_channels": 4, "encoding_dims": 8}
    )
    config.discriminator = ModelSpec("ConvDiscriminator", {"step_channels": 4, "num_layers": 2})
    config.out = str(tmp_path / "run")
    return config


def test_train_leaves_the_callers_config_as_it_was(tmp_path):
    config = tiny(tmp_path, epochs=1)
    before = copy.deepcopy(config)
    with contextlib.redirect_stdout(io.StringIO()):
        summary = train(config, progress=False)
    assert summary["steps"] == 3  # one pass: 48 images in batches of 16
    assert config == before, "max_steps, the models' shapes: nothing of the caller's changed"
    # The run records the resolved value (the image default), the caller keeps its null.
    assert before.max_steps is None and summary["config"]["max_steps"] == 1000


def test_statistics_read_every_few_steps_train_and_log_the_same(tmp_path):
    runs = {}
    for log_every in (None, 3):
        (tmp_path / str(log_every)).mkdir()
        config = tiny(tmp_path / str(log_every), max_steps=4, log_every=log_every)
        with contextlib.redirect_stdout(io.StringIO()):
            summary = train(config, progress=False)
        runs[log_every] = safe_load(summary["checkpoint"])
    for key in ("generator", "discriminator"):
        for name, value in runs[None][key].items():
            assert torch.equal(value, runs[3][key][name]), (key, name)
    assert runs[None]["loss_logs"] == runs[3]["loss_logs"]


def test_a_diverged_loss_read_at_a_flush_still_stops_before_the_checkpoint(tmp_path):
    config = tiny(tmp_path, max_steps=4, log_every=3, g_lr=1e38, d_lr=1e38)
    with (
        pytest.raises(TrainingDiverged, match="at step"),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        train(config, progress=False)

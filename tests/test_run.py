"""The one training recipe, called from Python: it leaves its configuration alone."""

from __future__ import annotations

import contextlib
import copy
import io

from torchgan_lstm import ModelSpec, RunConfig, train

from .conftest import write_idx_blobs


def test_train_leaves_the_callers_config_as_it_was(tmp_path):
    config = RunConfig(epochs=1, batch_size=16, eval_every=2, metric_samples=0, sample_size=4)
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
    before = copy.deepcopy(config)
    with contextlib.redirect_stdout(io.StringIO()):
        summary = train(config, progress=False)
    assert summary["steps"] == 3  # one pass: 48 images in batches of 16
    assert config == before, "max_steps, the models' shapes: nothing of the caller's changed"
    assert summary["config"]["max_steps"] == before.max_steps

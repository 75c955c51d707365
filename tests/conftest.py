"""Shared fixtures: small image sets made in the test, small models, a real TorchGAN Trainer."""

from __future__ import annotations

import pytest
import torch
from torch.optim import Adam

import torchgan_lstm  # noqa: F401  (applies the compat fixes, registers the models)
from torchgan_lstm.models import ConvDiscriminator, LSTMGenerator

# The test models are tiny: a second thread only adds synchronisation (and, on a busy machine,
# spinning) without speeding anything up.
torch.set_num_threads(1)

SMALL_SIZE = 16
SMALL_GENERATOR = {
    "encoding_dims": 16,
    "out_size": SMALL_SIZE,
    "out_channels": 1,
    "step_channels": 8,
    "hidden_size": 16,
    "num_layers": 2,
}
SMALL_DISCRIMINATOR = {
    "in_size": SMALL_SIZE,
    "in_channels": 1,
    "step_channels": 8,
    "num_layers": 2,
    "norm": "none",  # a critic for every loss, gradient penalties included
}


def blob_images(n: int, size: int = SMALL_SIZE, seed: int = 0) -> torch.Tensor:
    """``n`` grey images in [-1, 1] of a bright square at a random place on black."""
    g = torch.Generator().manual_seed(seed)
    images = -torch.ones(n, 1, size, size)
    corners = torch.randint(0, size // 2, (n, 2), generator=g)
    for img, (r, c) in zip(images, corners.tolist(), strict=True):
        img[:, r : r + size // 2, c : c + size // 2] = 1.0
    return images


@pytest.fixture
def blob_loader():
    """A DataLoader of 32 labelled 16x16 images in batches of 8 (4 steps an epoch)."""
    images = blob_images(32)
    labels = torch.arange(32) % 4
    dataset = torch.utils.data.TensorDataset(images, labels)
    return torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True, drop_last=True)


def model_config(generator_args: dict | None = None, discriminator_args: dict | None = None):
    """A TorchGAN ``Trainer`` models dict for a small LSTM generator and conv discriminator."""
    adam = {"name": Adam, "args": {"lr": 2e-4, "betas": (0.5, 0.999)}}
    return {
        "generator": {
            "name": LSTMGenerator,
            "args": {**SMALL_GENERATOR, **(generator_args or {})},
            "optimizer": adam,
        },
        "discriminator": {
            "name": ConvDiscriminator,
            "args": {**SMALL_DISCRIMINATOR, **(discriminator_args or {})},
            "optimizer": adam,
        },
    }


@pytest.fixture
def trainer_paths(tmp_path):
    """Keyword arguments that point a Trainer's outputs into ``tmp_path``."""
    return {
        "checkpoints": str(tmp_path / "model" / "gan"),
        "recon": str(tmp_path / "images"),
        "log_dir": str(tmp_path / "tb"),
    }


def write_idx_blobs(root, n: int = 48, size: int = SMALL_SIZE) -> str:
    """Write ``n`` blob images as an uncompressed Fashion-MNIST-style IDX train split; return
    the folder, for ``--data-root`` (a run on it needs no real dataset)."""
    import numpy as np

    images = ((blob_images(n, size) + 1) * 127.5).round().to(torch.uint8).numpy()
    labels = (np.arange(n) % 10).astype(np.uint8)
    header = np.array([0x00000803, n, size, size], dtype=">i4").tobytes()
    (root / "train-images-idx3-ubyte").write_bytes(header + images.tobytes())
    header = np.array([0x00000801, n], dtype=">i4").tobytes()
    (root / "train-labels-idx1-ubyte").write_bytes(header + labels.tobytes())
    return str(root)


SEQ_LEN, SEQ_FEATURES = 8, 3
# Flat overrides for the quality suite's runs (benchmarks.quality), small enough for a test.
TINY_QUALITY_RUN = {
    "hidden_size": 16, "g_step_channels": 8, "d_step_channels": 8, "encoding_dims": 16,
    "batch_size": 16, "metric_samples": 100, "max_steps": 4, "eval_every": 2, "device": "cpu",
}  # fmt: skip

SMALL_SEQUENCE_GENERATOR = {
    "encoding_dims": 4,
    "seq_len": SEQ_LEN,
    "features": SEQ_FEATURES,
    "hidden_size": 8,
    "num_layers": 2,
}
SMALL_SEQUENCE_DISCRIMINATORS = {
    "lstm": {"features": SEQ_FEATURES, "hidden_size": 8},
    "conv": {"features": SEQ_FEATURES, "step_channels": 4, "num_layers": 2, "kernel_size": 3},
}


def sine_batch(n: int, seq_len: int = SEQ_LEN, features: int = SEQ_FEATURES, seed: int = 0):
    """``n`` sequences ``(n, seq_len, features)`` in [0, 1] of TimeGAN's sines."""
    from torchgan_lstm.data import sines

    return torch.from_numpy(sines(n, seq_len, features, seed)).float()


@pytest.fixture
def sine_loader():
    """A DataLoader of 32 labelled sine sequences (8 steps, 3 features) in batches of 8."""
    dataset = torch.utils.data.TensorDataset(sine_batch(32), torch.arange(32) % 4)
    return torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True, drop_last=True)


def sequence_model_config(
    discriminator: str = "lstm",
    generator_args: dict | None = None,
    discriminator_args: dict | None = None,
):
    """A TorchGAN ``Trainer`` models dict for a small sequence generator and discriminator."""
    from torchgan_lstm.models import (
        ConvSequenceDiscriminator,
        LSTMSequenceDiscriminator,
        LSTMSequenceGenerator,
    )

    adam = {"name": Adam, "args": {"lr": 1e-3, "betas": (0.5, 0.999)}}
    classes = {"lstm": LSTMSequenceDiscriminator, "conv": ConvSequenceDiscriminator}
    return {
        "generator": {
            "name": LSTMSequenceGenerator,
            "args": {**SMALL_SEQUENCE_GENERATOR, **(generator_args or {})},
            "optimizer": adam,
        },
        "discriminator": {
            "name": classes[discriminator],
            "args": {**SMALL_SEQUENCE_DISCRIMINATORS[discriminator], **(discriminator_args or {})},
            "optimizer": adam,
        },
    }


# A sequence run small enough to train in a second: the command line's security tests sample,
# evaluate, export and resume it.
SINES_TINY = [
    "--data.dataset", "sines", "--max_steps", "2", "--eval_every", "2", "--metric_samples", "0",
    "--generator.hidden_size", "4", "--generator.global_noise_dims", "2",
    "--discriminator.step_channels", "4", "--batch_size", "16", "--progress", "false",
    "--device", "cpu",
]  # fmt: skip


def cli_exit(argv, capsys) -> tuple[int, str]:
    """Run ``torchgan-lstm`` in this process; return ``(exit status, stderr)``. A status of 2
    must come with exactly one line and no traceback."""
    from torchgan_lstm.app import cli

    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    if code == 2:
        assert err.count("\n") == 1 and "Traceback" not in err, err
    return code, err


def tree(folder) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sines_run(tmp_path_factory):
    """A finished tiny sines run folder (:data:`SINES_TINY`)."""
    from torchgan_lstm.app import cli

    out = tmp_path_factory.mktemp("sines") / "run"
    if cli.main(["train", *SINES_TINY, "--out", str(out)]) != 0:
        raise RuntimeError("the tiny sines run failed")
    return out


def tiny_image_run(folder, **settings):
    """Train a two-step run of tiny models on 48 blob images of 16 px into ``folder / "run"``
    (under a second on a CPU); return the path of its checkpoint."""
    import contextlib
    import io

    from torchgan_lstm import ModelSpec, RunConfig, train

    folder.mkdir(parents=True, exist_ok=True)
    config = RunConfig(batch_size=16, eval_every=2, max_steps=2, metric_samples=0, sample_size=4)
    config.data.root, config.data.image_size, config.data.download = (
        write_idx_blobs(folder),
        SMALL_SIZE,
        False,
    )
    config.generator = ModelSpec(
        "LSTMGenerator", {"hidden_size": 8, "step_channels": 4, "encoding_dims": 8}
    )
    config.discriminator = ModelSpec("ConvDiscriminator", {"step_channels": 4, "num_layers": 2})
    config.out = str(folder / "run")
    for name, value in settings.items():
        setattr(config, name, value)
    with contextlib.redirect_stdout(io.StringIO()):
        return train(config, progress=False)["checkpoint"]


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A real run checkpoint (LSTM generator with an average, conv critic, 16 px images)."""
    return tiny_image_run(tmp_path_factory.mktemp("tiny"))

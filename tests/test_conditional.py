"""Class-conditional models: projection critic, auxiliary classifier, minibatch features, the
real Trainer with TorchGAN's conditional and ACGAN losses, and samples of the asked class."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torchgan.layers import MinibatchDiscrimination1d
from torchgan.losses import (
    AuxiliaryClassifierDiscriminatorLoss,
    AuxiliaryClassifierGeneratorLoss,
    MinimaxDiscriminatorLoss,
    MinimaxGeneratorLoss,
    WassersteinDiscriminatorLoss,
    WassersteinGeneratorLoss,
    WassersteinGradientPenalty,
)
from torchgan.trainer import Trainer

from torchgan_lstm.data import DataNotFoundError, load_fashion_mnist
from torchgan_lstm.metrics.classifier import load_classifier, to_classifier_input
from torchgan_lstm.models import ConvDiscriminator, LSTMGenerator

from .conftest import SMALL_DISCRIMINATOR, model_config

K = 4  # the blob_loader's labels are arange(32) % 4
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_conditional_fashion_mnist.py"


def critic(**kwargs) -> ConvDiscriminator:
    torch.manual_seed(0)
    return ConvDiscriminator(**{**SMALL_DISCRIMINATOR, "dropout": 0.0, **kwargs})


@pytest.mark.parametrize("norm", ["none", "spectral"])
def test_projection_critic_adds_the_label_embedding_inner_product(norm):
    d = critic(label_type="required", num_classes=K, norm=norm).eval()
    x, y = torch.randn(6, 1, 16, 16), torch.tensor([0, 1, 2, 3, 0, 1])
    with torch.no_grad():
        pooled = d(x, feature_matching=True, y=y).sum(dim=(2, 3))
        unconditional = d.disc(d.model(x).flatten(1)).view(-1)
        expected = unconditional + (d.projection(y) * pooled).sum(dim=1)
        torch.testing.assert_close(d(x, y), expected)
        assert not torch.allclose(d(x, y), d(x, (y + 1) % K))  # the label changes the score
    if norm == "spectral":  # spectral norm covers the new parts too
        for module in (d.projection, d.aux, d.disc):
            assert parametrize.is_parametrized(module, "weight")


def test_auxiliary_classifier_head_is_reached_as_acgan_losses_call_it():
    d = critic(num_classes=K)  # unconditional critic with a classifier, as in ACGAN
    x = torch.randn(5, 1, 16, 16)
    assert d(x, mode="classifier").shape == (5, K)
    logits, classes = d(x, mode="both")
    assert logits.shape == (5,) and classes.shape == (5, K)
    assert d(x).shape == (5,)
    conditional = critic(label_type="required", num_classes=K)
    assert conditional(x, mode="classifier").shape == (5, K)  # ACGAN passes no labels here


@pytest.mark.parametrize(
    ("kwargs", "call", "match"),
    [
        ({"label_type": "required", "num_classes": K}, lambda d, x: d(x), "y is required"),
        (
            {"label_type": "required", "num_classes": K},
            lambda d, x: d(x, torch.tensor([0, 1, 4])),
            r"y must hold labels in \[0, 4\), got values in \[0, 4\]",
        ),
        (
            {"label_type": "required", "num_classes": K},
            lambda d, x: d(x, torch.tensor([0, -1, 2])),
            r"labels in \[0, 4\), got values in \[-1, 2\]",
        ),
        (
            {"label_type": "required", "num_classes": K},
            lambda d, x: d(x, torch.zeros(3)),
            "y must be an integer tensor",
        ),
        ({}, lambda d, x: d(x, torch.zeros(3, dtype=torch.long)), "label_type='none'"),
        ({}, lambda d, x: d(x, mode="classifier"), "build it with num_classes"),
        ({"num_classes": K}, lambda d, x: d(x, mode="aux"), "mode must be one of"),
    ],
)
def test_bad_labels_and_modes_are_clear_errors(kwargs, call, match):
    with pytest.raises(ValueError, match=match):
        call(critic(**kwargs), torch.randn(3, 1, 16, 16))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"label_type": "required"}, "needs num_classes"),
        ({"label_type": "generated", "num_classes": K}, "label_type must be one of"),
        ({"num_classes": 1}, "num_classes must be >= 2, got 1"),
        ({"minibatch_features": -1}, "minibatch_features must be >= 0, got -1"),
    ],
)
def test_bad_constructor_arguments_name_parameter_value_and_allowed(kwargs, match):
    with pytest.raises(ValueError, match=match):
        critic(**kwargs)


def test_conditional_generator_refuses_missing_and_out_of_range_labels():
    g = LSTMGenerator(16, 16, 1, 8, hidden_size=16, label_type="generated", num_classes=K)
    z, y = g.sampler(3, "cpu")
    assert g(z, y).shape == (3, 1, 16, 16)
    with pytest.raises(ValueError, match="y is required"):
        g(z)
    with pytest.raises(ValueError, match=r"labels in \[0, 4\), got values in \[-2, 1\]"):
        g(z, torch.tensor([-2, 0, 1]))


def test_minibatch_features_see_the_batch_and_pass_gradients():
    d = critic(minibatch_features=8)
    flat = d.disc.in_features - 8
    assert isinstance(d.minibatch, MinibatchDiscrimination1d) and d.minibatch.in_features == flat
    x = torch.randn(6, 1, 16, 16)
    out = d(x)
    assert out.shape == (6,)
    # Each image's logit depends on the other images of its batch (that is the layer's point).
    other = x.clone()
    other[1:] = torch.randn(5, 1, 16, 16)
    assert not torch.isclose(d(other)[0], out[0])
    out.sum().backward()
    grad = d.minibatch.T.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def _adam_step_changes(trainer, loader):
    names = ("generator", "discriminator")
    before = {n: dict(getattr(trainer, n).named_parameters()) for n in names}
    before = {n: {k: v.detach().clone() for k, v in p.items()} for n, p in before.items()}
    with contextlib.redirect_stdout(io.StringIO()):
        trainer(loader)
    return {
        f"{n}.{k}": not torch.equal(v, dict(getattr(trainer, n).named_parameters())[k])
        for n in names
        for k, v in before[n].items()
    }


ACGAN = [
    MinimaxGeneratorLoss,
    MinimaxDiscriminatorLoss,
    AuxiliaryClassifierGeneratorLoss,
    AuxiliaryClassifierDiscriminatorLoss,
]
WGAN_GP = [WassersteinGeneratorLoss, WassersteinDiscriminatorLoss, WassersteinGradientPenalty]
# name -> (generator label_type, discriminator args, loss classes)
CONDITIONAL_RUNS = {
    "acgan-generated": ("generated", {"num_classes": K}, ACGAN),
    "acgan-required-projection": ("required", {"label_type": "required", "num_classes": K}, ACGAN),
    "minimax-projection": (
        "required",
        {"label_type": "required", "num_classes": K},
        ACGAN[:2],
    ),
    "minimax-generated-projection-minibatch": (
        "generated",
        {"label_type": "required", "num_classes": K, "minibatch_features": 8},
        ACGAN[:2],
    ),
    "wgan-gp-projection-spectral": (
        "generated",
        {"label_type": "required", "num_classes": K, "norm": "spectral"},
        WGAN_GP,
    ),
}


@pytest.mark.parametrize("run", list(CONDITIONAL_RUNS))
@pytest.mark.parametrize("decoder", ["conv", "rows", "canvas"])
def test_trainer_drives_conditional_models_and_resumes(decoder, run, trainer_paths, blob_loader):
    g_label_type, d_args, loss_classes = CONDITIONAL_RUNS[run]
    g_args = {"decoder": decoder, "label_type": g_label_type, "num_classes": K}
    models = model_config(g_args, d_args)

    def build(epochs):
        torch.manual_seed(0)
        losses = [cls() for cls in loss_classes]
        return Trainer(models, losses, device=torch.device("cpu"), epochs=epochs, **trainer_paths)

    trainer = build(2)
    changed = _adam_step_changes(trainer, blob_loader)
    logs = trainer.logger.get_loss_viz().logs
    assert set(logs) == {cls.__name__ for cls in loss_classes}
    assert all(math.isfinite(v) for series in logs.values() for v in series)
    assert changed["generator.label_embedding.weight"]
    if "label_type" in d_args:
        projection = [k for k in changed if k.startswith("discriminator.projection.")]
        assert projection and all(changed[k] for k in projection)
    acgan = AuxiliaryClassifierGeneratorLoss in loss_classes
    aux = [k for k in changed if k.startswith("discriminator.aux.")]
    assert all(changed[k] for k in aux) == acgan  # only ACGAN's losses train the classifier
    if "minibatch_features" in d_args:
        assert changed["discriminator.minibatch.T"]

    resumed = build(3)
    with contextlib.redirect_stdout(io.StringIO()):
        resumed.load_model(trainer_paths["checkpoints"] + "1.model")
        resumed(blob_loader)
    assert resumed.loss_information["generator_iters"] > trainer.loss_information["generator_iters"]


FASHION_CLASSES = (1, 7, 0)  # trouser, sneaker, T-shirt: told apart even at 16x16


def test_conditional_model_trained_briefly_draws_the_asked_class(tmp_path):
    """Fashion-MNIST, 3 classes x 300 images at 16x16, 14 epochs; the package's classifier
    judges 100 samples per asked class (chance: 1/3)."""
    try:
        images, labels = load_fashion_mnist(None, "train")
    except DataNotFoundError:
        pytest.skip("Fashion-MNIST is not installed")
    keep = torch.cat([(labels == c).nonzero()[:300, 0] for c in FASHION_CLASSES])
    x = F.interpolate(
        images[keep].float().unsqueeze(1) / 127.5 - 1,
        size=(16, 16),
        antialias=True,
        mode="bilinear",
    )
    y = torch.arange(3).repeat_interleave(300)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True, drop_last=True
    )
    torch.manual_seed(0)
    models = model_config(
        {
            "label_type": "generated",
            "num_classes": 3,
            "step_channels": 16,
            "hidden_size": 32,
            "num_layers": 1,
        },
        {"label_type": "required", "num_classes": 3, "step_channels": 16, "dropout": 0.3},
    )
    for model in models.values():
        model["optimizer"]["args"]["lr"] = 1e-3
    trainer = Trainer(
        models,
        [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()],
        device=torch.device("cpu"),
        epochs=14,
        retain_checkpoints=1,
        checkpoints=str(tmp_path / "gan"),
        recon=str(tmp_path / "images"),
        log_dir=str(tmp_path / "tb"),
    )
    with contextlib.redirect_stdout(io.StringIO()):
        trainer(loader)

    generator, classifier = trainer.generator.eval(), load_classifier()
    asked = torch.arange(3).repeat_interleave(100)
    with torch.no_grad():
        samples = generator(torch.randn(len(asked), generator.encoding_dims), asked)
        predicted = classifier(to_classifier_input(samples))[:, list(FASHION_CLASSES)].argmax(1)
    shares = torch.stack([(predicted[asked == c] == c).float().mean() for c in range(3)])
    assert shares.mean() > 1 / 3 + 0.35, shares
    assert (shares > 1 / 3 + 0.15).all(), shares


def test_labels_on_an_accelerator_are_not_read_back_each_step():
    from torchgan_lstm._validation import check_labels

    # Reading a device tensor's min/max syncs the host with the device at every step; only
    # labels on the CPU (free to read) are range-checked. "meta" stands in for a GPU here.
    on_device = torch.full((2,), 7, device="meta")
    assert check_labels("y", on_device, 2, 3) is on_device
    with pytest.raises(ValueError, match=r"labels in \[0, 3\), got values in \[7, 7\]"):
        check_labels("y", torch.full((2,), 7), 2, 3)


def _run_example(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_conditional_example_trains_and_scores_the_asked_classes(tmp_path):
    """The example end to end on a slice of real Fashion-MNIST: TorchGAN's Trainer, the class
    grid, and the classifier's share of samples on the asked class for every class."""
    try:
        load_fashion_mnist(None, "train")
    except DataNotFoundError:
        pytest.skip("Fashion-MNIST is not installed")
    out = tmp_path / "run"
    done = _run_example("--out", str(out), "--epochs", "1", "--limit", "640", "--judge", "8")
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads((out / "scores.json").read_text())
    assert len(scores["per_class"]) == 10
    assert all(0 <= share <= 1 for share in scores["per_class"].values())
    assert scores["asked_class_share"] == pytest.approx(sum(scores["per_class"].values()) / 10)
    assert (out / "classes.png").is_file()
    assert "share of samples the classifier puts on the asked class" in done.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [(("--critic-dropout", "1.5"), "--critic-dropout"), (("--judge", "0"), "--judge")],
)
def test_conditional_example_refuses_bad_options_before_training(args, named):
    done = _run_example(*args)
    assert done.returncode == 2
    assert named in done.stderr.splitlines()[-1]

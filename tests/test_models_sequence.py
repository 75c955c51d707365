"""Sequence GANs: shapes, roll-outs, conditioning, and TorchGAN's Trainer driving them unchanged."""

from __future__ import annotations

import math

import pytest
import torch
import torchgan.models
from torch.nn.utils import parametrize
from torchgan.trainer import ParallelTrainer, Trainer

from torchgan_lstm import get_model, list_models
from torchgan_lstm.losses import build_losses
from torchgan_lstm.models import (
    ConvSequenceDiscriminator,
    LSTMSequenceDiscriminator,
    LSTMSequenceGenerator,
)
from torchgan_lstm.models.conv_sequence import whitening

from .conftest import (
    SEQ_FEATURES,
    SEQ_LEN,
    SMALL_SEQUENCE_DISCRIMINATORS,
    SMALL_SEQUENCE_GENERATOR,
    sequence_model_config,
    sine_batch,
)


def generator(**args) -> LSTMSequenceGenerator:
    torch.manual_seed(0)
    return LSTMSequenceGenerator(**{**SMALL_SEQUENCE_GENERATOR, **args})


def discriminator(kind: str, **args):
    classes = {"lstm": LSTMSequenceDiscriminator, "conv": ConvSequenceDiscriminator}
    return classes[kind](**{**SMALL_SEQUENCE_DISCRIMINATORS[kind], **args})


def test_models_are_registered_and_set_on_torchgan_models():
    names = set(list_models())
    assert {
        "lstm_sequence_generator",
        "lstm_sequence_discriminator",
        "conv_sequence_discriminator",
    } <= names
    assert isinstance(get_model("lstm_sequence_generator", features=2), LSTMSequenceGenerator)
    assert torchgan.models.LSTMSequenceGenerator is LSTMSequenceGenerator
    assert torchgan.models.ConvSequenceDiscriminator is ConvSequenceDiscriminator


def test_sampler_gives_noise_at_every_step_and_forward_returns_unit_range_sequences():
    g = generator()
    (z,) = g.sampler(5, "cpu")
    assert z.shape == (5, SEQ_LEN, 4)
    x = g(z)
    assert x.shape == (5, SEQ_LEN, SEQ_FEATURES)
    assert x.min() >= 0 and x.max() <= 1


def test_rolls_out_any_length_from_the_noise_length():
    g = generator()
    assert g(*g.sampler(3, "cpu", seq_len=50)).shape == (3, 50, SEQ_FEATURES)
    assert g(torch.randn(2, 1, 4)).shape == (2, 1, SEQ_FEATURES)
    # The recurrence is causal: a longer roll-out starts as the shorter one.
    (z,) = g.sampler(2, "cpu", seq_len=30)
    torch.testing.assert_close(g(z)[:, :SEQ_LEN], g(z[:, :SEQ_LEN]))


def test_flat_noise_as_torchgan_losses_draw_it_is_the_per_step_noise_and_global_vector():
    g = generator(global_noise_dims=3)
    assert g.encoding_dims == SEQ_LEN * 4 + 3
    flat = torch.randn(2, g.encoding_dims)
    steps = flat[:, : SEQ_LEN * 4].view(2, SEQ_LEN, 4)
    shared = flat[:, SEQ_LEN * 4 :].unsqueeze(1).expand(-1, SEQ_LEN, -1)
    torch.testing.assert_close(g(flat), g(torch.cat([steps, shared], dim=2)))


def test_global_noise_is_the_same_at_every_step_and_changes_every_step():
    g = generator(global_noise_dims=3)
    (z,) = g.sampler(4, "cpu")
    assert z.shape == (4, SEQ_LEN, 7)
    assert torch.equal(z[:, :1, 4:].expand(-1, SEQ_LEN, -1), z[:, :, 4:])
    changed = z.clone()
    changed[:, :, 4:] += 1.0
    assert not torch.allclose(g(z)[:, 0], g(changed)[:, 0])


def test_noise_initial_state_starts_each_sequence_from_its_global_noise():
    zeros = generator(global_noise_dims=3)
    noise = generator(global_noise_dims=3, initial_state="noise")
    states = []
    noise.lstm.register_forward_hook(lambda _m, args, _out: states.append(args[1]))
    zeros_states = []
    zeros.lstm.register_forward_hook(lambda _m, args, _out: zeros_states.append(args[1]))
    (z,) = noise.sampler(4, "cpu")
    x = noise(z)
    zeros(z)
    assert x.shape == (4, SEQ_LEN, SEQ_FEATURES)
    assert zeros_states == [None]
    h, c = states[0]
    assert h.shape == c.shape == (2, 4, 8)  # (num_layers, batch, hidden_size)
    assert h.abs().max() < 1 and not torch.allclose(h[:, 0], h[:, 1])
    # The state reads the global vector only: other step noise leaves the first step's state.
    changed = z.clone()
    changed[:, :, :4] += 1.0
    noise(changed)
    torch.testing.assert_close(states[1], states[0])
    changed[:, :, 4:] += 1.0
    noise(changed)
    assert not torch.allclose(states[2][0], h)
    # Flat noise as TorchGAN's losses draw it means the same sequences.
    flat = torch.cat([z[:, :, :4].flatten(1), z[:, 0, 4:]], dim=1)
    torch.testing.assert_close(noise(flat), x)
    # Longer roll-outs still start as the shorter ones.
    (long_z,) = noise.sampler(2, "cpu", seq_len=30)
    torch.testing.assert_close(noise(long_z)[:, :SEQ_LEN], noise(long_z[:, :SEQ_LEN]))


def test_noise_initial_state_needs_a_global_noise_vector_and_a_known_name():
    with pytest.raises(ValueError, match=r"initial_state='noise' .* needs global_noise_dims > 0"):
        LSTMSequenceGenerator(initial_state="noise")
    with pytest.raises(ValueError, match="initial_state must be one of 'zeros', 'noise'"):
        LSTMSequenceGenerator(global_noise_dims=2, initial_state="learned")


def test_one_fused_lstm_call_per_forward():
    g = generator()
    calls = []
    g.lstm.register_forward_hook(lambda *_: calls.append(1))
    g(*g.sampler(2, "cpu", seq_len=40))
    assert calls == [1]


def test_generator_refuses_bad_arguments_and_inputs_by_name():
    with pytest.raises(ValueError, match="seq_len must be >= 2, got 1"):
        LSTMSequenceGenerator(seq_len=1)
    with pytest.raises(ValueError, match="label_type='generated' needs num_classes"):
        LSTMSequenceGenerator(label_type="generated")
    with pytest.raises(ValueError, match="dropout acts between LSTM layers"):
        LSTMSequenceGenerator(num_layers=1, dropout=0.2)
    g = generator()
    with pytest.raises(ValueError, match=r"z must have shape \(batch, steps, 4\) or flat"):
        g(torch.randn(2, 5))
    with pytest.raises(ValueError, match="y was given"):
        g(torch.randn(2, SEQ_LEN, 4), torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("label_type", ["generated", "required"])
def test_conditional_generator_needs_labels_and_follows_them(label_type):
    g = generator(label_type=label_type, num_classes=3)
    z, y = g.sampler(6, "cpu")
    assert y.shape == (6,) and y.min() >= 0 and y.max() < 3
    with pytest.raises(ValueError, match="y is required"):
        g(z)
    zeros, twos = torch.zeros(6, dtype=torch.long), torch.full((6,), 2)
    assert not torch.allclose(g(z, zeros), g(z, twos))


@pytest.mark.parametrize("kind", ["lstm", "conv"])
def test_discriminators_score_each_sequence_of_any_length(kind):
    d = discriminator(kind)
    assert d(torch.rand(5, SEQ_LEN, SEQ_FEATURES)).shape == (5,)
    assert d(torch.rand(2, 31, SEQ_FEATURES)).shape == (2,)
    with pytest.raises(ValueError, match=rf"x must have shape \(batch, seq_len, {SEQ_FEATURES}\)"):
        d(torch.rand(5, SEQ_LEN, SEQ_FEATURES + 1))


def test_lstm_discriminator_averages_per_step_logits_and_reads_both_directions():
    d = discriminator("lstm", bidirectional=True)
    x = torch.rand(3, SEQ_LEN, SEQ_FEATURES)
    features = d(x, feature_matching=True)
    assert features.shape == (3, SEQ_LEN, 2 * 8)
    torch.testing.assert_close(d(x), d.recurrence.readout(features).squeeze(2).mean(dim=1))
    # The backward direction makes the first step's output depend on the last step's input.
    changed = x.clone()
    changed[:, -1] += 1
    assert not torch.allclose(
        d(x, feature_matching=True)[:, 0], d(changed, feature_matching=True)[:, 0]
    )


def test_conv_discriminator_feature_map_and_norms():
    d = discriminator("conv")
    assert d(torch.rand(2, SEQ_LEN, SEQ_FEATURES), feature_matching=True).shape == (2, 8, SEQ_LEN)
    spectral = discriminator("conv", norm="spectral")
    convs = [m for m in spectral.modules() if isinstance(m, torch.nn.Conv1d)]
    assert convs and all(parametrize.is_parametrized(m, "weight") for m in convs)
    layer = discriminator("conv", norm="layer")
    assert any(isinstance(m, torch.nn.GroupNorm) for m in layer.modules())
    with pytest.raises(ValueError, match="norm must be one of 'none', 'spectral', 'layer'"):
        discriminator("conv", norm="batch")
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        discriminator("conv", kernel_size=4)


def correlated_sequences(n: int = 64) -> torch.Tensor:
    """Three features that move together and differ by little, like a stock's prices."""
    torch.manual_seed(0)
    level = torch.rand(n, 1, 1) + 0.02 * torch.randn(n, SEQ_LEN, 1).cumsum(1)
    return level + 0.005 * torch.randn(n, SEQ_LEN, SEQ_FEATURES)


def test_whitening_scales_small_differences_up_to_unit_variance_above_the_floor():
    x = correlated_sequences()
    mean, transform = whitening(x, floor=1e-9)
    white = (x - mean) @ transform
    flat = white.reshape(-1, SEQ_FEATURES)
    torch.testing.assert_close(torch.cov(flat.T), torch.eye(SEQ_FEATURES), atol=1e-3, rtol=0)
    # The floor caps the gain of the near-empty directions relative to the main one.
    _, capped = whitening(x, floor=0.01)
    gains = torch.linalg.eigvalsh(capped)
    assert gains.max() / gains.min() <= 10 + 1e-4


def test_whitened_conv_discriminator_needs_fitting_then_reads_whitened_input():
    d = discriminator("conv", input_norm="whiten", whitening_floor=1e-6)
    x = correlated_sequences()
    with pytest.raises(ValueError, match=r"call fit_input_whitening\(real sequences\)"):
        d(x)
    assert d.fit_input_whitening(x) is d
    plain = discriminator("conv")
    plain.load_state_dict({k: v for k, v in d.state_dict().items() if not k.startswith("input_")})
    torch.testing.assert_close(d(x), plain((x - d.input_mean) @ d.input_transform))
    # The statistics travel with the state dict (checkpoints).
    copy = discriminator("conv", input_norm="whiten")
    copy.load_state_dict(d.state_dict())
    assert bool(copy.input_fitted)
    torch.testing.assert_close(copy(x), d(x))


def test_whitening_arguments_are_checked_by_name():
    with pytest.raises(ValueError, match="input_norm must be one of 'none', 'whiten', got 'pca'"):
        discriminator("conv", input_norm="pca")
    with pytest.raises(ValueError, match=r"whitening_floor must be in \(0, 1\], got 0"):
        discriminator("conv", whitening_floor=0)
    with pytest.raises(ValueError, match="fit_input_whitening needs input_norm='whiten'"):
        discriminator("conv").fit_input_whitening(correlated_sequences())
    with pytest.raises(ValueError, match=r"sequences must have shape \(batch, seq_len, 3\)"):
        discriminator("conv", input_norm="whiten").fit_input_whitening(torch.rand(4, 8, 2))


def test_packed_sequence_critic_scores_consecutive_sequences_stacked_along_the_features():
    """PacGAN's packing on sequences: ``pack=2`` is a critic of twice the features fed each pair
    of consecutive sequences side by side, weight for weight, after the whitening of each."""
    x = correlated_sequences(12)
    torch.manual_seed(5)
    packed = discriminator("conv", pack=2, input_norm="whiten").fit_input_whitening(x)
    torch.manual_seed(5)
    stacked = discriminator("conv", features=2 * SEQ_FEATURES)
    assert packed.model[0].in_channels == 2 * SEQ_FEATURES
    weights = {k: v for k, v in packed.state_dict().items() if not k.startswith("input_")}
    stacked.load_state_dict(weights)
    white = (x - packed.input_mean) @ packed.input_transform
    pairs = white.view(6, 2, SEQ_LEN, SEQ_FEATURES).permute(0, 2, 1, 3).reshape(6, SEQ_LEN, -1)
    assert packed(x).shape == (6,)
    torch.testing.assert_close(packed(x), stacked(pairs))
    assert packed(x, feature_matching=True).shape[0] == 6
    # A logit depends on its own group only.
    changed = x.clone()
    changed[3] = torch.rand(SEQ_LEN, SEQ_FEATURES)
    before, after = packed(x), packed(changed)
    assert torch.equal(before[[0, 2, 3, 4, 5]], after[[0, 2, 3, 4, 5]])
    assert not torch.equal(before[1], after[1])


def test_packed_sequence_critic_refuses_what_it_cannot_pack():
    with pytest.raises(ValueError, match="x's batch size must be a multiple of pack=3, got 4"):
        discriminator("conv", pack=3)(torch.rand(4, SEQ_LEN, SEQ_FEATURES))
    with pytest.raises(ValueError, match="pack must be >= 1, got 0"):
        discriminator("conv", pack=0)
    with pytest.raises(ValueError, match="pack=2 judges sequences in groups, so it needs an "):
        discriminator("conv", pack=2, label_type="required", num_classes=3)


@pytest.mark.parametrize("kind", ["lstm", "conv"])
def test_conditional_discriminators_use_the_labels(kind):
    d = discriminator(kind, label_type="required", num_classes=3)
    torch.nn.init.normal_(d.label_embedding.weight if kind == "lstm" else d.projection.weight)
    x = torch.rand(4, SEQ_LEN, SEQ_FEATURES)
    assert not torch.allclose(d(x, torch.zeros(4, dtype=torch.long)), d(x, torch.full((4,), 2)))
    with pytest.raises(ValueError, match="y is required"):
        d(x)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        d(x, torch.full((4,), 3))


def test_lstm_critic_has_an_input_gradient_for_the_gradient_penalty():
    d = discriminator("lstm")
    x = torch.rand(4, SEQ_LEN, SEQ_FEATURES, requires_grad=True)
    (grad,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    grad.norm().backward()  # the double backward WGAN-GP needs
    assert all(p.grad is not None for p in d.lstm.parameters())


# name -> (loss family, discriminator, its arguments): the tested matrix.
LOSSES = {
    "minimax-lstm": ("minimax", "lstm", {}),
    "minimax-conv": ("minimax", "conv", {"norm": "none"}),
    "minimax-conv-pack2": ("minimax", "conv", {"pack": 2}),
    "wgan-gp-lstm": ("wgan-gp", "lstm", {}),
    "wgan-gp-conv-spectral": ("wgan-gp", "conv", {"norm": "spectral"}),
    "wgan-gp-conv-none": ("wgan-gp", "conv", {"norm": "none"}),
    "wgan-gp-conv-pack2": ("wgan-gp", "conv", {"norm": "none", "pack": 2}),
    "lsgan-lstm-bidirectional": ("lsgan", "lstm", {"bidirectional": True}),
    "lsgan-conv-layer": ("lsgan", "conv", {"norm": "layer"}),
    "hinge-lstm": ("hinge", "lstm", {}),
    "hinge-conv-spectral": ("hinge", "conv", {"norm": "spectral"}),
    "feature-matching-lstm": ("feature-matching", "lstm", {}),
    "feature-matching-conv": ("feature-matching", "conv", {}),
}


def build(paths, family, kind, d_args, epochs=2, g_args=None):
    torch.manual_seed(0)
    return Trainer(
        sequence_model_config(kind, {"global_noise_dims": 2, **(g_args or {})}, d_args),
        build_losses(family),
        device=torch.device("cpu"),
        epochs=epochs,
        sample_size=4,
        **paths,
    )


def _flat(values):
    for v in values:
        yield from (v if isinstance(v, tuple) else (v,))


@pytest.mark.filterwarnings("ignore:generator makes samples")
@pytest.mark.parametrize("name", list(LOSSES))
def test_trainer_trains_each_loss_and_resumes_from_its_checkpoint(name, trainer_paths, sine_loader):
    family, kind, d_args = LOSSES[name]
    trainer = build(trainer_paths, family, kind, d_args)
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    trainer(sine_loader)

    logs = trainer.logger.get_loss_viz().logs
    assert set(logs) == {type(loss).__name__ for loss in build_losses(family)}
    values = list(_flat(v for series in logs.values() for v in series))
    assert values and all(math.isfinite(v) for v in values)
    after = list(trainer.generator.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))

    resumed = build(trainer_paths, family, kind, d_args, epochs=3)
    resumed.load_model(trainer_paths["checkpoints"] + "1.model")
    assert resumed.start_epoch == 2
    for a, b in zip(trainer.generator.parameters(), resumed.generator.parameters(), strict=True):
        assert torch.equal(a, b)
    resumed(sine_loader)
    assert resumed.loss_information["generator_iters"] > trainer.loss_information["generator_iters"]


@pytest.mark.filterwarnings("ignore:generator makes samples")
def test_trainer_trains_the_noise_initial_state_and_resumes_it_exactly(trainer_paths, sine_loader):
    g_args = {"initial_state": "noise"}
    trainer = build(trainer_paths, "minimax", "conv", {}, epochs=1, g_args=g_args)
    before = trainer.generator.recurrence.initial_state.weight.detach().clone()
    trainer(sine_loader)
    after = trainer.generator.recurrence.initial_state.weight
    assert not torch.equal(before, after)
    resumed = build(trainer_paths, "minimax", "conv", {}, epochs=2, g_args=g_args)
    resumed.load_model(trainer_paths["checkpoints"] + "0.model")
    torch.testing.assert_close(
        resumed.generator.recurrence.initial_state.weight, after, rtol=0, atol=0
    )
    resumed(sine_loader)
    assert resumed.loss_information["generator_iters"] > trainer.loss_information["generator_iters"]


@pytest.mark.filterwarnings("ignore:generator makes samples")
def test_trainer_trains_a_whitened_critic_and_resumes_its_statistics(trainer_paths, sine_loader):
    d_args = {"input_norm": "whiten"}
    trainer = build(trainer_paths, "minimax", "conv", d_args, epochs=1)
    trainer.discriminator.fit_input_whitening(sine_batch(32))
    transform = trainer.discriminator.input_transform.clone()
    trainer(sine_loader)
    torch.testing.assert_close(trainer.discriminator.input_transform, transform, rtol=0, atol=0)
    resumed = build(trainer_paths, "minimax", "conv", d_args, epochs=2)
    resumed.load_model(trainer_paths["checkpoints"] + "0.model")
    assert bool(resumed.discriminator.input_fitted)
    torch.testing.assert_close(resumed.discriminator.input_transform, transform, rtol=0, atol=0)
    resumed(sine_loader)
    assert resumed.loss_information["generator_iters"] > trainer.loss_information["generator_iters"]


@pytest.mark.filterwarnings("ignore:generator makes samples")
@pytest.mark.parametrize(
    ("kind", "g_label_type"),
    [("lstm", "generated"), ("lstm", "required"), ("conv", "generated"), ("conv", "required")],
)
def test_trainer_trains_conditional_models(kind, g_label_type, trainer_paths, sine_loader):
    classes = {"label_type": "required", "num_classes": 4}
    trainer = build(
        trainer_paths,
        "minimax",
        kind,
        classes,
        epochs=1,
        g_args={"label_type": g_label_type, "num_classes": 4},
    )
    before = trainer.generator.label_embedding.weight.detach().clone()
    trainer(sine_loader)
    assert not torch.equal(before, trainer.generator.label_embedding.weight)
    z, y = trainer.generator.sampler(4, "cpu")
    assert trainer.discriminator(trainer.generator(z, y), y).shape == (4,)


def test_trainer_refuses_classes_that_disagree(trainer_paths):
    with pytest.raises(ValueError, match="num_classes=3 but the discriminator has num_classes=4"):
        build(
            trainer_paths,
            "minimax",
            "lstm",
            {"label_type": "required", "num_classes": 4},
            g_args={"label_type": "generated", "num_classes": 3},
        )


@pytest.mark.filterwarnings("ignore:generator makes samples")
@pytest.mark.parametrize("kind", ["lstm", "conv"])
def test_parallel_trainer_wraps_the_recurrence_and_still_trains(kind, trainer_paths, sine_loader):
    # TorchGAN's ParallelTrainer wraps every child module in nn.DataParallel (on the CPU a
    # pass-through): the LSTM must sit in a child that runs it, and stay reachable.
    torch.manual_seed(0)
    trainer = ParallelTrainer(
        sequence_model_config(
            kind,
            {"label_type": "generated", "num_classes": 4},
            {"label_type": "required", "num_classes": 4},
        ),
        build_losses("wgan-gp"),
        devices=[torch.device("cpu")],
        epochs=1,
        sample_size=4,
        **trainer_paths,
    )
    assert isinstance(trainer.generator.recurrence, torch.nn.DataParallel)
    assert isinstance(trainer.generator.lstm, torch.nn.LSTM)
    trainer(sine_loader)
    assert trainer.loss_information["generator_iters"] == 4

"""ConvDiscriminator: logits, features, norms, gradient penalty, bad input."""

from __future__ import annotations

import pytest
import torch
from torchgan.losses import wasserstein_gradient_penalty
from torchgan.models import Discriminator

from torchgan_lstm.losses import LOSS_FAMILIES, build_losses
from torchgan_lstm.models import ConvDiscriminator

NORMS = ["none", "batch", "spectral", "layer"]


@pytest.mark.parametrize("norm", NORMS)
def test_returns_one_logit_per_image(norm):
    d = ConvDiscriminator(in_size=16, in_channels=1, step_channels=8, num_layers=3, norm=norm)
    assert isinstance(d, Discriminator)
    out = d(torch.randn(5, 1, 16, 16) * 3)
    assert out.shape == (5,)
    assert not any(isinstance(m, torch.nn.Sigmoid | torch.nn.Tanh) for m in d.modules())


def test_default_is_dcgans_stack_at_half_width_32_64_128_with_its_batch_norm():
    d = ConvDiscriminator(in_size=32, in_channels=1)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    norms = [m for m in d.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert [n.num_features for n in norms] == [64, 128], "none on the input layer"
    assert not any(isinstance(m, torch.nn.Dropout) for m in d.modules())


@pytest.mark.parametrize("norm", NORMS)
def test_kaiming_read_out_starts_as_torchgans_read_out_convolution(norm):
    """TorchGAN initialises its 4x4 read-out convolution Kaiming-normal; ``readout_init="kaiming"``
    (the default) starts the linear read-out the same way (std sqrt(2 / fan_in)), ``"pytorch"`` at
    nn.Linear's own, 2.4x smaller. The read-out has a bias unless batch norm precedes it."""
    torch.manual_seed(0)
    for init, std in (("kaiming", (2 / 4096) ** 0.5), ("pytorch", (1 / (3 * 4096)) ** 0.5)):
        d = ConvDiscriminator(
            in_size=32, in_channels=1, step_channels=64, norm=norm, readout_init=init
        )
        weight = d.disc.parametrizations.weight.original if norm == "spectral" else d.disc.weight
        assert weight.shape == (1, 256 * 4 * 4)
        assert weight.std().item() == pytest.approx(std, rel=0.05), init
        assert (d.disc.bias is None) == (norm == "batch")
        if d.disc.bias is not None:
            assert (d.disc.bias.abs().max().item() == 0) == (init == "kaiming")
    assert ConvDiscriminator(in_size=16, readout_bias=True).disc.bias is not None
    assert ConvDiscriminator(in_size=16, norm="none", readout_bias=False).disc.bias is None


def _torchgan_names(name: str) -> str:
    """The name of our parameter or buffer in TorchGAN's DCGANDiscriminator."""
    return "disc.0.weight" if name == "disc.weight" else name


@pytest.mark.parametrize("size", [16, 32, 64])
def test_defaults_are_torchgans_dcgan_discriminator_from_the_same_seed_to_the_bit(size):
    """Where TorchGAN's DCGANDiscriminator is defined, ours with its defaults draws the same
    initial weights from the same seed and computes the same logits and gradients, bit for bit:
    it trains exactly as TorchGAN's does."""
    from torchgan.models import DCGANDiscriminator

    layers = size.bit_length() - 3  # TorchGAN's stack ends at a 4x4 map
    torch.manual_seed(7)
    ours = ConvDiscriminator(in_size=size, in_channels=1, step_channels=8, num_layers=layers)
    torch.manual_seed(7)
    theirs = DCGANDiscriminator(size, 1, step_channels=8)
    state = theirs.state_dict()
    for name, tensor in ours.state_dict().items():
        assert torch.equal(tensor.flatten(), state[_torchgan_names(name)].flatten()), name
    assert len(ours.state_dict()) == len(state)
    x = torch.randn(6, 1, size, size) * 2
    out, expected = ours(x), theirs(x)
    assert torch.equal(out, expected)
    assert (expected < 0).any(), "a negative logit, where the LeakyReLU acts"
    out.square().sum().backward()
    expected.square().sum().backward()
    grads = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        assert torch.equal(param.grad.flatten(), grads[_torchgan_names(name)].grad.flatten()), name


def test_raw_logits_are_torchgans_with_an_identity_last_nonlinearity():
    from torchgan.models import DCGANDiscriminator

    torch.manual_seed(0)
    ours = ConvDiscriminator(in_size=32, in_channels=1, step_channels=8, logit_nonlinearity="none")
    torch.manual_seed(0)
    theirs = DCGANDiscriminator(32, 1, step_channels=8, last_nonlinearity=torch.nn.Identity())
    x = torch.randn(6, 1, 32, 32)
    assert torch.equal(ours(x), theirs(x))


def test_a_projection_critic_keeps_raw_logits_by_default():
    """TorchGAN's LeakyReLU on the logit by default, but not on a projection critic's sum."""
    assert ConvDiscriminator(in_size=16).logit_nonlinearity == "leaky_relu"
    assert ConvDiscriminator(in_size=16, num_classes=3).logit_nonlinearity == "leaky_relu"
    projection = ConvDiscriminator(in_size=16, label_type="required", num_classes=3)
    assert projection.logit_nonlinearity == "none"
    leaky = ConvDiscriminator(
        in_size=16, label_type="required", num_classes=3, logit_nonlinearity="leaky_relu"
    )
    assert leaky.logit_nonlinearity == "leaky_relu"


def test_a_checkpoint_with_a_read_out_bias_names_the_setting_that_loads_it():
    saved = ConvDiscriminator(in_size=16, readout_bias=True).state_dict()
    with pytest.raises(ValueError, match=r"readout_bias=True .*--discriminator.readout_bias true"):
        ConvDiscriminator(in_size=16).load_state_dict(saved)
    ConvDiscriminator(in_size=16, readout_bias=True).load_state_dict(saved)


@pytest.mark.parametrize("size", [8, 13, 28, (20, 36)])
def test_any_size_from_8(size):
    d = ConvDiscriminator(in_size=size, in_channels=3, step_channels=4)
    h, w = (size, size) if isinstance(size, int) else size
    assert d(torch.randn(2, 3, h, w)).shape == (2,)


def test_feature_matching_returns_last_hidden_map():
    d = ConvDiscriminator(in_size=32, in_channels=1, step_channels=8, num_layers=3)
    feats = d(torch.randn(2, 1, 32, 32), feature_matching=True)
    assert feats.shape == (2, 32, 4, 4)


@pytest.mark.parametrize("norm", ["none", "spectral", "layer"])
def test_gradient_penalty_double_backward_reaches_the_weights(norm):
    torch.manual_seed(0)
    d = ConvDiscriminator(in_size=16, in_channels=1, step_channels=8, norm=norm, dropout=0.0)
    x = torch.randn(4, 1, 16, 16, requires_grad=True)
    penalty = wasserstein_gradient_penalty(x, d(x))
    penalty.backward()
    # d(x)/dx does not depend on the read-out's bias; every weight matrix must get a gradient.
    grads = [p.grad for p in d.parameters() if p.dim() > 1]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_spectral_norm_bounds_each_weights_top_singular_value():
    torch.manual_seed(0)
    d = ConvDiscriminator(in_size=16, in_channels=1, step_channels=8, norm="spectral")
    d.train()
    for _ in range(20):  # power iterations converge
        d(torch.randn(2, 1, 16, 16))
    for m in d.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear):
            sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
            assert sigma == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"norm": "instance"}, "norm must be one of 'none', 'batch', 'spectral', 'layer', got 'in"),
        ({"label_type": "generated"}, "label_type must be one of 'none'"),
        ({"in_size": 6}, "in_size must be >= 8, got 6"),
        ({"in_size": 16, "num_layers": 5}, r"in_size must be >= 2\*\*num_layers = 32"),
        ({"in_channels": 0}, "in_channels must be >= 1, got 0"),
        ({"step_channels": -2}, "step_channels must be >= 1, got -2"),
        ({"num_layers": 0}, "num_layers must be >= 1, got 0"),
        ({"dropout": -0.1}, r"dropout must be in \[0, 1\), got -0.1"),
        ({"readout_init": "xavier"}, "readout_init must be one of 'kaiming', 'pytorch', got 'x"),
        ({"logit_nonlinearity": "tanh"}, "logit_nonlinearity must be one of 'none', 'leaky_relu'"),
        ({"readout_bias": "yes"}, "readout_bias must be True, False or None, got 'yes'"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvDiscriminator(**{"in_size": 16, **kwargs})


def test_bad_forward_input_names_expected_and_actual_shape():
    d = ConvDiscriminator(in_size=16, in_channels=1)
    with pytest.raises(
        ValueError, match=r"x must have shape \(batch, 1, 16, 16\), got \(2, 3, 16, 16\)"
    ):
        d(torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match=r"got \(1, 16, 16\)"):
        d(torch.randn(1, 16, 16))


def test_batch_norm_leaves_the_input_layer_alone():
    """DCGAN's discriminator (Radford et al.): no batch norm on the input layer."""
    ours = ConvDiscriminator(in_size=32, in_channels=1, step_channels=8)
    first = ours.model[0]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in first)
    assert first[0].bias is not None
    assert all(isinstance(block[1], torch.nn.BatchNorm2d) for block in ours.model[1:])


def test_torchgans_trainer_trains_ours_exactly_as_torchgans_dcgan_discriminator(
    blob_loader, tmp_path
):
    """Two epochs of TorchGAN's Trainer with DCGAN's generator against each critic, same seed:
    the same losses and the same generator, bit for bit."""
    from torchgan.losses import MinimaxDiscriminatorLoss, MinimaxGeneratorLoss
    from torchgan.models import DCGANDiscriminator, DCGANGenerator
    from torchgan.trainer import Trainer

    adam = {"name": torch.optim.Adam, "args": {"lr": 2e-4, "betas": (0.5, 0.999)}}
    critics = {
        "ours": (ConvDiscriminator, {"in_size": 16, "in_channels": 1, "num_layers": 2}),
        "theirs": (DCGANDiscriminator, {"in_size": 16, "in_channels": 1}),
    }
    results = {}
    for name, (critic, args) in critics.items():
        torch.manual_seed(0)
        models = {
            "generator": {
                "name": DCGANGenerator,
                "args": {
                    "encoding_dims": 16,
                    "out_size": 16,
                    "out_channels": 1,
                    "step_channels": 8,
                },
                "optimizer": adam,
            },
            "discriminator": {
                "name": critic,
                "args": {**args, "step_channels": 8},
                "optimizer": adam,
            },
        }
        trainer = Trainer(
            models,
            [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()],
            device=torch.device("cpu"),
            epochs=2,
            sample_size=8,
            checkpoints=str(tmp_path / name / "gan"),
            recon=str(tmp_path / name / "images"),
            log_dir=str(tmp_path / name / "tb"),
        )
        trainer(blob_loader)
        results[name] = (
            trainer.loss_information,
            torch.cat([p.detach().flatten() for p in trainer.generator.parameters()]),
        )
    (ours_losses, ours_weights), (their_losses, their_weights) = results["ours"], results["theirs"]
    assert ours_losses == their_losses
    assert torch.equal(ours_weights, their_weights)
    assert ours_losses["generator_iters"] == 8


def test_pack_scores_each_group_of_consecutive_images_as_one_stacked_image():
    """PacGAN's packing: ``pack=2`` is a critic of 2-channel images fed the batch with each pair
    of consecutive images stacked, weight for weight and bit for bit."""
    torch.manual_seed(3)
    packed = ConvDiscriminator(in_size=16, in_channels=1, step_channels=8, num_layers=2, pack=2)
    torch.manual_seed(3)
    stacked = ConvDiscriminator(in_size=16, in_channels=2, step_channels=8, num_layers=2)
    assert packed.model[0][0].in_channels == 2
    for (name, a), b in zip(
        packed.state_dict().items(), stacked.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    x = torch.randn(6, 1, 16, 16)
    out = packed(x)
    assert out.shape == (3,)
    assert torch.equal(out, stacked(x.view(3, 2, 16, 16)))
    assert packed(x, feature_matching=True).shape[0] == 3


def test_packed_logit_depends_on_its_own_group_only():
    d = ConvDiscriminator(in_size=16, in_channels=1, norm="none", pack=3).eval()
    x = torch.randn(9, 1, 16, 16)
    changed = x.clone()
    changed[4] = torch.randn(1, 16, 16)  # second image of the second group
    before, after = d(x), d(changed)
    assert torch.equal(before[[0, 2]], after[[0, 2]])
    assert not torch.equal(before[1], after[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pack": 0}, "pack must be >= 1, got 0"),
        ({"pack": 2.0}, "pack must be an integer >= 1, got 2.0"),
        (
            {"pack": 2, "label_type": "required", "num_classes": 4},
            r"pack=2 judges images in groups, so it needs an unconditional critic without a "
            r"classifier head \(label_type='none', num_classes=None\), got "
            r"label_type='required', num_classes=4",
        ),
        ({"pack": 2, "num_classes": 4}, "got label_type='none', num_classes=4"),
    ],
)
def test_bad_pack(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvDiscriminator(in_size=16, **kwargs)


def test_a_batch_that_does_not_split_into_packs_is_refused():
    d = ConvDiscriminator(in_size=16, in_channels=1, pack=2)
    with pytest.raises(ValueError, match="x's batch size must be a multiple of pack=2, got 5"):
        d(torch.randn(5, 1, 16, 16))


@pytest.mark.parametrize("family", list(LOSS_FAMILIES))
def test_torchgans_trainer_trains_a_packed_critic(family, trainer_paths, blob_loader):
    """TorchGAN's losses read the critic's ``batch / pack`` logits as they read ``batch``: every
    loss family trains both models through the real Trainer."""
    from torchgan.trainer import Trainer

    from .conftest import model_config

    torch.manual_seed(0)
    models = model_config({"decoder": "conv"}, {"norm": "none", "pack": 2})
    trainer = Trainer(
        models, build_losses(family), device=torch.device("cpu"), epochs=1, **trainer_paths
    )
    before = {n: [p.detach().clone() for p in getattr(trainer, n).parameters()]
              for n in ("generator", "discriminator")}  # fmt: skip
    trainer(blob_loader)
    for name, params in before.items():
        after = getattr(trainer, name).parameters()
        assert all(not torch.equal(a, b) for a, b in zip(params, after, strict=True)), name
    assert trainer.discriminator.pack == 2

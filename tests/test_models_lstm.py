"""LSTMGenerator: shapes, the three decoders, the LSTM equations, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torchgan.models import Generator

from torchgan_lstm.models import LSTMGenerator
from torchgan_lstm.models._blocks import upsampling_plan

from .conftest import SMALL_GENERATOR

DECODERS = ["conv", "rows", "canvas"]


def small(decoder: str, **kw) -> LSTMGenerator:
    args = {"encoding_dims": 12, "out_channels": 1, "step_channels": 8, "hidden_size": 16}
    return LSTMGenerator(decoder=decoder, **{**args, **kw})


def reference_lstm(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """The classic LSTM equations, step by step, in float64, with the module's own weights.

    i = s(W_i x + U_i h + b_i), f = s(W_f x + U_f h + b_f), g = tanh(W_g x + U_g h + b_g),
    o = s(W_o x + U_o h + b_o), c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).
    Returns the top layer's hidden states, (batch, steps, hidden).
    """
    seq = x.double()
    hidden = lstm.hidden_size
    for layer in range(lstm.num_layers):
        w_ih = getattr(lstm, f"weight_ih_l{layer}").double()
        w_hh = getattr(lstm, f"weight_hh_l{layer}").double()
        bias = (getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")).double()
        h = torch.zeros(seq.size(0), hidden, dtype=torch.float64)
        c = torch.zeros_like(h)
        outputs = []
        for t in range(seq.size(1)):
            gates = seq[:, t] @ w_ih.T + h @ w_hh.T + bias
            i, f, g, o = gates.split(hidden, dim=1)  # PyTorch's gate order
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            outputs.append(h)
        seq = torch.stack(outputs, dim=1)
    return seq


@pytest.mark.parametrize("decoder", DECODERS)
def test_is_a_torchgan_generator_with_image_output(decoder):
    g = small(decoder, out_size=16)
    assert isinstance(g, Generator)
    (z,) = g.sampler(5, "cpu")
    assert z.shape == (5, 12)
    x = g(z)
    assert x.shape == (5, 1, 16, 16)
    assert x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("size", [8, 13, 28, 32, (12, 20), (40, 24)])
def test_any_size_from_8_not_only_powers_of_two(decoder, size):
    g = small(decoder, out_size=size)
    expected = (size, size) if isinstance(size, int) else size
    assert g(*g.sampler(2, "cpu")).shape == (2, 1, *expected)


def test_upsampling_plan_reaches_size_exactly_from_a_base_of_at_least_4():
    assert upsampling_plan((32, 32)) == [(4, 4), (8, 8), (16, 16), (32, 32)]
    assert upsampling_plan((28, 28)) == [(7, 7), (14, 14), (28, 28)]
    assert upsampling_plan((8, 8)) == [(4, 4), (8, 8)]
    assert upsampling_plan((13, 27)) == [(6, 13), (13, 27)]


@pytest.mark.parametrize("decoder", DECODERS)
def test_forward_runs_through_the_lstm_and_output_depends_on_it(decoder):
    torch.manual_seed(0)
    g = small(decoder, out_size=16).eval()
    if getattr(g.decoder, "gate", None) is not None:  # conv: the gate starts at 0; open it
        with torch.no_grad():
            g.decoder.gate.fill_(1.0)
    calls = []
    g.lstm.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape))
    z = g.sampler(4, "cpu")[0]
    before = g(z)
    assert len(calls) == 1, "one fused nn.LSTM call per forward, no loop over cells"
    steps = {"conv": 16, "rows": 16, "canvas": 4}[decoder]
    assert calls[0][:2] == (4, steps)
    with torch.no_grad():
        g.lstm.weight_hh_l0.add_(0.5)
    assert not torch.allclose(before, g(z)), "changing the recurrent weights must change the image"


@pytest.mark.parametrize("decoder", DECODERS)
def test_lstm_in_use_computes_the_classic_gate_equations(decoder):
    torch.manual_seed(1)
    g = small(decoder, out_size=16, num_layers=2).eval()
    seen = {}

    def hook(module, inputs, output):
        seen["x"], seen["h"] = inputs[0].detach(), output[0].detach()

    g.lstm.register_forward_hook(hook)
    with torch.no_grad():
        g(*g.sampler(3, "cpu"))
    expected = reference_lstm(g.lstm, seen["x"])
    torch.testing.assert_close(seen["h"].double(), expected, atol=1e-5, rtol=0)


def test_lstm_initialisation_orthogonal_recurrence_and_forget_bias_one():
    g = small("conv", hidden_size=16)
    hidden = 16
    for layer in range(g.lstm.num_layers):
        w_hh = getattr(g.lstm, f"weight_hh_l{layer}").detach()
        for gate in range(4):
            block = w_hh[gate * hidden : (gate + 1) * hidden]
            torch.testing.assert_close(block @ block.T, torch.eye(hidden), atol=1e-5, rtol=0)
        total_bias = getattr(g.lstm, f"bias_ih_l{layer}") + getattr(g.lstm, f"bias_hh_l{layer}")
        assert torch.all(total_bias[hidden : 2 * hidden] == 1)
        assert torch.all(total_bias[:hidden] == 0) and torch.all(total_bias[2 * hidden :] == 0)


def test_conv_decoder_latent_skip_is_a_real_path():
    with_skip = small("conv", out_size=16, lstm_gate=False)
    without = small("conv", out_size=16, latent_skip=False)
    assert with_skip.decoder.skip is not None and without.decoder.skip is None
    n_skip = sum(p.numel() for p in with_skip.decoder.skip.parameters())
    n_with = sum(p.numel() for p in with_skip.parameters())
    assert n_with - sum(p.numel() for p in without.parameters()) == n_skip


def test_rows_decoder_bands_of_rows():
    g = small("rows", out_size=(12, 10), rows_per_step=3)
    steps = []
    g.lstm.register_forward_hook(lambda m, inp, out: steps.append(inp[0].size(1)))
    assert g(*g.sampler(2, "cpu")).shape == (2, 1, 12, 10)
    assert steps == [4]


def test_canvas_decoder_sums_step_updates_before_the_nonlinearity():
    g = small("canvas", out_size=16, steps=3, last_nonlinearity=nn.Identity()).eval()
    z = g.sampler(2, "cpu")[0]
    dec = g.decoder
    with torch.no_grad():
        out, _ = dec.lstm(dec.inputs(z))
        per_step = []
        for t in range(3):
            base = dec.to_base(out[:, t]).view(2, dec.head.base_channels, *dec.head.base)
            per_step.append(dec.head(base))
        torch.testing.assert_close(g(z), torch.stack(per_step).sum(0), atol=1e-5, rtol=1e-5)


def test_conditional_generator_samples_labels_and_uses_them():
    torch.manual_seed(0)
    g = small("conv", out_size=16, label_type="generated", num_classes=5).eval()
    z, y = g.sampler(6, "cpu")
    assert y.shape == (6,) and int(y.min()) >= 0 and int(y.max()) < 5
    assert g(z, y).shape == (6, 1, 16, 16)
    assert not torch.allclose(g(z, torch.zeros_like(y)), g(z, torch.full_like(y, 4)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"decoder": "transformer"}, "decoder must be one of 'conv', 'rows', 'canvas', got 'tra"),
        ({"label_type": "maybe"}, "label_type must be one of"),
        ({"out_size": 4}, "out_size must be >= 8, got 4"),
        ({"out_size": (16, 7)}, r"out_size must be >= 8, got \(16, 7\)"),
        ({"out_size": (16, 16, 16)}, "out_size must be an int or a"),
        ({"out_size": 16.0}, "out_size must be an int"),
        ({"encoding_dims": 0}, "encoding_dims must be >= 1, got 0"),
        ({"out_channels": -1}, "out_channels must be >= 1, got -1"),
        ({"hidden_size": 0}, "hidden_size must be >= 1, got 0"),
        ({"num_layers": 0}, "num_layers must be >= 1, got 0"),
        ({"step_channels": 0}, "step_channels must be >= 1"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
        ({"dropout": 0.2, "num_layers": 1}, "dropout acts between LSTM layers"),
        ({"decoder": "rows", "rows_per_step": 3}, "rows_per_step must divide the image height 16"),
        ({"decoder": "canvas", "steps": 0}, "steps must be >= 1, got 0"),
        ({"label_type": "generated"}, "needs num_classes"),
        ({"num_classes": 3}, "needs label_type 'generated' or 'required'"),
        ({"label_type": "required", "num_classes": 1}, "num_classes must be >= 2, got 1"),
    ],
)
def test_bad_constructor_arguments_name_parameter_value_and_allowed(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small(kwargs.pop("decoder", "conv"), **{"out_size": 16, **kwargs})


def test_bad_forward_input_is_a_clear_error():
    g = small("conv", out_size=16)
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 12\), got \(4, 11\)"):
        g(torch.randn(4, 11))
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 12\), got \(4, 12, 1, 1\)"):
        g(torch.randn(4, 12, 1, 1))
    with pytest.raises(ValueError, match="label_type='none'"):
        g(torch.randn(4, 12), torch.zeros(4, dtype=torch.long))
    cond = small("conv", out_size=16, label_type="required", num_classes=3)
    with pytest.raises(ValueError, match="y is required"):
        cond(torch.randn(4, 12))
    with pytest.raises(ValueError, match=r"labels in \[0, 3\), got values in \[0, 3\]"):
        cond(torch.randn(4, 12), torch.tensor([0, 1, 2, 3]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("decoder", DECODERS)
def test_runs_on_cuda_with_cudnn_lstm(decoder):
    g = small(decoder, out_size=16).cuda()
    x = g(*g.sampler(4, "cuda"))
    assert x.is_cuda and x.shape == (4, 1, 16, 16)
    x.mean().backward()
    assert g.lstm.weight_hh_l0.grad is not None


def test_lstm_gate_starts_from_the_skip_path_and_learns():
    torch.manual_seed(0)
    g = LSTMGenerator(**{**SMALL_GENERATOR, "decoder": "conv"}, lstm_gate=True).eval()
    z = torch.randn(4, SMALL_GENERATOR["encoding_dims"])
    out = g(z)
    with torch.no_grad():  # at gate 0 the LSTM's weights cannot change the image
        for p in g.lstm.parameters():
            p.add_(torch.randn_like(p))
    torch.testing.assert_close(g(z), out)
    g.train()
    g(z).sum().backward()
    assert g.decoder.gate.grad is not None and g.decoder.gate.grad.abs() > 0


@pytest.mark.parametrize(
    ("kwargs", "gated"),
    [
        ({"decoder": "conv"}, True),
        ({"decoder": "conv", "lstm_gate": False}, False),
        ({"decoder": "conv", "latent_skip": False}, False),
        ({"decoder": "rows"}, False),
        ({"decoder": "canvas"}, False),
    ],
)
def test_lstm_gate_is_on_by_default_where_it_applies(kwargs, gated):
    g = LSTMGenerator(**{**SMALL_GENERATOR, **kwargs})
    assert (getattr(g.decoder, "gate", None) is not None) == gated
    assert ("decoder.gate" in g.state_dict()) == gated


@pytest.mark.parametrize("kwargs", [{"decoder": "rows"}, {"latent_skip": False}])
def test_lstm_gate_needs_the_conv_decoder_with_its_skip_path(kwargs):
    with pytest.raises(ValueError, match="lstm_gate=True needs decoder='conv' with latent_skip"):
        LSTMGenerator(**{**SMALL_GENERATOR, **kwargs}, lstm_gate=True)


def test_gate_scale_makes_adam_move_the_gate_that_many_times_faster():
    conv = {**SMALL_GENERATOR, "decoder": "conv"}
    z = torch.randn(8, SMALL_GENERATOR["encoding_dims"])
    models, images = [], []
    for scale in (1.0, 10.0):
        torch.manual_seed(0)
        g = LSTMGenerator(**conv, gate_scale=scale)
        images.append(g(z).detach())
        optimizer = torch.optim.Adam(g.parameters(), lr=1e-3)
        g(z).square().mean().backward()
        optimizer.step()
        models.append(g.eval())
    plain, scaled = models
    torch.testing.assert_close(images[1], images[0], rtol=0, atol=0)  # both start at gate 0
    # Adam's first step is lr in size, whatever the gradient's scale ...
    assert abs(plain.decoder.gate.item()) == pytest.approx(1e-3, rel=1e-3)
    assert scaled.decoder.gate.item() == pytest.approx(plain.decoder.gate.item(), rel=1e-3)
    # ... and the scaled model draws what the plain one draws with a gate 10 times larger (at
    # gate 0 the LSTM got no gradient, so the gate is all that differs between the two).
    with torch.no_grad():
        plain.decoder.gate.copy_(10 * scaled.decoder.gate)
        torch.testing.assert_close(scaled(z), plain(z))
        plain.decoder.gate.copy_(scaled.decoder.gate)
        assert not torch.allclose(scaled(z), plain(z))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gate_scale": 0}, "gate_scale must be a finite number > 0, got 0"),
        ({"gate_scale": -2.0}, "gate_scale must be a finite number > 0, got -2.0"),
        ({"gate_scale": float("nan")}, "gate_scale must be a finite number > 0, got nan"),
        ({"gate_scale": "10"}, "gate_scale must be a finite number > 0, got '10'"),
        ({"gate_scale": True}, "gate_scale must be a finite number > 0, got True"),
    ],
)
def test_gate_scale_is_refused_out_of_range(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        LSTMGenerator(**{**SMALL_GENERATOR, "decoder": "conv", **kwargs})


# The recurrence that refines the skip map: lstm_input="skip" / "skip+noise", cells_per_step.

REFINING = [  # (arguments, image side); the base map has 16 channels at both sides
    ({"lstm_input": "skip"}, 16),
    ({"lstm_input": "skip+noise"}, 16),
    ({"lstm_input": "skip", "cells_per_step": 4}, 16),
    ({"lstm_input": "noise", "cells_per_step": 4}, 16),
    ({"lstm_input": "skip+noise", "cells_per_step": 7}, 28),
]


@pytest.mark.parametrize(("kwargs", "size"), REFINING)
def test_refining_lstm_shapes_and_steps(kwargs, size):
    channels = 16
    g = small("conv", out_size=size, **kwargs)
    base = upsampling_plan((size, size))[0]
    steps = base[0] * base[1] // kwargs.get("cells_per_step", 1)
    seen = []
    g.lstm.register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape))
    x = g(*g.sampler(3, "cpu"))
    assert x.shape == (3, 1, size, size)
    width = {"noise": 0, "skip": 1, "skip+noise": 1}[kwargs["lstm_input"]]
    width *= channels * kwargs.get("cells_per_step", 1)
    if kwargs["lstm_input"] != "skip":
        width += 16 // 2  # the noise projection: input_size defaults to hidden_size // 2
    assert seen == [(3, steps, width)]


@pytest.mark.parametrize("lstm_input", ["skip", "skip+noise"])
def test_refining_lstm_starts_as_the_skip_path_alone(lstm_input):
    torch.manual_seed(0)
    g = small("conv", out_size=16, lstm_input=lstm_input).eval()
    assert g.decoder.gate is not None and g.decoder.gate.item() == 0.0
    z = g.sampler(4, "cpu")[0]
    decoder = g.decoder
    skip_alone = decoder.head(decoder.skip(z).view(4, 16, 4, 4))
    assert torch.equal(g(z), torch.tanh(skip_alone))


@pytest.mark.parametrize("lstm_input", ["skip", "skip+noise"])
def test_gradient_reaches_the_refining_lstm_through_the_gate(lstm_input):
    torch.manual_seed(0)
    g = small("conv", out_size=16, lstm_input=lstm_input)
    z = g.sampler(4, "cpu")[0]
    g(z).square().mean().backward()
    assert g.decoder.gate.grad.abs() > 0, "at gate 0 the gate itself learns"
    g.zero_grad()
    with torch.no_grad():
        g.decoder.gate.fill_(0.5)
    g(z).square().mean().backward()
    for name, p in g.lstm.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_skip_input_lstm_sees_the_noise_only_through_the_skip_map():
    torch.manual_seed(0)
    g = small("conv", out_size=16, lstm_input="skip").eval()
    with torch.no_grad():
        g.decoder.gate.fill_(1.0)
        g.decoder.skip.weight.zero_()  # the skip map no longer depends on z
    z1, z2 = torch.randn(2, 4, 12)
    assert torch.equal(g(z1), g(z2)), "with a constant skip map every z gives the same image"
    noise = small("conv", out_size=16, lstm_input="skip+noise").eval()
    with torch.no_grad():
        noise.decoder.gate.fill_(1.0)
        noise.decoder.skip.weight.zero_()
    assert not torch.allclose(noise(z1), noise(z2)), "skip+noise also reads z directly"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lstm_input": "pixels"}, "lstm_input must be one of 'noise', 'skip', 'skip\\+noise'"),
        ({"lstm_input": "skip", "latent_skip": False}, "reads the latent skip map, which needs"),
        ({"lstm_input": "skip", "input_size": 8}, "input_size is the width of each step's"),
        ({"lstm_input": "skip", "decoder": "rows"}, "shape the conv decoder's recurrence"),
        ({"cells_per_step": 2, "decoder": "canvas"}, "shape the conv decoder's recurrence"),
        ({"cells_per_step": 3}, r"cells_per_step must divide the base grid's 16 cells \(4x4\)"),
        ({"cells_per_step": 0}, "cells_per_step must be >= 1, got 0"),
    ],
)
def test_refining_lstm_refuses_settings_it_cannot_honour(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small(kwargs.pop("decoder", "conv"), **{"out_size": 16, **kwargs})


def test_defaults_read_the_noise_one_cell_per_step():
    g = LSTMGenerator(**SMALL_GENERATOR)
    assert g.decoder.lstm_input == "noise" and g.decoder.cells_per_step == 1
    assert g.lstm.input_size == SMALL_GENERATOR["hidden_size"] // 2


def test_without_the_recurrence_the_base_map_is_the_skip_path_alone():
    torch.manual_seed(0)
    full = LSTMGenerator(out_size=16, out_channels=1, step_channels=8, hidden_size=16)
    torch.manual_seed(0)
    bare = LSTMGenerator(
        out_size=16, out_channels=1, step_channels=8, hidden_size=16, recurrence=False
    )
    assert bare.lstm is None and bare.decoder.gate is None
    names = {name.split(".")[1] for name, _ in bare.named_parameters()}
    assert names == {"skip", "head"}
    # The same skip path and head as the full generator's: with its gate shut (0, as built),
    # the full generator draws the same images.
    bare.load_state_dict(
        {k: v for k, v in full.state_dict().items() if k.split(".")[1] in ("skip", "head")}
    )
    z = torch.randn(4, 100)
    full.eval(), bare.eval()
    torch.testing.assert_close(bare(z), full(z))


@pytest.mark.parametrize(
    "kwargs",
    [{"decoder": "rows"}, {"latent_skip": False}, {"lstm_gate": True}, {"recurrence": 0}],
)
def test_removing_the_recurrence_needs_the_conv_decoders_skip_path_and_no_gate(kwargs):
    with pytest.raises(ValueError, match="recurrence"):
        LSTMGenerator(out_size=16, out_channels=1, **{"recurrence": False, **kwargs})

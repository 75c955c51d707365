"""Property-based tests: any constructor argument or CLI option either works or is refused with
a ``ValueError`` (status 2 on the command line) that names it; nothing else ever escapes."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchgan_lstm.app import cli
from torchgan_lstm.models import ConvDiscriminator, LSTMGenerator
from torchgan_lstm.models.conv import NORMS
from torchgan_lstm.models.lstm import DECODERS

from .conftest import write_idx_blobs

OUTCOMES: dict[str, int] = {}  # "<what>: built / refused / exit N" -> count, for the report
BAD = st.sampled_from([None, "8", 2.5, True, float("nan"), [8, 8, 8], -(2**70), -1, 0])
BAD_CHOICE = st.sampled_from(["", "CONV", "bogus", None, 3])


def _outcome(what: str, result: str) -> None:
    OUTCOMES[f"{what}: {result}"] = OUTCOMES.get(f"{what}: {result}", 0) + 1


def arguments(valid: dict, bad: dict):
    """Keyword arguments: a random subset of ``valid`` values, then 0-2 of them (or of the
    omitted ones) replaced by a ``bad`` value."""
    names = sorted(valid)
    return st.tuples(
        st.fixed_dictionaries({}, optional=valid),
        st.lists(st.sampled_from(names), max_size=2, unique=True).flatmap(
            lambda keys: st.fixed_dictionaries({k: bad[k] for k in keys})
        ),
    ).map(lambda pair: {**pair[0], **pair[1]})


def _names_a_parameter(message: str, names) -> bool:
    return any(re.search(rf"\b{name}\b", message) for name in names)


GENERATOR_ARGS = {
    "encoding_dims": st.integers(1, 12),
    "out_size": st.one_of(st.integers(8, 24), st.tuples(st.integers(8, 24), st.integers(8, 24))),
    "out_channels": st.integers(1, 3),
    "step_channels": st.integers(1, 4),
    "batchnorm": st.booleans(),
    "label_type": st.sampled_from(["none", "generated", "required"]),
    "hidden_size": st.integers(1, 12),
    "num_layers": st.integers(1, 3),
    "dropout": st.floats(0, 0.99),
    "decoder": st.sampled_from(DECODERS),
    "input_size": st.one_of(st.none(), st.integers(1, 8)),
    "latent_skip": st.booleans(),
    "rows_per_step": st.integers(1, 5),
    "steps": st.integers(1, 3),
    "num_classes": st.one_of(st.none(), st.integers(2, 5)),
}
GENERATOR_BAD = {
    **{k: BAD for k in GENERATOR_ARGS},
    "out_size": st.one_of(BAD, st.integers(-2, 7), st.tuples(st.integers(-2, 30), BAD)),
    "dropout": st.one_of(BAD, st.floats(-1, -0.01), st.floats(1, 2)),
    "label_type": BAD_CHOICE,
    "decoder": BAD_CHOICE,
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arguments(GENERATOR_ARGS, GENERATOR_BAD))
def test_generator_builds_a_working_model_or_names_the_bad_argument(kwargs):
    try:
        generator = LSTMGenerator(**kwargs)
    except ValueError as err:
        _outcome("LSTMGenerator", "refused")
        assert _names_a_parameter(str(err), GENERATOR_ARGS), str(err)
        return
    _outcome("LSTMGenerator", "built")
    generator.eval()
    with torch.no_grad():
        images = generator(*generator.sampler(2, "cpu"))
    assert images.shape == (2, generator.out_channels, *generator.out_size)
    assert images.min() >= -1 and images.max() <= 1


DISCRIMINATOR_ARGS = {
    "in_size": st.one_of(st.integers(8, 24), st.tuples(st.integers(8, 24), st.integers(8, 24))),
    "in_channels": st.integers(1, 3),
    "step_channels": st.integers(1, 4),
    "num_layers": st.integers(1, 5),
    "dropout": st.floats(0, 0.99),
    "norm": st.sampled_from(NORMS),
    "label_type": st.just("none"),
}
DISCRIMINATOR_BAD = {
    **{k: BAD for k in DISCRIMINATOR_ARGS},
    "in_size": GENERATOR_BAD["out_size"],
    "dropout": GENERATOR_BAD["dropout"],
    "norm": BAD_CHOICE,
    "label_type": st.one_of(BAD_CHOICE, st.sampled_from(["generated", "required"])),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arguments(DISCRIMINATOR_ARGS, DISCRIMINATOR_BAD))
def test_discriminator_builds_a_working_model_or_names_the_bad_argument(kwargs):
    try:
        discriminator = ConvDiscriminator(**kwargs)
    except ValueError as err:
        _outcome("ConvDiscriminator", "refused")
        assert _names_a_parameter(str(err), DISCRIMINATOR_ARGS), str(err)
        return
    _outcome("ConvDiscriminator", "built")
    x = torch.rand(2, discriminator.input_dims, *discriminator.in_size) * 2 - 1
    scores = discriminator.eval()(x)
    assert scores.shape[0] == 2 and scores.numel() == 2 and torch.isfinite(scores).all()


# Option -> values to try: well-formed, out of range, of the wrong type, or junk.
NUMBER = st.one_of(
    st.integers(-5, 40).map(str), st.sampled_from(["0", "-1", "1e9", "2.5", "x", "", "nan", "inf"])
)
CLI_OPTIONS = {
    "--data.image_size": NUMBER,
    "--data.channels": NUMBER,
    "--generator.encoding_dims": NUMBER,
    "--generator.hidden_size": NUMBER,
    "--generator.num_layers": NUMBER,
    "--generator.dropout": NUMBER,
    "--generator.step_channels": NUMBER,
    "--generator.rows_per_step": NUMBER,
    "--generator.steps": NUMBER,
    "--discriminator.step_channels": NUMBER,
    "--discriminator.num_layers": NUMBER,
    "--discriminator.dropout": NUMBER,
    "--ncritic": NUMBER,
    "--batch_size": NUMBER,
    "--g_lr": NUMBER,
    "--d_lr": NUMBER,
    "--max_steps": NUMBER,
    "--eval_every": NUMBER,
    "--metric_samples": NUMBER,
    "--sample_size": NUMBER,
    "--seed": NUMBER,
    "--generator.decoder": st.one_of(st.sampled_from(DECODERS), BAD_CHOICE).map(str),
    "--discriminator.norm": st.one_of(st.sampled_from(NORMS), BAD_CHOICE).map(str),
    "--generator": st.sampled_from(["LSTMGenerator", "DCGANGenerator", "GRUGenerator"]),
    "--discriminator": st.sampled_from(
        ["ConvDiscriminator", "DCGANDiscriminator", "PatchDiscriminator"]
    ),
    "--loss": st.sampled_from(["minimax", "wgan-gp", "hinge?"]),
    "--device": st.sampled_from(["cpu", "gpu"]),
}
# Small, fast defaults the drawn options override (a valid draw trains for one step).
CLI_BASE = {
    "--data.image_size": "16",
    "--generator.hidden_size": "8",
    "--generator.encoding_dims": "8",
    "--generator.step_channels": "4",
    "--discriminator.step_channels": "4",
    "--discriminator": "ConvDiscriminator",
    "--batch_size": "8",
    "--max_steps": "1",
    "--metric_samples": "0",
    "--sample_size": "4",
    "--device": "cpu",
}
# Options whose valid values are allowed but would make the one-step run slow: capped.
CAPS = {
    "--data.image_size": 24,
    "--generator.hidden_size": 24,
    "--max_steps": 2,
    "--sample_size": 16,
}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_idx_blobs(tmp_path_factory.mktemp("idx"))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.dictionaries(st.sampled_from(sorted(CLI_OPTIONS)), st.data(), min_size=1, max_size=3))
def test_cli_option_either_runs_or_exits_2_with_one_line(data_root, tmp_path, kwargs):
    options = dict(CLI_BASE)
    for option, draw in kwargs.items():
        value = draw.draw(CLI_OPTIONS[option])
        if option in CAPS and value.lstrip("-").isdigit() and int(value) > CAPS[option]:
            value = str(CAPS[option])
        options[option] = value
    argv = [
        "train",
        "--data.dataset",
        "fashion-mnist",
        "--data.root",
        data_root,
        "--data.download",
        "false",
    ]
    argv += ["--progress", "false", "--out", str(tmp_path / f"run{sum(OUTCOMES.values())}")]
    argv += [f"{k}={v}" for k, v in options.items()]  # "=": values may start with "-"
    stderr = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
    errors = [line for line in stderr.getvalue().splitlines() if "error" in line]
    _outcome("cli", f"exit {code}")
    if code == 0:
        assert not errors
    else:
        assert code in (1, 2), (argv, stderr.getvalue())
        assert len(errors) == 1 and "Traceback" not in stderr.getvalue(), stderr.getvalue()
        if code == 1:  # a valid configuration whose one step diverged (e.g. a huge lr)
            assert "training diverged" in errors[0], (argv, errors[0])


def test_zz_the_properties_tried_valid_and_invalid_inputs():
    """Runs last in this file: each property above saw both outcomes (a property whose inputs
    were all accepted, or all refused, would prove little); prints how many inputs it tried."""
    print(f"property inputs tried: {sum(OUTCOMES.values())}: {sorted(OUTCOMES.items())}")
    for what, outcomes in {
        "LSTMGenerator": ("built", "refused"),
        "ConvDiscriminator": ("built", "refused"),
        "cli": ("exit 0", "exit 2"),
    }.items():
        for outcome in outcomes:
            assert OUTCOMES.get(f"{what}: {outcome}", 0) > 0, (what, outcome, OUTCOMES)

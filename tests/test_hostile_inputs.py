"""Property-based: random YAML documents, option values and small CSV files thrown at the real
command line. For every one: exit 0, or exit 2 with one line and no traceback; no file outside
the run's output changed; no module imported beyond an allow-list; bounded memory. (A run
that diverges on values it accepted exits 1 with one line, as every run does.)"""

from __future__ import annotations

import resource
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from torchgan_lstm.app import cli

from .conftest import SINES_TINY, tree
from .test_safe_yaml import alias_bomb

PLANTED = "planted_by_fuzz"
# Packages a run may import on first use, besides the standard library.
ALLOWED_PACKAGES = {
    "torch", "torchvision", "torchgan", "torchgan_lstm", "jsonargparse", "yaml", "numpy", "PIL",
    "matplotlib", "tensorboard", "tensorboardX", "google", "tqdm", "safetensors", "scipy",
    "docstring_parser", "typeshed_client", "typing_extensions", "mpl_toolkits", "kiwisolver",
    "pyparsing", "cycler", "dateutil", "fontTools", "packaging", "six", "sympy", "mpmath",
    "filelock", "fsspec", "jinja2", "markupsafe", "networkx", "absl", "grpc", "werkzeug",
    "importlib_metadata", "zipp", "contourpy", "pandas", "pyarrow", "pytz", "tzdata", "_yaml",
    # jsonargparse's optional integrations, probed for where installed (dm-control brings attrs)
    "attr", "attrs", "pydantic", "pydantic_core", "annotated_types", "typing_inspection",
}  # fmt: skip
SIDE_EFFECT_STDLIB = {"this", "antigravity", "turtle", "tkinter", "idlelib", "__hello__"}
MAX_RSS_GIB = 8
SLOW = settings(
    max_examples=20,
    deadline=None,
    database=None,  # the working folder is the sandbox: nothing may be written there
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

CLASS_PATHS = st.sampled_from([
    "LSTMGenerator", "ConvDiscriminator", "DCGANGenerator", "LSTMSequenceGenerator",
    "ConvSequenceDiscriminator", "torchgan_lstm.LSTMGenerator", f"{PLANTED}.Gen", "this.Gen",
    "os.system", "torchgan.trainer.Trainer", "", "..", "LSTMGenerator.__init__",
])  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, 1, 2, 8, 24]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), CLASS_PATHS,
)  # fmt: skip
KEYS = st.sampled_from([
    "data", "generator", "discriminator", "class_path", "init_args", "dataset", "seq_len",
    "hidden_size", "num_layers", "max_steps", "batch_size", "out", "loss", "sample_size",
    "nonlinearity", "features", "eval_every", "config", "root", "x",
])  # fmt: skip
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=20,
)


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A working folder with the user's own files and a planted module on ``sys.path``."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    (home / "old_run").mkdir()
    (home / "old_run" / "config.yaml").write_text("data: {dataset: sines}\n")
    (home / f"{PLANTED}.py").write_text(
        textwrap.dedent(f"""
            open({str(tmp_path / "MARKER")!r}, "w").write("ran")
            from torchgan.models import Generator as Gen
        """)
    )
    monkeypatch.syspath_prepend(str(home))
    monkeypatch.chdir(home)
    monkeypatch.setenv("TORCHGAN_LSTM_MAX_MEMORY_GIB", "2")  # anything larger is refused
    return home


OUTCOMES: dict[tuple[str, int], int] = {}  # (test, exit status) -> count


def attempt(argv: list[str], home: Path, capsys, out: Path | None = None) -> int:
    """Run the command line; check every property; return the exit status."""
    before_files = {k: v for k, v in tree(home).items() if not _inside(home / k, out)}
    before_modules = set(sys.modules)
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code in (0, 1, 2), f"exit {code}: {err}"
    if code in (1, 2):
        assert err.count("\n") == 1 and "Traceback" not in err, err
    after = {k: v for k, v in tree(home).items() if not _inside(home / k, out)}
    assert after == before_files, "a file outside the run's output changed"
    new = {m.partition(".")[0] for m in set(sys.modules) - before_modules}
    stray = {
        m
        for m in new
        if m not in ALLOWED_PACKAGES
        and (m not in sys.stdlib_module_names or m in SIDE_EFFECT_STDLIB)
    }
    assert not stray, f"imported {sorted(stray)}"
    assert not (home.parent / "MARKER").exists(), "the planted module ran"
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    assert peak_gib < MAX_RSS_GIB, f"peak memory {peak_gib:.1f} GiB"
    test = sys._getframe(1).f_code.co_name
    OUTCOMES[test, code] = OUTCOMES.get((test, code), 0) + 1
    return code


@pytest.fixture(scope="module", autouse=True)
def every_property_saw_runs_that_worked_and_inputs_that_were_refused():
    """After the module's tests (those this process ran: pytest-xdist splits them), each
    property must have drawn inputs that trained and inputs that were refused."""
    yield
    for test in {t for t, _ in OUTCOMES}:
        assert OUTCOMES.get((test, 0)) and OUTCOMES.get((test, 2)), sorted(OUTCOMES.items())


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


@SLOW
@given(document=DOCUMENTS)
@example(document={"max_steps": 3})  # one that runs and one that is refused, on every draw
@example(document={"generator": "planted_by_fuzz.Gen"})
def test_any_yaml_config_prints_or_is_refused_in_one_line(sandbox, capsys, document):
    config = sandbox / "fuzz.yaml"
    config.write_text(yaml.safe_dump(document))
    attempt(["train", "--config", str(config), "--print-config"], sandbox, capsys, config)


@SLOW
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.sampled_from(["", "# nothing\n", "max_steps: 3\n", "loss: hinge\nseed: 2\n"]),
        st.sampled_from([alias_bomb(), "a: &a [*a]\n", "!!python/object/apply:os.system [id]\n"]),
    )
)
@example(text="loss: hinge\n")
@example(text="!!python/object/apply:os.system [id]\n")
def test_any_text_as_a_config_file_is_read_or_refused_in_one_line(sandbox, capsys, text):
    config = sandbox / "fuzz.yaml"
    config.write_text(text)
    attempt(["train", "--config", str(config), "--print-config"], sandbox, capsys, config)


OPTION_VALUES = st.one_of(
    st.sampled_from(["1", "2", "4", "8", "16", "minimax", "hinge", "0.5", "1e-3", "new_run"]),
    st.text(max_size=10), st.integers(-(2**40), 2**40).map(str),
    st.sampled_from(["", "/", "~", ".", "..", "notes.txt", "old_run", "nan", "inf", "1e400",
                     "{class_path: planted_by_fuzz.Gen}", "[1, 2]", "null", "-1", "0"]),
)  # fmt: skip
OPTIONS = st.sampled_from([
    "--out", "--max_steps", "--batch_size", "--seed", "--data.seq_len", "--eval_every",
    "--generator.hidden_size", "--generator.num_layers", "--loss", "--sample_size",
    "--discriminator.step_channels", "--resume", "--ema_decay", "--g_lr", "--generator",
])  # fmt: skip


@SLOW
@given(changes=st.lists(st.tuples(OPTIONS, OPTION_VALUES), min_size=1, max_size=2))
@example(changes=[("--seed", "2")])
@example(changes=[("--batch_size", "-1")])
def test_any_option_value_trains_or_is_refused_in_one_line(sandbox, capsys, changes):
    out = sandbox / "fuzz_run"
    argv = ["train", *SINES_TINY, "--out", str(out), "--max_steps", "1", "--eval_every", "1"]
    for option, value in changes:
        argv += [option, value]
    argv += ["--max_seconds", "2"]  # a large --max_steps drawn is still a short run
    outs = [v for o, v in changes if o == "--out"]
    written = (sandbox / Path(outs[-1]).expanduser()).resolve() if outs else out
    if written in (sandbox.resolve(), Path.home().resolve()) or written == Path("/"):
        written = out  # a run there is refused: nothing of it may change
    try:
        attempt(argv, sandbox, capsys, written)
    finally:
        import shutil

        shutil.rmtree(out, ignore_errors=True)


PLAIN_CELLS = st.floats(-1e6, 1e6).map(repr)
CELLS = st.one_of(
    PLAIN_CELLS,
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["", "x", "1e308", "-1e308", "2026-01-01", " ", "1,5", '"', "NaN"]),
)


@SLOW
@given(
    columns=st.integers(1, 3),
    rows=st.one_of(
        st.lists(st.lists(PLAIN_CELLS, min_size=3, max_size=3), min_size=8, max_size=40),
        st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=0, max_size=40),
    ),
)
def test_any_small_csv_trains_or_is_refused_in_one_line(sandbox, capsys, columns, rows):
    data = sandbox / "data.csv"
    header = ",".join(f"c{i}" for i in range(columns))
    data.write_text("\n".join([header, *(",".join(r[:columns]) for r in rows)]) + "\n")
    out = sandbox / "csv_run"
    argv = ["train", *SINES_TINY, "--data.dataset", f"csv:{data}", "--data.seq_len", "4",
            "--batch_size", "2", "--max_steps", "1", "--eval_every", "1",
            "--out", str(out)]  # fmt: skip
    try:
        attempt(argv, sandbox, capsys, out)
    finally:
        import shutil

        shutil.rmtree(out, ignore_errors=True)

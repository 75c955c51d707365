"""The documentation: the site builds strictly, every Python snippet runs, every command parses,
the command-line reference is what ``--help`` prints, and the README stays a landing page."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import torchgan_lstm
from torchgan_lstm import registry
from torchgan_lstm.app import cli, config, data_config, run
from torchgan_lstm.app.data_config import is_sequence_dataset
from torchgan_lstm.data import SequenceDataset, build_sequence_dataset

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").rglob("*.md"))
DOCS = [README, *PAGES]
README_LIMIT = 15 * 1024
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SHELL = ("bash", "sh", "shell", "console")
# Runs in snippets are cut to this: enough steps to train, checkpoint twice and sample; the
# metrics have tests of their own (and would dominate the time here).
TINY_STEPS, TINY_EVAL_EVERY, TINY_METRIC_SAMPLES, TINY_IMAGES = 4, 2, 0, 256


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def code_blocks(path: Path, languages: tuple[str, ...]) -> list[tuple[int, str]]:
    """The fenced blocks of ``path`` in ``languages``, as ``(line number, code)``."""
    text = path.read_text()
    return [
        (text.count("\n", 0, m.start()) + 1, m[2])
        for m in FENCE.finditer(text)
        if m[1] in languages
    ]


def shell_commands(code: str) -> list[list[str]]:
    """The commands of a shell block: continuations joined, comments dropped, ``&&`` split."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line.removeprefix("$ "), comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            commands.append(words[:cut])
            words = words[cut + 1 :]
    return commands


# ---------------------------------------------------------------------------- the site


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    """Broken links and anchors, unknown API objects and bad docstrings fail the build."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    cli_page = (tmp_path / "reference" / "cli" / "index.html").read_text()
    assert "--max_steps MAX_STEPS" in cli_page and "<!-- generated" not in cli_page


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_is_what_help_prints():
    """Each generated block is the console script's own ``--help``, at the site's width."""
    hooks = _hooks()
    commands = ["", "train", "sample", "evaluate", "export"]
    script = (
        "import sys\nfrom torchgan_lstm.app.cli import main\n"
        "for command in sys.argv[1:]:\n"
        "    try:\n        main([*command.split(), '--help'])\n"
        "    except SystemExit:\n        pass\n    print('\\x00', end='')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *commands],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": hooks.HELP_COLUMNS},
        timeout=120,
        check=True,
    )
    printed = done.stdout.split("\x00")[:-1]
    page = (ROOT / "docs" / "reference" / "cli.md").read_text()
    # Rendered in a fresh process too: classes that other tests define would show in its help.
    render = (
        "import importlib.util\n"
        "spec = importlib.util.spec_from_file_location('hooks', 'docs/hooks.py')\n"
        "hooks = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(hooks)\n"
        "print(hooks.render(open('docs/reference/cli.md').read()), end='')\n"
    )
    rendered = subprocess.run(
        [sys.executable, "-c", render], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=True,
    ).stdout  # fmt: skip
    for command, text in zip(commands, printed, strict=True):
        assert f"<!-- generated: cli-help {command}".rstrip() in page
        assert f"```text\n{text.rstrip()}\n```" in rendered, f"torchgan-lstm {command} --help"
    assert "--version" in printed[0]


# ---------------------------------------------------------------------------- snippets


@pytest.fixture
def tiny_runs(monkeypatch, tmp_path):
    """Snippets run as written, on 256 training images and runs of a few steps, in tmp_path."""
    build_dataset, validate = run.build_dataset, config.RunConfig.validate
    cache: dict = {}

    def small_dataset(name="fashion-mnist", *args, **kwargs):
        key = (name, args, tuple(sorted(kwargs.items())))
        if key not in cache:
            full = build_dataset(name, *args, **kwargs)
            cache[key] = torch.utils.data.Subset(full, range(min(TINY_IMAGES, len(full))))
        return cache[key]

    def short_run(self):
        resolved = validate(self)
        resolved.max_steps = min(resolved.max_steps, TINY_STEPS)
        resolved.eval_every = min(resolved.eval_every, TINY_EVAL_EVERY)
        resolved.metric_samples = min(resolved.metric_samples, TINY_METRIC_SAMPLES)
        return resolved

    for module in (torchgan_lstm.data, run):
        monkeypatch.setattr(module, "build_dataset", small_dataset)
    monkeypatch.setattr(config.RunConfig, "validate", short_run)
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))  # snippets register models
    monkeypatch.chdir(tmp_path)
    deterministic, benchmark = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.benchmark,
    )
    yield
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.benchmark = benchmark


SNIPPET_FILES = [p for p in DOCS if code_blocks(p, ("python",))]


@pytest.mark.parametrize("path", SNIPPET_FILES, ids=_name)
def test_every_python_snippet_runs(path, tiny_runs):
    """A page's ``python`` blocks run in order in one namespace, as a reader would paste them."""
    namespace: dict = {"__name__": "__docs__"}
    for line, code in code_blocks(path, ("python",)):
        try:
            exec(compile(code, f"{_name(path)}:{line}", "exec"), namespace)
        except Exception as err:
            pytest.fail(f"{_name(path)}, the block at line {line}: {type(err).__name__}: {err}")


def test_the_snippets_cover_the_readme_and_the_python_api_pages():
    names = {_name(p) for p in SNIPPET_FILES}
    assert {"README.md", "docs/how-to/trainer.md", "docs/reference/api/training.md"} <= names


# ---------------------------------------------------------------------------- commands


class _Parsed(Exception):
    """Raised right after a parser accepted its arguments, so that nothing runs."""


def _parse_benchmark(module: str, argv: list[str], monkeypatch) -> None:
    original = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):
        parsed = original(self, args, namespace)
        raise _Parsed(parsed)

    entry = importlib.import_module(module).main
    with monkeypatch.context() as patch, pytest.raises(_Parsed) as parsed:
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
        entry(argv)
    variants = getattr(parsed.value.args[0], "variants", None) or []
    step_variants = getattr(parsed.value.args[0], "step_variants", None) or []
    if variants or step_variants:
        from benchmarks.quality import VARIANTS

        unknown = [v for v in [*variants, *step_variants] if v not in VARIANTS]
        assert not unknown, f"unknown benchmark variants {unknown}"


def _parse_example(script: str, argv: list[str], monkeypatch) -> None:
    original = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    with monkeypatch.context() as patch, pytest.raises(_Parsed):
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
        patch.setattr(sys, "argv", [script, *argv])
        runpy.run_path(str(ROOT / script), run_name="__main__")


def _benchmark_data_stand_ins(name, seq_len=24, stride=1, root=None, seed=0):
    # The parser reads the data's features: ETTh's file is only named on the pages, and MuJoCo
    # would be generated (seconds); stand-ins with their real feature counts.
    if name in ("etth", "mujoco"):
        return SequenceDataset(torch.zeros(2, seq_len, 7 if name == "etth" else 14))
    return build_sequence_dataset(name, seq_len, stride, root, seed)


def _parse_torchgan_lstm(argv: list[str], tmp_path: Path) -> None:
    if argv[:1] == ["train"]:
        for i, word in enumerate(argv[:-1]):
            if word == "--config" and not Path(argv[i + 1]).exists():
                Path(argv[i + 1]).write_text(config.RunConfig().to_yaml())  # a real config.yaml
        dataset = next((argv[i + 1] for i, w in enumerate(argv[:-1]) if w == "--data.dataset"), "")
        csv = Path(dataset.removeprefix("csv:"))
        if dataset.startswith("csv:") and not csv.exists():  # the parser reads its columns
            csv.write_text("open,close\n" + "".join(f"{i},{i + 1}\n" for i in range(100)))
        args = cli.train_parser(is_sequence_dataset(dataset)).parse_args(argv[1:])
        cli.config_from_args(args)  # keys a RunConfig knows
    else:
        cli.build_parser().parse_args(argv)


def command_of(words: list[str]) -> tuple[str, list[str]] | None:
    """``(program, arguments)`` of a command line this project's parsers read, else None."""
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # VAR=value prefixes
        words = words[1:]
    if words[:1] == ["torchgan-lstm"]:
        return "torchgan-lstm", words[1:]
    if words[:2] == ["bash", "scripts/main-job"]:  # its arguments go to `torchgan-lstm train`
        return "torchgan-lstm", ["train", *words[2:]]
    if "-m" in words and words[0] in ("python", "python3", "torchrun", ".venv/bin/python"):
        module = words[words.index("-m") + 1]
        rest = words[words.index("-m") + 2 :]
        if module == "torchgan_lstm":
            return "torchgan-lstm", rest
        if module.startswith("benchmarks."):
            return module, rest
    if words[:1] == ["python"] and words[1:2] and words[1].startswith("examples/"):
        return words[1], words[2:]
    return None


def _all_commands() -> list[tuple[str, int, list[str]]]:
    found = []
    for path in DOCS:
        for line, code in code_blocks(path, SHELL):
            found += [(_name(path), line, words) for words in shell_commands(code)]
    return found


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_every_command_in_the_docs_parses(path, tmp_path, monkeypatch):
    """``torchgan-lstm``, ``python -m benchmarks.*`` and example commands, by their real parsers
    and without running; the main job's extra arguments as ``train``'s."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data_config, "build_sequence_dataset", _benchmark_data_stand_ins)
    data_config._dataset_shape.cache_clear()
    for line, code in code_blocks(path, SHELL):
        for words in shell_commands(code):
            command = command_of(words)
            if command is None:
                continue
            program, argv = command
            try:
                if program == "torchgan-lstm":
                    _parse_torchgan_lstm(argv, tmp_path)
                elif program.startswith("benchmarks."):
                    _parse_benchmark(program, argv, monkeypatch)
                else:
                    _parse_example(program, argv, monkeypatch)
            except (Exception, SystemExit) as err:
                pytest.fail(f"{_name(path)}:{line}: {shlex.join(words)}\n{err!r}")


def test_the_command_check_sees_every_kind_of_command():
    programs = {command_of(words)[0] for _, _, words in _all_commands() if command_of(words)}
    assert {
        "torchgan-lstm",
        "benchmarks.run",
        "benchmarks.sequence",
        "benchmarks.stats",
    } <= programs
    assert any(p.startswith("examples/") for p in programs)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--batch-size", "64"],
        ["train", "--channels-last"],
        ["train", "--hidden_size", "8"],
    ],
)
def test_an_option_name_that_does_not_exist_fails_the_check(argv, tmp_path):
    with pytest.raises(Exception, match=r"[Uu]nrecognized|expected"):
        _parse_torchgan_lstm(argv, tmp_path)


# ---------------------------------------------------------------------------- the README


def test_the_readme_is_a_landing_page_under_15_kb():
    assert README.stat().st_size < README_LIMIT


def test_the_readme_names_the_two_commands_and_links_into_the_docs():
    text = README.read_text()
    assert "bash scripts/test" in text and "bash scripts/main-job" in text
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).is_file(), link


def test_the_docs_say_which_version_they_describe():
    index = (ROOT / "docs" / "index.md").read_text()
    assert f"torchgan-lstm {torchgan_lstm.__version__}" in index
    assert f"## [{torchgan_lstm.__version__}]" in (ROOT / "CHANGELOG.md").read_text()

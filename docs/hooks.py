"""MkDocs hooks: the reference pages' generated parts, and the benchmark pictures.

A page asks for generated text with a marker on a line of its own, replaced at build time:

- ``<!-- generated: cli-help train -->``: what ``torchgan-lstm train --help`` prints (any
  subcommand; no argument: the top-level help), so the reference is the parser's own words;
- ``<!-- generated: print-config --data.dataset sines -->``: what ``torchgan-lstm train
  --print-config`` prints with those options, the resolved ``config.yaml`` of a run.

The help is rendered 100 columns wide, whatever the terminal, so the site is the same on every
machine; tests/test_docs.py checks it against the console script's output.

The pictures in ``benchmarks/results/`` are added to the site under the same path, so a page
shows a recorded result where it lies instead of a copy that could go stale.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The site describes the checkout it is built from, wherever the installed package points.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
HELP_COLUMNS = "100"
MARKER = re.compile(r"^<!-- generated: (cli-help|print-config)(.*?) -->$", re.MULTILINE)


def run_cli(argv: list[str]) -> str:
    """What ``torchgan-lstm ARGV`` prints on stdout (``--help`` and ``--print-config`` exit early).

    Raises:
        RuntimeError: the command failed (a marker naming a bad option breaks the build).
    """
    from torchgan_lstm.app.cli import main

    out = io.StringIO()
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        with contextlib.redirect_stdout(out):
            main(argv)
    except SystemExit as done:
        if done.code not in (0, None):
            raise RuntimeError(f"torchgan-lstm {shlex.join(argv)} exited {done.code}") from None
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return out.getvalue()


def cli_help(command: str = "") -> str:
    """The help text of ``torchgan-lstm COMMAND`` (no command: the top level)."""
    return run_cli([*command.split(), "--help"])


def print_config(options: str = "") -> str:
    """The resolved run configuration of ``torchgan-lstm train OPTIONS --print-config``."""
    return run_cli(["train", *shlex.split(options), "--print-config"])


def render(markdown: str) -> str:
    """``markdown`` with every marker replaced by a fenced block of its generated text."""

    def replace(match: re.Match) -> str:
        kind, args = match[1], match[2].strip()
        if kind == "cli-help":
            return f"```text\n{cli_help(args).rstrip()}\n```"
        return f"```yaml\n{print_config(args).rstrip()}\n```"

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **kwargs) -> str:
    return render(markdown)


def on_files(files, config):
    from mkdocs.structure.files import File

    for picture in sorted((ROOT / "benchmarks" / "results").glob("*.png")):
        path = picture.relative_to(ROOT).as_posix()
        if files.get_file_from_path(path) is None:
            files.append(File(path, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files

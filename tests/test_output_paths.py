"""Nothing of the user's is overwritten: run folders, sample files, exports and metric reports,
through the real command line."""

from __future__ import annotations

import os

import pytest

from .conftest import SINES_TINY as SINES
from .conftest import cli_exit as run
from .conftest import tree


def test_a_folder_holding_the_users_files_is_refused(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("years of work")
    before = tree(tmp_path)
    code, err = run(["train", *SINES, "--out", tmp_path], capsys)
    assert code == 2 and "already holds files (thesis.tex)" in err and "--overwrite" in err
    assert tree(tmp_path) == before


def test_an_earlier_run_is_never_replaced_by_a_new_run(sines_run, capsys):
    before = tree(sines_run)
    code, err = run(["train", *SINES, "--seed", "1", "--out", sines_run], capsys)
    assert code == 2 and "already holds an earlier run" in err
    assert tree(sines_run) == before


def test_overwrite_replaces_only_the_files_a_run_writes(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert run(["train", *SINES, "--out", tmp_path, "--overwrite", "true"], capsys)[0] == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "checkpoints" / "gan0.model").is_file()


def test_resuming_writes_into_the_runs_own_folder_only(sines_run, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.yaml").write_text("data: {}\n")
    checkpoint = sines_run / "checkpoints" / "gan0.model"
    code, err = run(["train", *SINES, "--resume", checkpoint, "--out", other], capsys)
    assert code == 2 and f"--out '{other}' already holds an earlier run" in err
    code, _ = run(["train", *SINES, "--max_steps", "4", "--resume", "auto", "--out", sines_run],
                  capsys)  # fmt: skip
    assert code == 0


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("", "--out must name a folder or file, got ''"),
        ("   ", "--out must name a folder or file"),
        ("/", "must not be a filesystem root or the home folder"),
        ("~", "must not be a filesystem root or the home folder"),
    ],
)
def test_empty_root_and_home_folders_are_refused(out, message, capsys):
    code, err = run(["train", *SINES, "--out", out], capsys)
    assert code == 2 and message in err


def test_a_file_or_an_unwritable_place_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "report.pdf").write_text("%PDF")
    code, err = run(["train", *SINES, "--out", tmp_path / "report.pdf"], capsys)
    assert code == 2 and "is a file; a run writes a folder" in err
    code, err = run(["train", *SINES, "--out", tmp_path / "report.pdf" / "run"], capsys)
    assert code == 2 and "cannot be created" in err
    code, err = run(["train", *SINES, "--out", "/proc/torchgan-lstm-run"], capsys)
    assert code == 2 and "cannot be created" in err
    assert (tmp_path / "report.pdf").read_text() == "%PDF"


def test_sample_never_writes_over_a_file_unless_told(sines_run, tmp_path, capsys):
    out = tmp_path / "mine.npy"
    out.write_bytes(b"keep")
    code, err = run(["sample", sines_run, "--out", out, "--n", "3"], capsys)
    assert code == 2 and "already exists" in err and out.read_bytes() == b"keep"
    assert (
        run(["sample", sines_run, "--out", out, "--n", "3", "--overwrite", "true"], capsys)[0] == 0
    )
    assert out.stat().st_size > 4


def test_export_refuses_a_file_and_a_folder_holding_files(sines_run, tmp_path, capsys):
    (tmp_path / "model.bin").write_text("x")
    code, err = run(["export", sines_run, tmp_path / "model.bin"], capsys)
    assert code == 2 and "out_dir" in err and "is a file; name a folder" in err
    code, err = run(["export", sines_run, tmp_path], capsys)
    assert code == 2 and "already holds files" in err
    assert run(["export", sines_run, tmp_path / "fresh"], capsys)[0] == 0


def test_evaluate_checks_its_json_path_before_scoring(sines_run, tmp_path, capsys, monkeypatch):
    from torchgan_lstm.app import sequences

    def never(*args, **kwargs):
        raise AssertionError("scored before the --json path was checked")

    monkeypatch.setattr(sequences, "evaluate_sequence_generator", never)
    (tmp_path / "metrics.json").write_text("{}")
    for target, message in (
        (tmp_path / "metrics.json", "already exists"),
        (tmp_path, "is a folder; name a file"),
        (tmp_path / "metrics.json" / "x.json", "cannot be created"),
    ):
        code, err = run(["evaluate", sines_run, "--json", target], capsys)
        assert code == 2 and "--json" in err and message in err, err
    assert os.path.getsize(tmp_path / "metrics.json") == 2

"""Checkpoints from strangers: every kind of payload is refused and none of its code runs."""

from __future__ import annotations

import contextlib
import os
import pickle
import stat
import subprocess
import time
import zipfile

import pytest
import torch

from torchgan_lstm.app.run import load_generator
from torchgan_lstm.checkpoint import (
    CheckpointError,
    atomic_save,
    remove_stale_temporaries,
    safe_load,
)

from .test_reproducibility import run_cli


class _OsSystem:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


class _Popen:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (subprocess.Popen, (["touch", self.target],))


class _Eval:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (eval, (f"open({self.target!r}, 'w').close()",))


class UserClass:
    """Harmless, but not on the allow-list: refused all the same."""


def _legitimate(payload) -> dict:
    return {"epoch": 1, "generator": {"w": torch.zeros(2)}, "loss_information": payload}


def _zip_with_raw_pickle(path, target) -> None:
    """A torch zip checkpoint whose data.pkl was written by hand: ``exec`` an ``open()``."""
    torch.save({"w": torch.zeros(2)}, path)
    raw = (
        b"\x80\x02cbuiltins\nexec\nq\x00X"
        + len(code := f"open({str(target)!r}, 'w').close()".encode()).to_bytes(4, "little")
        + code
        + b"\x85q\x01Rq\x02."
    )
    with zipfile.ZipFile(path) as src:
        entries = {name: src.read(name) for name in src.namelist()}
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in entries.items():
            dst.writestr(name, raw if name.endswith("data.pkl") else data)


def _make(kind: str, path, target) -> None:
    if kind == "os.system via __reduce__":
        torch.save(_legitimate(_OsSystem(target)), path)
    elif kind == "subprocess.Popen via __reduce__":
        torch.save(_legitimate(_Popen(target)), path)
    elif kind == "eval via __reduce__":
        torch.save(_legitimate(_Eval(target)), path)
    elif kind == "payload nested in dicts and lists":
        torch.save({"generator": {"a": [{"b": (1, _OsSystem(target))}]}}, path)
    elif kind == "non-allow-listed class":
        torch.save(_legitimate(UserClass()), path)
    elif kind == "hand-written pickle in a torch zip":
        _zip_with_raw_pickle(path, target)
    elif kind == "legacy (non-zip) torch format":
        torch.save(_legitimate(_OsSystem(target)), path, _use_new_zipfile_serialization=False)
    elif kind == "plain pickle, not torch":
        path.write_bytes(pickle.dumps(_legitimate(_OsSystem(target))))
    else:
        raise AssertionError(kind)


PAYLOADS = [
    "os.system via __reduce__",
    "subprocess.Popen via __reduce__",
    "eval via __reduce__",
    "payload nested in dicts and lists",
    "non-allow-listed class",
    "hand-written pickle in a torch zip",
    "legacy (non-zip) torch format",
    "plain pickle, not torch",
]


@pytest.mark.parametrize("kind", PAYLOADS)
def test_malicious_checkpoint_is_refused_and_runs_nothing(kind, tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.model"
    _make(kind, path, target)
    with pytest.raises(CheckpointError, match=r"refusing to load|cannot read checkpoint") as info:
        safe_load(path)
    assert not target.exists()
    with pytest.raises(CheckpointError):
        load_generator(path)
    assert run_cli("sample", str(path), "--out", str(tmp_path / "s.png"), "--device", "cpu") == 2
    assert not target.exists() and not (tmp_path / "s.png").exists()
    if kind != "non-allow-listed class":
        if kind != "plain pickle, not torch":  # that one is not even parsed (pickle opcodes
            assert "refusing to load" in str(info.value)  # the weights-only reader lacks)
        # Control: the payload is real; unpickling without the allow-list runs it.
        with contextlib.suppress(Exception):  # some payloads break the load after running
            torch.load(path, weights_only=False)
        for _ in range(50):  # Popen's child writes the file a moment later
            if target.exists():
                break
            time.sleep(0.05)
        assert target.exists(), "the control should have run the payload"
    else:
        assert "UserClass" in str(info.value)


def test_atomic_save_gives_the_file_the_usual_permissions(tmp_path):
    path = tmp_path / "ckpt.model"
    atomic_save({"w": torch.zeros(1)}, path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_stale_temporaries_from_a_killed_save_are_removed(tmp_path):
    (tmp_path / ".gan0.model.x1y2.tmp").write_bytes(b"half")
    (tmp_path / "gan0.model").write_bytes(b"kept")
    assert [p.name for p in remove_stale_temporaries(tmp_path)] == [".gan0.model.x1y2.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gan0.model"]


def _poison(checkpoint_path, out_folder, part: str, value: float = float("nan")):
    """A copy of a real run folder whose checkpoint holds ``value`` in one tensor of ``part``;
    return the copied checkpoint and the poisoned tensor's name."""
    import shutil
    from pathlib import Path

    run = Path(checkpoint_path).parent.parent
    shutil.copytree(run, out_folder)
    path = out_folder / "checkpoints" / Path(checkpoint_path).name
    checkpoint = safe_load(path)
    state = checkpoint[part]
    if part.startswith("optimizer"):  # {"state": {index: {"exp_avg": ...}}}
        state = {f"state.{i}.{k}": v for i, s in state["state"].items() for k, v in s.items()}
    name = next(k for k, v in state.items() if isinstance(v, torch.Tensor) and v.numel() >= 12)
    state[name].view(-1)[:12] = value
    torch.save(checkpoint, path)
    return path, name


@pytest.mark.parametrize(
    ("command", "part"),
    [
        ("sample", "generator"),
        ("sample", "generator_ema"),
        ("evaluate", "generator_ema"),
        ("export", "generator"),
        ("resume", "discriminator"),
        ("resume", "optimizer_generator"),
    ],
)
def test_non_finite_weights_are_refused_by_every_command_naming_the_tensor(
    command, part, tiny_checkpoint, tmp_path, capsys
):
    from torchgan_lstm.app import cli

    path, name = _poison(tiny_checkpoint, tmp_path / "run", part, float("inf"))
    out = tmp_path / "out"
    argv = {
        "sample": ["sample", str(path), "--out", f"{out}.png", "--device", "cpu"],
        "evaluate": ["evaluate", str(path), "--device", "cpu", "--json", f"{out}.json"],
        "export": ["export", str(path), str(out)],
        "resume": ["train", "--resume", str(path), "--max_steps", "4", "--progress", "false"],
    }[command]
    before = sorted(p.name for p in (tmp_path / "run").rglob("*"))
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"{part} tensor" in err and name in err and "12 NaN/inf values" in err, err
    assert str(path) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"], "nothing was written"
    assert sorted(p.name for p in (tmp_path / "run").rglob("*")) == before


def test_non_finite_data_scaling_in_a_checkpoint_is_refused(tiny_checkpoint, tmp_path):
    path, _ = _poison(tiny_checkpoint, tmp_path / "run", "generator", 0.0)
    checkpoint = safe_load(path)
    checkpoint["data_info"] = {"scaler_min": [0.0], "scaler_max": [float("nan")]}
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match=r"data_info.scaler_max must be a list of finite"):
        load_generator(path)

"""scripts/setup, run for real in a sandbox: a copy of the script beside stand-in project files,
with fake ``python3``, ``id``, ``apt-get`` and ``sudo`` first on PATH that log their calls.

The checkout's own .venv is never touched: the script works in the sandbox's folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "setup"

# Python as Debian ships it: with FAKE_VENV=no-ensurepip, ``-m venv`` fails the way it does
# without the python3-venv package (a .venv without pip, Debian's advice, exit 1); with
# FAKE_VENV=disk-full it fails for a reason that package would not cure.
FAKE_PYTHON = r"""#!/usr/bin/env bash
echo "python3 $*" >>"$CALL_LOG"
if [ "$1" = -c ]; then echo 3.11; exit 0; fi
if [ "$1" = -m ] && [ "$2" = venv ]; then
  dir=${!#}
  mkdir -p "$dir/bin"
  # The venv's python: logs its calls; without torch (FAKE_TORCH=absent) 'import torch' fails.
  cat >"$dir/bin/python" <<'EOF'
#!/usr/bin/env bash
echo "venv-python $*" >>"$CALL_LOG"
if [ "$1" = -c ] && [ "${FAKE_TORCH:-present}" = absent ]; then exit 1; fi
exit 0
EOF
  chmod +x "$dir/bin/python"
  if [ "${FAKE_VENV:-ok}" = no-ensurepip ]; then
    echo "The virtual environment was not created successfully because ensurepip is not"
    echo "available.  On Debian/Ubuntu systems, you need to install the python3-venv"
    echo "package using the following command."
    echo
    echo "    apt install python3.11-venv"
    exit 1
  fi
  if [ "${FAKE_VENV:-ok}" = disk-full ]; then
    echo "Error: [Errno 28] No space left on device: '$dir/lib'"
    exit 1
  fi
  cp "$dir/bin/python" "$dir/bin/pip"
  exit 0
fi
exit 0
"""
# df -Pk as coreutils prints it, with FAKE_FREE_KB kilobytes available.
FAKE_DF = """#!/usr/bin/env bash
echo "df $*" >>"$CALL_LOG"
echo "Filesystem 1024-blocks Used Available Capacity Mounted on"
echo "/dev/vda 264241152 260000000 ${FAKE_FREE_KB:-100000000} 99% /"
"""
FAKE_ID = """#!/usr/bin/env bash
echo "id $*" >>"$CALL_LOG"
echo "$FAKE_UID"
"""
FAKE_LOGGER = """#!/usr/bin/env bash
echo "{name} $*" >>"$CALL_LOG"
"""


@dataclass
class Run:
    returncode: int
    stderr: str
    calls: list[str]


class Sandbox:
    """A folder holding ``scripts/setup`` and the files it hashes, and the fake programs."""

    def __init__(self, root: Path):
        self.repo = root / "repo"
        (self.repo / "scripts").mkdir(parents=True)
        shutil.copy(SCRIPT, self.repo / "scripts" / "setup")
        (self.repo / "pyproject.toml").write_text('[project]\nname = "stand-in"\n')
        (self.repo / "setup.cfg").write_text("[options]\n")
        self.bin = root / "bin"
        self.bin.mkdir()
        fakes = {"python3": FAKE_PYTHON, "id": FAKE_ID, "df": FAKE_DF}
        fakes |= {name: FAKE_LOGGER.format(name=name) for name in ("apt-get", "sudo")}
        for name, text in fakes.items():
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        self.log = root / "calls.log"
        self.dataset = root / "no-dataset"  # absent unless a test makes it

    def run(self, uid: int = 1000, **env: str) -> Run:
        self.log.write_text("")
        environ = {k: v for k, v in os.environ.items() if k not in ("TORCHGAN_LSTM_DATA", "PYTHON")}
        environ |= {
            "PATH": f"{self.bin}{os.pathsep}{environ['PATH']}",
            "CALL_LOG": str(self.log),
            "FAKE_UID": str(uid),
            "DEBIAN_FASHION_MNIST": str(self.dataset),
            **env,
        }
        done = subprocess.run(
            ["bash", str(self.repo / "scripts" / "setup")],
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Run(done.returncode, done.stderr, self.log.read_text().splitlines())


def pip_calls(run: Run) -> list[str]:
    return [c for c in run.calls if " pip " in f" {c} "]


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    return Sandbox(tmp_path)


def test_first_run_makes_the_venv_and_installs_without_upgrading_pip(sandbox):
    run = sandbox.run()
    assert run.returncode == 0, run.stderr
    assert "python3 -m venv --clear .venv" in run.calls
    assert pip_calls(run) == ["venv-python -m pip install --quiet -e .[test,docs,mujoco]"]
    assert (sandbox.repo / ".venv" / ".setup-stamp").is_file()


def test_second_run_with_unchanged_files_makes_no_pip_call(sandbox):
    assert sandbox.run().returncode == 0
    again = sandbox.run()
    assert again.returncode == 0, again.stderr
    assert pip_calls(again) == []
    assert not [c for c in again.calls if c.startswith("python3")]
    assert "up to date" in again.stderr


def test_changed_project_files_install_again(sandbox):
    assert sandbox.run().returncode == 0
    with (sandbox.repo / "setup.cfg").open("a") as f:
        f.write("packages = find:\n")
    again = sandbox.run()
    assert again.returncode == 0, again.stderr
    assert pip_calls(again) == ["venv-python -m pip install --quiet -e .[test,docs,mujoco]"]
    assert "python3 -m venv --clear .venv" not in again.calls  # the venv is kept


def test_non_root_never_calls_sudo_and_prints_the_install_command(sandbox):
    run = sandbox.run(uid=1000)
    assert run.returncode == 0, run.stderr
    assert not [c for c in run.calls if c.startswith(("sudo", "apt-get"))]
    assert "As root, run:   apt-get install dataset-fashion-mnist" in run.stderr
    assert "TORCHGAN_LSTM_DATA" in run.stderr


def test_root_installs_the_dataset_with_apt_get(sandbox):
    run = sandbox.run(uid=0)
    assert run.returncode == 0, run.stderr
    assert "apt-get install -y -qq dataset-fashion-mnist" in run.calls
    assert not [c for c in run.calls if c.startswith("sudo")]


@pytest.mark.parametrize("provided", ["debian package", "TORCHGAN_LSTM_DATA"])
def test_no_apt_call_when_the_dataset_is_there(sandbox, provided):
    env = {}
    if provided == "debian package":
        sandbox.dataset.mkdir()
    else:
        env["TORCHGAN_LSTM_DATA"] = str(sandbox.repo)
    run = sandbox.run(uid=0, **env)
    assert run.returncode == 0, run.stderr
    assert not [c for c in run.calls if c.startswith(("sudo", "apt-get"))]
    assert "dataset-fashion-mnist" not in run.stderr


def test_missing_venv_module_says_which_package_and_fails(sandbox):
    run = sandbox.run(FAKE_VENV="no-ensurepip")
    assert run.returncode != 0
    assert "apt-get install python3-venv" in run.stderr
    assert "apt-get install python3.11-venv" in run.stderr
    assert pip_calls(run) == []
    # The half-made .venv is gone, so the next run tries again instead of trusting it.
    assert not (sandbox.repo / ".venv").exists()


def test_other_venv_failures_do_not_blame_python3_venv(sandbox):
    run = sandbox.run(FAKE_VENV="disk-full")
    assert run.returncode != 0
    assert "No space left on device" in run.stderr
    assert "python3-venv" not in run.stderr
    assert pip_calls(run) == []


def test_a_short_disk_is_named_before_pip_installs_torch(sandbox):
    run = sandbox.run(FAKE_TORCH="absent", FAKE_FREE_KB=str(3 * 1024 * 1024))
    assert run.returncode == 0, run.stderr
    assert "only 3072 MB free where .venv lives" in run.stderr
    assert "about 6144 MB" in run.stderr
    # pip decides
    assert pip_calls(run) == ["venv-python -m pip install --quiet -e .[test,docs,mujoco]"]


def test_enough_disk_or_torch_already_there_says_nothing_about_disk(sandbox):
    ample = sandbox.run(FAKE_TORCH="absent", FAKE_FREE_KB=str(7 * 1024 * 1024))
    assert ample.returncode == 0, ample.stderr
    assert "MB free" not in ample.stderr
    assert "df -Pk .venv" in ample.calls
    (sandbox.repo / ".venv" / ".setup-stamp").unlink()  # pip runs again, torch now installed
    installed = sandbox.run(FAKE_FREE_KB="1024")
    assert installed.returncode == 0, installed.stderr
    assert "MB free" not in installed.stderr
    assert not [c for c in installed.calls if c.startswith("df")]

"""Packaging: one version, the license and type marker shipped, metadata that says what is true."""

from __future__ import annotations

import email
import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import torchgan_lstm

ROOT = Path(__file__).resolve().parents[1]
MIT_GRANT = "Permission is hereby granted, free of charge, to any person obtaining a copy"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Iterator[zipfile.ZipFile]:
    """A wheel built from a copy of the sources (the checkout gets no build/ or egg-info)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.cfg", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "torchgan_lstm", src / "torchgan_lstm", ignore=ignore)
    build = "import setuptools.build_meta as b; print(b.build_wheel('dist'))"
    done = subprocess.run(
        [sys.executable, "-c", build], cwd=src, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    name = done.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(src / "dist" / name) as archive:
        yield archive


def wheel_metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    (path,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(path))


def test_installed_version_is_the_package_version():
    assert importlib.metadata.version("torchgan-lstm") == torchgan_lstm.__version__


def test_version_is_read_without_importing_torch():
    # setuptools reads __version__ by parsing torchgan_lstm/__init__.py; if that ever needed an
    # import, building the package would need torch installed first.
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from setuptools.config.expand import read_attr\n"
        "print(read_attr('torchgan_lstm.__version__', {}, '.'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == torchgan_lstm.__version__


def test_wheel_version_is_the_package_version(wheel):
    assert wheel_metadata(wheel)["Version"] == torchgan_lstm.__version__


def test_py_typed_ships_in_the_package(wheel):
    assert (Path(torchgan_lstm.__file__).parent / "py.typed").is_file()
    assert "torchgan_lstm/py.typed" in wheel.namelist()


def test_classifier_weights_and_their_record_ship(wheel):
    names = wheel.namelist()
    assert "torchgan_lstm/metrics/fashion_classifier.pt" in names
    assert "torchgan_lstm/metrics/fashion_classifier.json" in names


def test_license_file_is_the_declared_license(wheel):
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert " ".join(MIT_GRANT.split()) in " ".join(text.split())
    assert wheel_metadata(wheel)["License-Expression"] == "MIT"
    (shipped,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(shipped).decode() == text

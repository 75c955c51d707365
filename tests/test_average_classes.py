"""benchmarks.average_classes: a run's trained generator and its average, scored on one noise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks.average_classes import class_shares, main, trained_and_average
from benchmarks.quality import run_quality
from torchgan_lstm.data import DEBIAN_FASHION_MNIST

from .conftest import TINY_QUALITY_RUN

pytestmark = pytest.mark.skipif(
    not DEBIAN_FASHION_MNIST.is_dir(), reason="needs Fashion-MNIST on disk"
)

TINY = {**TINY_QUALITY_RUN, "eval_every": 4}


def _run(tmp_path: Path, **overrides) -> Path:
    (record,) = run_quality({"lstm": {"lstm_gate": True, **overrides}}, [0], TINY, tmp_path)
    return Path(record["samples"]).parent


def test_trained_generator_and_average_are_scored_on_the_same_noise(tmp_path, capsys):
    run = _run(tmp_path, ema_decay=0.5)
    trained, average = trained_and_average(run)
    pairs = zip(trained.state_dict().values(), average.state_dict().values(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)
    shares = class_shares(average, samples=100)
    assert len(shares) == 10 and sum(shares) == pytest.approx(1, abs=1e-3)
    assert class_shares(average, samples=100) == shares  # one seed, one noise

    out = tmp_path / "shares.json"
    main([str(run), "--samples", "100", "--out", str(out)])
    saved = json.loads(out.read_text())[str(run)]
    assert saved["average"] == shares and saved["trained"] == class_shares(trained, samples=100)
    printed = capsys.readouterr().out
    assert f"| {run} | trained |" in printed and f"| {run} | average |" in printed


def test_a_run_without_an_average_is_refused(tmp_path):
    run = _run(tmp_path)
    with pytest.raises(ValueError, match="kept no average of its generator"):
        trained_and_average(run)

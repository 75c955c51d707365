"""benchmarks.average_classes: a run's trained generator and its average, scored on one noise."""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import Path

import pytest
import torch

from benchmarks.average_classes import (
    class_shares,
    main,
    trained_and_average,
    with_own_batch_stats,
)
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


def test_own_batch_stats_are_the_means_over_the_generators_own_batches(tmp_path):
    """update_bn on the generator's noise: the first batch norm's running mean is the mean of
    its inputs over those batches; weights and the original generator are untouched."""
    run = _run(tmp_path, ema_decay=0.5)
    _, average = trained_and_average(run)
    before = {k: v.clone() for k, v in average.state_dict().items()}
    own = with_own_batch_stats(average, batches=3, batch_size=8, seed=5)
    assert not own.training
    assert all(torch.equal(v, average.state_dict()[k]) for k, v in before.items())
    first = next(m for m in average.modules() if isinstance(m, torch.nn.BatchNorm2d))
    inputs = []
    probe = deepcopy(average).train()
    bn = next(m for m in probe.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.register_forward_hook(lambda _m, args, _out: inputs.append(args[0]))
    torch.manual_seed(5)
    noise = [probe.sampler(8, "cpu") for _ in range(3)]
    with torch.no_grad():
        for (z,) in noise:
            probe(z)
    expected = torch.cat(inputs).mean(dim=(0, 2, 3))
    own_first = next(m for m in own.modules() if isinstance(m, torch.nn.BatchNorm2d))
    torch.testing.assert_close(own_first.running_mean, expected)
    assert not torch.allclose(first.running_mean, expected)
    params = zip(own.parameters(), average.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in params)


def test_main_scores_own_batch_stats_and_distances(tmp_path, capsys):
    run = _run(tmp_path, ema_decay=0.5)
    out = tmp_path / "shares.json"
    main([str(run), "--samples", "100", "--batch-norm-batches", "2", "--fcd", "--out", str(out)])
    saved = json.loads(out.read_text())[str(run)]
    names = ["trained", "average", "trained, own batch stats", "average, own batch stats"]
    assert [k for k in saved if k != "fcd"] == names
    assert list(saved["fcd"]) == names and all(v > 0 for v in saved["fcd"].values())
    assert saved["fcd"]["average, own batch stats"] != saved["fcd"]["average"]
    assert "| average, own batch stats |" in capsys.readouterr().out

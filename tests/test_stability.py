"""The stability study (benchmarks/stability.py): sampler, resume, failure rule, statistics."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from benchmarks import stability, stability_report
from benchmarks.stability_report import (
    FCD_FAIL,
    budget_curve,
    failed,
    paired_differences,
    seconds_to_reach,
)


def test_the_sample_is_fixed_by_its_seed_within_the_ranges_and_extends_as_a_prefix():
    first, again, other = (stability.sample_settings(24, s) for s in (0, 0, 1))
    assert first == again and first != other
    assert stability.sample_settings(6, 0) == first[:6]
    for setting in first:
        for name in ("g_lr", "d_lr"):
            assert 2e-5 * 0.999 <= setting[name] <= 2e-3 * 1.001
        assert 0.0 <= setting["beta1"] <= 0.9
        for name in ("loss", "ncritic", "batch_size", "spectral_norm"):
            assert setting[name] in stability.SPACE[name][1]
    # Wide: both learning rates spread over most of their two decades.
    assert max(s["g_lr"] for s in first) / min(s["g_lr"] for s in first) > 20


def test_the_stored_sample_is_the_one_its_seed_draws():
    study = stability.load_settings()
    assert len(study["settings"]) >= 24
    assert study["settings"] == stability.sample_settings(len(study["settings"]), study["seed"])
    assert study["space"] == {k: list(v) for k, v in stability.SPACE.items()}


def test_the_plan_runs_every_pair_once_and_repeats_the_named_settings():
    study = {
        "pairs": list(stability.PAIRS),
        "repeat_settings": ["s00"],
        "repeat_seeds": [0, 1, 2],
        "settings": stability.sample_settings(3, 0),
    }
    runs = stability.planned_runs(study)
    assert len(runs) == 3 * 4 + 2 * 4
    assert runs[: 3 * 4] == [(s, p, 0) for s in study["settings"] for p in stability.PAIRS]
    assert {(s["id"], k) for s, _, k in runs[12:]} == {("s00", 1), ("s00", 2)}


def _record(pair="lstm+convD", setting="s00", seed=0, fcd=(90.0, 50.0), coverage=(10, 10)):
    return {
        "setting": {"id": setting},
        "pair": pair,
        "seed": seed,
        "diverged": any(v is None for v in fcd),
        "gen_steps": [100 * (i + 1) for i in range(len(fcd))],
        "cpu_seconds": [10.0 * (i + 1) for i in range(len(fcd))],
        "fcd": list(fcd),
        "coverage": list(coverage),
    }


def test_the_failure_rule_counts_divergence_collapse_and_a_distance_above_the_bar():
    assert not failed(_record())
    assert failed(_record(fcd=(90.0, None)))
    assert failed(_record(coverage=(10, 4)))
    assert not failed(_record(coverage=(10, 5)))
    assert failed(_record(fcd=(90.0, FCD_FAIL + 1)))
    assert not failed(_record(fcd=(FCD_FAIL + 1, FCD_FAIL)))  # the last evaluation counts


def test_the_budget_curve_falls_to_the_best_setting_and_ignores_no_finite_scores():
    values = [100.0, 40.0, math.inf, 70.0]
    curve = budget_curve(values, draws=4000)
    means = [row[1] for row in curve]
    assert curve[0][0] == 1 and curve[-1][0] == 4
    assert all(a >= b for a, b in itertools.pairwise(means))
    assert means[-1] < means[1] and curve[-1][2] == 40.0
    assert curve[0][2] == 40.0 and curve[0][3] == math.inf  # one draw may fail


def test_paired_differences_pair_the_same_setting_critic_and_seed():
    records = [
        _record("lstm+convD", fcd=(50.0,)),
        _record("dcgan+convD", fcd=(80.0,)),
        _record("lstm+dcganD", fcd=(60.0,)),
        _record("dcgan+dcganD", fcd=(None,)),  # diverged: no difference
        _record("lstm+convD", seed=1, fcd=(70.0,)),  # its DCGAN run is missing
    ]
    assert paired_differences(records) == [
        {"setting": "s00", "critic": "convD", "seed": 0, "diff": -30.0}
    ]


def test_at_equal_time_the_slower_run_is_read_at_the_cheaper_runs_budget():
    lstm = _record("lstm+convD", fcd=(200.0, 120.0, 60.0))  # 10, 20, 30 CPU s
    dcgan = _record("dcgan+convD", fcd=(150.0, 90.0))  # 10, 20 CPU s
    dcgan["cpu_seconds"] = [10.0, 15.0]
    (row,) = paired_differences([lstm, dcgan], equal_time=True)
    assert row["diff"] == pytest.approx(160.0 - 90.0)  # the LSTM at 15 s against DCGAN's end
    (last,) = paired_differences([lstm, dcgan])
    assert last["diff"] == pytest.approx(60.0 - 90.0)


def test_time_to_reach_is_the_first_evaluation_at_or_below_the_target():
    record = _record(fcd=(150.0, 100.0, 90.0))
    assert seconds_to_reach(record, 100.0) == 20.0
    assert seconds_to_reach(record, 50.0) is None


def test_a_tiny_study_runs_resumes_and_reports(tmp_path, monkeypatch):
    torch.manual_seed(0)
    data = TensorDataset(torch.rand(32, 1, 16, 16) * 2 - 1, torch.zeros(32, dtype=torch.long))
    real = torch.rand(16, 1, 16, 16) * 2 - 1
    study = {
        "seed": 0,
        "pairs": ["lstm+convD", "dcgan+dcganD"],
        "repeat_settings": [],
        "repeat_seeds": [0],
        "settings": [
            {"id": "a", "g_lr": 2e-4, "d_lr": 2e-4, "beta1": 0.5, "loss": "wgan-gp",
             "ncritic": 2, "batch_size": 8, "spectral_norm": False},
            {"id": "b", "g_lr": 1e-3, "d_lr": 1e-4, "beta1": 0.0, "loss": "minimax-saturating",
             "ncritic": 1, "batch_size": 8, "spectral_norm": True},
        ],
    }  # fmt: skip
    out = tmp_path / "study"
    kwargs = {"steps": 2, "eval_every": 1, "samples": 16, "size": 16}
    kwargs |= {"dataset": data, "real_images": real}
    started = stability.run_study(study, out, **kwargs)
    assert len(started) == 4 and all(p.exists() for p in started)
    record = json.loads(started[0].read_text())
    assert record["gen_steps"] == [1, 2] and len(record["fcd"]) == 2
    assert record["cpu_seconds"][1] > record["cpu_seconds"][0] > 0

    def refuse(*args, **kwargs):
        raise AssertionError("a run with a record must be skipped")

    monkeypatch.setattr(stability, "run_one", refuse)
    assert stability.run_study(study, out, **kwargs) == []
    page = stability_report.write_report(out, tmp_path / "results", "tiny")
    text = page.read_text()
    assert "| lstm | 2 |" in text and "| dcgan | 2 |" in text
    assert (tmp_path / "results" / "tiny.png").exists()


@pytest.mark.parametrize("pair", stability.PAIRS)
def test_spectral_norm_replaces_the_critics_batch_norm(pair):
    setting = {"g_lr": 1e-4, "d_lr": 1e-4, "beta1": 0.5, "loss": "hinge", "ncritic": 1,
               "batch_size": 8, "spectral_norm": True}  # fmt: skip
    _, spec = stability.build_pair(pair, setting, 16)
    critic = spec["name"](**spec["args"])
    kinds = {type(m).__name__ for m in critic.modules()}
    assert "BatchNorm2d" not in kinds
    assert any(hasattr(m, "parametrizations") for m in critic.modules())


def test_the_benchmark_runner_runs_and_reports_the_stored_study(tmp_path, monkeypatch):
    from benchmarks import run

    torch.manual_seed(0)
    data = TensorDataset(torch.rand(32, 1, 16, 16) * 2 - 1, torch.zeros(32, dtype=torch.long))
    real = torch.rand(16, 1, 16, 16) * 2 - 1
    study = {
        "seed": 0, "pairs": ["dcgan+dcganD"], "repeat_settings": [], "repeat_seeds": [0],
        "settings": [{"id": "a", "g_lr": 2e-4, "d_lr": 2e-4, "beta1": 0.5, "loss": "hinge",
                      "ncritic": 1, "batch_size": 8, "spectral_norm": False}],
    }  # fmt: skip
    monkeypatch.setattr(stability, "load_settings", lambda path: study)
    one = stability.run_one
    monkeypatch.setattr(
        stability, "run_one", lambda *a, **kw: one(*a, **kw, dataset=data, real_images=real)
    )
    monkeypatch.chdir(tmp_path)
    run.main(["--suite", "stability", "--out", "out", "--max-steps", "2", "--eval-every", "1",
              "--metric-samples", "16"])  # fmt: skip
    record = json.loads((tmp_path / "out/runs/stability/a/dcgan+dcganD/seed0.json").read_text())
    assert record["gen_steps"] == [1, 2]
    assert (tmp_path / "out/runs/stability/a/dcgan+dcganD/seed0/tensorboard").is_dir()
    assert not (tmp_path / "runs").exists()  # nothing in the caller's folder
    assert "| dcgan | 1 |" in (tmp_path / "out/stability.md").read_text()


def test_a_finished_run_keeps_its_last_distance_on_the_time_curve():
    fast = {"cpu_seconds": [10.0, 20.0], "fcd": [200.0, 100.0]}
    slow = {"cpu_seconds": [30.0, 60.0], "fcd": [150.0, 90.0]}
    grid = np.array([5.0, 15.0, 40.0, 80.0])
    curve = stability_report._curve([fast, slow], grid)
    np.testing.assert_allclose(curve[0], [np.nan, 150.0, 100.0, 100.0])
    np.testing.assert_allclose(curve[1], [np.nan, np.nan, 130.0, 90.0])

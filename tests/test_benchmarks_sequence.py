"""The sequence benchmark harness on a tiny budget (the real runs are recorded in results/)."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks.sequence import VARIANTS, main, with_overrides


def test_sequence_suite_writes_scores_per_seed_summary_and_plot(tmp_path, capsys):
    main(
        [
            "--dataset", "sines", "--seeds", "3", "--steps", "2", "--metric-runs", "2",
            "--name", "tiny", "--discriminative-iterations", "2", "--predictive-iterations", "2",
            "--out", str(tmp_path),
        ]
    )  # fmt: skip
    result = json.loads((tmp_path / "sequence-tiny.json").read_text())
    assert result["shape"] == [10000, 24, 5] and result["config"] == json.loads(
        json.dumps(VARIANTS["rcgan-conv"])
    )
    assert [run["seed"] for run in result["runs"]] == [3]
    run = result["runs"][0]
    assert run["steps"] == 2 and run["train_seconds"] > 0
    assert len(run["discriminative"]["scores"]) == 2 and 0 <= run["discriminative"]["mean"] <= 0.5
    assert run["predictive"]["mean"] > 0 and run["correlational"] >= 0 and run["frechet"] >= 0
    summary = result["summary"]
    assert len(summary) == 8 and summary["discriminative_all_runs"]["sd"] >= 0
    assert summary["train_cpu_seconds"]["mean"] > 0
    assert result["targets"] == {"discriminative": 0.011, "predictive": 0.094}
    assert (tmp_path / "sequence-tiny.png").read_bytes()[:4] == b"\x89PNG"
    assert "[sequence] tiny: discriminative" in capsys.readouterr().out


def test_resume_runs_only_new_seeds_and_keeps_every_recorded_one(tmp_path):
    tiny = ["--dataset", "sines", "--steps", "2", "--metric-runs", "1", "--name", "tiny"]
    tiny += ["--discriminative-iterations", "1", "--predictive-iterations", "1"]
    tiny += ["--out", str(tmp_path), "--no-live"]
    main([*tiny, "--seeds", "0"])
    path = tmp_path / "sequence-tiny.json"
    first = json.loads(path.read_text())["runs"][0]
    main([*tiny, "--seeds", "1", "--resume"])
    runs = json.loads(path.read_text())["runs"]
    assert [r["seed"] for r in runs] == [0, 1] and runs[0] == first
    with pytest.raises(SystemExit, match="another configuration"):
        main([*tiny, "--seeds", "2", "--resume", "--set", "batch_size=64"])


def test_overrides_change_a_copy_of_the_variant_with_json_values():
    base = VARIANTS["rcgan-conv-whiten"]
    changed = with_overrides(
        base, ["discriminator_args.whitening_floor=0.1", "batch_size=64", "loss=hinge"]
    )
    assert changed["discriminator_args"]["whitening_floor"] == 0.1
    assert changed["batch_size"] == 64 and changed["loss"] == "hinge"
    assert base["discriminator_args"]["whitening_floor"] == 0.1 and base["batch_size"] == 128


def test_ema_decay_scores_the_average_of_the_same_training_run():
    from benchmarks.sequence import run_one
    from torchgan_lstm.data import SequenceDataset, sines

    data = SequenceDataset(sines(n=256, seed=0))
    iterations = {"discriminative": 1, "predictive": 1}
    plain, live = run_one(data, VARIANTS["rcgan-conv"], 0, 3, 1, iterations)
    averaged = with_overrides(VARIANTS["rcgan-conv"], ["ema_decay=0.9"])
    record, average = run_one(data, averaged, 0, 3, 1, iterations)
    assert live.shape == average.shape == (256, 24, 5)
    # Three steps move the live weights; the average (beta 0.1, 0.18, 0.25) lags behind them.
    assert not torch.allclose(live, average, atol=1e-4)
    assert record["steps"] == plain["steps"] == 3
    # The trained weights are scored beside the average (a paired measure); the same run's.
    assert "live" not in plain and record["live"]["frechet"] == plain["frechet"]


def test_summary_pairs_the_average_with_the_trained_weights_by_seed():
    from benchmarks.sequence import summarise

    def record(seed, disc, live_disc):
        scores = {"mean": disc, "sd": 0.0, "scores": [disc]}
        live = {"discriminative": {"mean": live_disc}, "predictive": {"mean": 0.1}}
        return {
            "seed": seed, "discriminative": scores, "predictive": scores, "correlational": 0.0,
            "frechet": 0.0, "train_seconds": 1.0, "live": live,
        }  # fmt: skip

    summary = summarise([record(0, 0.01, 0.10), record(1, 0.02, 0.06), record(2, 0.03, 0.11)])
    low, high = summary["discriminative"]["ci95"]
    assert low < 0.02 < high and high - 0.02 == pytest.approx(4.303 * 0.01 / 3**0.5, rel=1e-3)
    paired = summary["average_minus_live"]["discriminative"]
    assert paired["mean"] == pytest.approx(-0.07)  # (-0.09 - 0.04 - 0.08) / 3
    assert paired["ci95"][1] < 0 and paired["p"] < 0.05
    assert summary["live"]["discriminative"]["mean"] == pytest.approx(0.09)


def test_processes_with_resume_share_the_seeds_of_one_result(tmp_path, capsys):
    import subprocess
    import sys

    tiny = ["--dataset", "sines", "--steps", "2", "--metric-runs", "1", "--name", "tiny"]
    tiny += ["--discriminative-iterations", "1", "--predictive-iterations", "1"]
    tiny += ["--out", str(tmp_path), "--no-live", "--resume"]
    path = tmp_path / "sequence-tiny.json"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        # Seed 1 is being run by a live process; seed 2 was claimed by one that died.
        (tmp_path / "sequence-tiny.seed1.claim").write_text(str(other.pid))
        (tmp_path / "sequence-tiny.seed2.claim").write_text("999999999")
        main([*tiny, "--seeds", "1", "2"])
        assert "seed 1: another process runs it, skipped" in capsys.readouterr().out
        assert [r["seed"] for r in json.loads(path.read_text())["runs"]] == [2]
        assert not (tmp_path / "sequence-tiny.seed2.claim").exists()
    finally:
        other.kill()
        other.wait()
    # The other process finished seed 0 meanwhile and wrote it: a rewrite keeps it.
    result = json.loads(path.read_text())
    result["runs"].insert(0, dict(result["runs"][0], seed=0))
    path.write_text(json.dumps(result))
    main([*tiny, "--seeds", "1"])
    assert [r["seed"] for r in json.loads(path.read_text())["runs"]] == [0, 1, 2]


def test_compare_prints_paired_differences_by_seed(tmp_path, capsys):
    tiny = ["--dataset", "sines", "--steps", "2", "--metric-runs", "1", "--seeds", "0", "1"]
    tiny += ["--discriminative-iterations", "1", "--predictive-iterations", "1"]
    tiny += ["--out", str(tmp_path), "--no-live"]
    main([*tiny, "--name", "a"])
    path = tmp_path / "sequence-a.json"
    result = json.loads(path.read_text())
    for run in result["runs"]:  # b: every score 0.1 higher than a's, seed by seed
        for key in ("discriminative", "predictive"):
            run[key]["mean"] += 0.1
        run["correlational"] += 0.1
    (tmp_path / "sequence-b.json").write_text(json.dumps(result))
    capsys.readouterr()
    main(["--compare", "a", "b", "--out", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "a - b, paired by seed (negative: a better)"
    assert lines[1].startswith("  discriminative: -0.1000 [-0.1000, -0.1000] over seeds [0, 1]")
    assert lines[1].endswith("a ahead") and "context_fid: no paired seeds" in lines[3]
    with pytest.raises(SystemExit, match="2"):
        main(["--seeds", "0"])

"""The benchmark harness itself, on tiny budgets (the real suites run from benchmarks/run.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks.quality import (
    VARIANTS,
    StepClock,
    run_quality,
    shared_fields,
    split_variant,
    summarise,
    variant_config,
)
from benchmarks.report import write_quality_report
from benchmarks.speed import _Pair, _round_robin
from torchgan_lstm.data import DEBIAN_FASHION_MNIST

from .conftest import TINY_QUALITY_RUN

TINY = TINY_QUALITY_RUN


def test_shared_overrides_go_to_the_models_that_read_them():
    base = {"hidden_size": 16, "d_layers": 2, "batch_size": 16}
    assert shared_fields(base, VARIANTS["dcgan+dcganD"]) == {"batch_size": 16}
    lstm = {"hidden_size": 16, "batch_size": 16}
    assert shared_fields(base, VARIANTS["lstm-conv+dcganD"]) == lstm
    assert shared_fields(base, VARIANTS["dcgan"]) == {"d_layers": 2, "batch_size": 16}
    assert shared_fields(base, VARIANTS["lstm-conv"]) == base


def test_variants_are_valid_and_name_their_discriminator_and_gate():
    for name, variant in VARIANTS.items():
        fields, _, _ = split_variant(variant)
        variant_config(variant).validate()
        assert "discriminator" in fields, name
        assert fields["generator"] == "dcgan" or "lstm_gate" in fields, name


def test_variants_keep_the_learning_rates_and_average_they_were_recorded_with():
    """The command line's generator rate changed to 4e-4 and its average to 0.99; a variant
    that names neither trains at DCGAN's 2e-4 for both players, without an average, as its
    recorded runs did."""
    plain = variant_config(VARIANTS["dcgan+dcganD"]).validate()
    assert (plain.g_lr, plain.d_lr, plain.ema_decay) == (2e-4, 2e-4, 0.0)
    fast = variant_config(VARIANTS["lstm-conv+convD+gate+h128-l1+gate10+glr4e-4"]).validate()
    assert (fast.g_lr, fast.d_lr, fast.ema_decay) == (4e-4, 2e-4, 0.0)
    averaged = VARIANTS["lstm-conv+convD+gate+h128-l1+gate10+glr4e-4+ema0.99"]
    assert variant_config(averaged).validate().ema_decay == 0.99


def test_generator_args_of_a_variant_reach_its_generator():
    config = variant_config(
        {**VARIANTS["lstm-conv+dcganD+gate"], "generator_args": {"lstm_input": "skip"}},
        {"hidden_size": 16, "g_step_channels": 8},
    ).validate()
    generator, _ = config.build_models()
    assert generator.decoder.lstm_input == "skip" and generator.lstm.hidden_size == 16
    assert config.generator.init_args["lstm_input"] == "skip", "recorded in the checkpoint"


def test_discriminator_args_of_a_variant_reach_its_discriminator():
    torch.manual_seed(0)
    old, new = (
        variant_config(VARIANTS[name], {"d_step_channels": 8}).validate().build_models()[1]
        for name in ("dcgan+bnD", "dcgan+bnD+kaiming-readout")
    )
    assert (old.readout_init, new.readout_init) == ("pytorch", "kaiming")
    assert new.disc.bias.abs().sum() == 0 and old.disc.bias.abs().sum() > 0


def test_step_clock_leaves_out_end_of_epoch_work(monkeypatch):
    now = iter([0.0, 1.0, 2.0, 3.0, 100.0, 101.0, 102.0])
    monkeypatch.setattr("benchmarks.quality.time.perf_counter", lambda: next(now))
    clock = StepClock()
    clock(lock_console=True)  # step 1 at t=0 (untimed: follows set-up)
    clock(lock_console=True)  # step 2 at t=1
    clock(lock_console=True)  # step 3 at t=2
    clock()  # end of epoch at t=3; evaluation runs until t=100
    clock(lock_console=True)  # step 4 at t=100 (untimed: follows the evaluation)
    clock(lock_console=True)  # step 5 at t=101
    assert clock.steps == 5 and clock.timed == 3
    assert clock.estimate() == pytest.approx(3.0 + 2 * 1.0)
    assert clock.at_epoch_end == [(3, pytest.approx(3.0))]


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="needs Fashion-MNIST on disk")
def test_quality_suite_records_curves_and_writes_report(tmp_path):
    variants = {"dcgan": {"generator": "dcgan"}, "lstm-rows": {"decoder": "rows"}}
    records = run_quality(variants, [0, 1], TINY, tmp_path / "runs")
    assert len(records) == 4
    for r in records:
        assert r["steps"] == [2, 4] and len(r["fcd"]) == 2 and len(r["coverage"]) == 2
        assert r["seconds"][0] < r["seconds"][1]
        assert len(r["class_shares"]) == 10 and sum(r["class_shares"]) == pytest.approx(1, abs=1e-3)
        assert len(r["class_shares_history"]) == 2
        assert r["class_shares_history"][-1] == r["class_shares"]
    rows = summarise(records)
    assert [(r["variant"], r["step"], r["seeds"]) for r in rows] == [
        ("dcgan", 2, 2), ("dcgan", 4, 2), ("lstm-rows", 2, 2), ("lstm-rows", 4, 2),
    ]  # fmt: skip
    write_quality_report(records, rows, TINY, tmp_path, "tiny")
    saved = json.loads((tmp_path / "tiny.json").read_text())
    assert saved["summary"][1]["fcd_mean"] == pytest.approx(rows[1]["fcd_mean"])
    assert "| lstm-rows | 4 | 2 |" in (tmp_path / "tiny.md").read_text()
    assert rows[-1]["min_class_share"] == min(min(r["class_shares"]) for r in records[2:])
    for png in ("tiny_fcd_vs_steps.png", "tiny_fcd_vs_seconds.png", "tiny_dcgan_samples.png"):
        assert (tmp_path / png).stat().st_size > 0


def test_speed_pairs_step_like_the_trainer_and_time_round_robin():
    pairs = {
        "dcgan": _Pair({"generator": "dcgan", "g_step_channels": 4, "d_step_channels": 4}, 16, 8),
        "rows": _Pair({"decoder": "rows", "hidden_size": 8, "d_step_channels": 4}, 16, 8),
    }
    before = [p.detach().clone() for p in pairs["rows"].g.parameters()]
    medians = _round_robin(pairs, "step", warmup=1, rounds=3)
    assert set(medians) == {"dcgan", "rows"} and all(t > 0 for t in medians.values())
    after = list(pairs["rows"].g.parameters())
    assert any(not (a == b).all() for a, b in zip(before, after, strict=True))


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="needs Fashion-MNIST on disk")
def test_quality_pool_trains_runs_in_separate_processes(tmp_path):
    variants = {"dcgan": {"generator": "dcgan"}, "lstm-conv": {"decoder": "conv"}}
    records = run_quality(variants, [3], {**TINY, "max_steps": 2}, tmp_path / "runs", jobs=2)
    assert [(r["variant"], r["seed"]) for r in records] == [("dcgan", 3), ("lstm-conv", 3)]
    assert all(len(r["fcd"]) == 1 for r in records)
    assert (tmp_path / "runs" / "lstm-conv" / "seed3" / "record.json").is_file()


def test_speed_pair_applies_the_mode_switches():
    pair = _Pair({"decoder": "conv", "hidden_size": 8, "d_step_channels": 4}, 16, 8, "cpu", {
        "amp": True, "channels_last": True})  # fmt: skip
    assert pair.step() > 0
    conv = next(m for m in pair.d.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert pair.g(*pair.g.sampler(2, "cpu")).dtype == torch.float32


def test_profile_groups_operators_by_model_part():
    from benchmarks.profile import _group

    assert _group("aten::mkldnn_rnn_layer_backward") == "lstm"
    assert _group("aten::_cudnn_rnn") == "lstm"
    assert _group("aten::bernoulli_") == "dropout (D)"
    assert _group("aten::convolution_backward") == "convolution"
    assert _group("aten::addmm") == "linear / matmul"
    assert _group("aten::_foreach_addcdiv_") == "optimizer (Adam)"
    assert _group("aten::tanh") == "other"


def test_run_refuses_unknown_variants_and_modes(capsys):
    from benchmarks.run import main
    from benchmarks.speed import MODES

    with pytest.raises(SystemExit) as exit_info:
        main(["--suite", "quality", "--variants", "no-such-variant"])
    assert exit_info.value.code == 2 and "unknown --variants ['no-such-variant']" in (
        capsys.readouterr().err
    )
    for mode in MODES:  # every mode the suite knows is accepted by the parser...
        with pytest.raises(SystemExit):
            main(["--suite", "speed", "--modes", mode, "--rounds", "-1", "--threads", "x"])
        assert "invalid choice" not in capsys.readouterr().err
    with pytest.raises(SystemExit):  # ...and no other
        main(["--suite", "speed", "--modes", "fp16"])
    assert "invalid choice: 'fp16'" in capsys.readouterr().err


def _result_file(folder: Path, stem: str, runs: list[dict]) -> None:
    (folder / f"{stem}.json").write_text(json.dumps({"settings": {"device": "cpu"}, "runs": runs}))


def test_ablation_table_summarises_seeds_from_the_result_files(tmp_path, monkeypatch):
    from benchmarks import ablation

    def run(variant, seed, fcd, steps=(1000, 2000), shares=(0.05, 0.95)):
        return {"variant": variant, "seed": seed, "steps": list(steps), "fcd": fcd,
                "coverage": [9.0, 10.0][: len(steps)], "class_shares": list(shares)}  # fmt: skip

    _result_file(tmp_path, "a", [run("x", 0, [300.0, 200.0]), run("x", 1, [310.0, 220.0])])
    _result_file(tmp_path, "b", [run("y", 0, [250.0], steps=(1000,), shares=(0.001, 0.999))])
    monkeypatch.setattr(ablation, "RESULTS", tmp_path)
    rows = (("group", (ablation.Row("change x", "a", "x"), ablation.Row("change y", "b", "y"))),)
    text = ablation.write_ablation(tmp_path / "out.md", rows)
    x_line = next(line for line in text.splitlines() if "change x" in line)
    assert "| 305 ± 7 | 210 ± 14 | - |" in x_line and "| 10, 10 | 5.0%, 5.0% | 2000 | 2 |" in x_line
    y_line = next(line for line in text.splitlines() if "change y" in line)
    assert "| 250 | - | - | 9 | 0.1% | 1000 | 1 |" in y_line
    with pytest.raises(ValueError, match=r"a\.json has no runs of variant 'z'"):
        ablation.write_ablation(tmp_path / "out.md", (("g", (ablation.Row("z", "a", "z"),)),))
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        ablation.write_ablation(tmp_path / "out.md", (("g", (ablation.Row("z", "missing", "z"),)),))


# benchmarks.stats: intervals and paired comparisons from result files.


def _record(variant, seed, fcd, seconds=None, steps=None, shares=None):
    steps = steps or [1000 * (i + 1) for i in range(len(fcd))]
    return {
        "variant": variant,
        "seed": seed,
        "steps": steps,
        "seconds": seconds or [100.0 * (i + 1) for i in range(len(fcd))],
        "fcd": fcd,
        "coverage": [10.0] * len(fcd),
        "class_shares": shares,
        "class_shares_history": [shares] * len(fcd) if shares else [],
    }


def _write_results(path, runs):
    path.write_text(json.dumps({"settings": {"device": "cpu"}, "summary": [], "runs": runs}))
    return path


def test_t_interval_matches_the_textbook_values():
    from benchmarks.stats import t_interval

    interval = t_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 / 3**0.5  # t(0.975, df=2) * sd 1 / sqrt(3)
    assert interval.mean == 2.0 and interval.n == 3
    assert interval.low == pytest.approx(2.0 - half) and interval.high == pytest.approx(2.0 + half)
    single = t_interval([5.0])
    assert (single.low, single.high) == (5.0, 5.0)
    with pytest.raises(ValueError, match="finite"):
        t_interval([1.0, float("nan")])


def test_paired_difference_pairs_by_seed_and_says_ahead_only_when_the_interval_does():
    from benchmarks.stats import paired_difference

    a = {0: 10.0, 1: 12.0, 2: 14.0, 7: 99.0}  # seed 7 has no partner: left out
    b = {0: 11.0, 1: 12.5, 2: 15.5, 3: 1.0}
    diff = paired_difference(a, b)
    assert diff.seeds == (0, 1, 2)
    half = 4.302652729911275 * 0.5 / 3**0.5
    assert diff.t.mean == pytest.approx(-1.0)
    assert (diff.t.low, diff.t.high) == (pytest.approx(-1 - half), pytest.approx(-1 + half))
    assert diff.verdict("A", "B") == "no claim (the interval contains 0)"
    assert -1.5 <= diff.bootstrap_low <= -1.0 <= diff.bootstrap_high <= -0.5
    from scipy.stats import ttest_rel

    expected = ttest_rel([10.0, 12.0, 14.0], [11.0, 12.5, 15.5]).pvalue  # 0.074
    assert diff.p_value == pytest.approx(expected)
    clear = paired_difference({s: 10.0 + 0.1 * s for s in range(5)}, {s: 20.0 for s in range(5)})
    assert clear.verdict("A", "B") == "A ahead" and clear.p_value < 1e-6
    assert paired_difference({0: 1.0, 1: 2.0}, {0: 2.0, 1: 3.0}).t.low == -1.0  # no spread
    assert (
        clear.bootstrap_low
        == paired_difference(
            {s: 10.0 + 0.1 * s for s in range(5)}, {s: 20.0 for s in range(5)}
        ).bootstrap_low
    ), "the bootstrap is seeded"
    with pytest.raises(ValueError, match="no seed"):
        paired_difference({0: 1.0}, {1: 1.0})


def test_values_at_steps_seconds_and_a_reference_budget():
    from benchmarks.stats import resolve_at, value_at_seconds

    run = _record("lstm", 0, [50.0, 30.0], seconds=[100.0, 200.0], shares=[0.04, 0.2])
    assert value_at_seconds(run, 150.0) == pytest.approx(40.0)
    assert value_at_seconds(run, 99.0) is None and value_at_seconds(run, 201.0) is None
    runs = [
        run,
        _record("lstm", 1, [60.0, 20.0], seconds=[100.0, 300.0]),
        _record("dcgan", 0, [45.0, 35.0], seconds=[75.0, 150.0]),
        _record("dcgan", 1, [40.0, 30.0], seconds=[100.0, 200.0]),
    ]
    at_budget = resolve_at(runs, "lstm", "budget:dcgan:2000")
    assert at_budget[0]["fcd"] == pytest.approx(40.0) and at_budget[0]["where"] == "150 s"
    assert at_budget[1]["fcd"] == pytest.approx(40.0)
    last = resolve_at(runs, "lstm", "last")
    assert last[0] == {"fcd": 30.0, "share": 0.04, "where": "step 2000"}
    assert resolve_at(runs, "lstm", "step:3000")[0]["fcd"] is None
    between = resolve_at(runs, "lstm", "step:1500")[0]  # runs on another step grid
    assert between["fcd"] == pytest.approx(40.0) and between["share"] is None
    assert between["where"] == "step 1500 (interpolated)"
    with pytest.raises(ValueError, match="no runs of variant 'gru'"):
        resolve_at(runs, "gru", "last")
    with pytest.raises(ValueError, match="at must be"):
        resolve_at(runs, "lstm", "halfway")


def test_curve_band_covers_the_seeds_where_all_have_values():
    from benchmarks.stats import curve_with_band

    runs = [
        _record("v", 0, [40.0, 20.0], seconds=[100.0, 300.0]),
        _record("v", 1, [60.0, 40.0], seconds=[150.0, 250.0]),
    ]
    xs, mean, low, high = curve_with_band(runs, "v", points=3)
    assert list(xs) == [150.0, 200.0, 250.0]
    assert mean[0] == pytest.approx((35.0 + 60.0) / 2)
    assert all(low <= mean) and all(mean <= high)
    apart = [*runs, _record("v", 2, [50.0, 30.0], seconds=[400.0, 500.0])]
    with pytest.raises(ValueError, match="share no stretch of training seconds"):
        curve_with_band(apart, "v")
    steps, step_mean, _, _ = curve_with_band(runs, "v", x="step")
    assert list(steps) == [1000.0, 2000.0] and step_mean[1] == pytest.approx(30.0)


def test_stats_command_writes_the_report_and_the_plot(tmp_path):
    from benchmarks.stats import main

    runs = [_record("lstm", s, [50.0 - s, 30.0 - s], shares=[0.06] * 10) for s in range(5)]
    runs += [_record("dcgan", s, [55.0 + s, 40.0 + s]) for s in range(5)]
    runs += [_record("even", s, [50.0, 30.0], shares=[0.07 + 0.001 * s] * 10) for s in range(5)]
    results = _write_results(tmp_path / "fake.json", runs)
    out = tmp_path / "fake-stats.md"
    main([str(results), "--pair", "lstm", "dcgan", "--pair", "lstm", "even", "--at", "last",
          "--at", "step:1000", "--out", str(out), "--plot"])  # fmt: skip
    text = out.read_text()
    assert "## At last" in text and "## At step:1000" in text
    assert "| lstm | dcgan | 5 |" in text and "lstm ahead" in text
    assert "6.0%, 6.0%" in text
    # the rarest class's share, paired in percentage points: higher is more even
    shares = text.split("Rarest class's share, paired by seed")[1]
    assert "| lstm | dcgan | 0 | n/a | n/a | no claim (no paired seeds) |" in shares
    assert "| lstm | even | 5 | -1.2 [-1.4, -1.0] | 0.000 | even ahead |" in shares
    assert (tmp_path / "fake-stats_fcd_vs_seconds.png").stat().st_size > 0


def _steps_file(tmp_path, *rows: tuple[str, str, float]) -> tuple[Path, list[dict]]:
    """A steps-suite result with one row per ``(pair, step mode, step_ms)``."""
    table = [{"pair": pair, "step": step, "step_ms": ms} for pair, step, ms in rows]
    path = tmp_path / "steps.json"
    path.write_text(json.dumps({"rows": table}))
    return path, table


def test_step_costs_put_every_run_on_one_modelled_clock(tmp_path):
    from benchmarks.stats import main, resolve_at, step_costs, with_step_costs

    steps_file, rows = _steps_file(
        tmp_path, ("dcgan", "torchgan", 100.0), ("dcgan", "both", 90.0), ("lstm", "torchgan", 200.0)
    )
    assert step_costs(steps_file) == {"dcgan": 0.1, "lstm": 0.2}
    assert step_costs(steps_file, "both") == {"dcgan": 0.09}
    # with the per-round paired ratios, those scale the first pair's median
    paired = tmp_path / "paired.json"
    rows = [{**r, "vs_first_pair": ratio} for r, ratio in zip(rows, [1.0, 0.9, 1.5], strict=True)]
    paired.write_text(json.dumps({"rows": rows}))
    assert step_costs(paired) == pytest.approx({"dcgan": 0.1, "lstm": 0.15})
    # wall clocks that disagree with the step costs (a loaded machine) are replaced
    runs = [
        _record("lstm", 0, [50.0, 30.0], seconds=[900.0, 1900.0]),
        _record("dcgan", 0, [45.0, 35.0], seconds=[75.0, 150.0]),
    ]
    modelled = with_step_costs(runs, step_costs(steps_file))
    assert modelled[0]["seconds"] == [200.0, 400.0] and runs[0]["seconds"][0] == 900.0
    # DCGAN's 2,000 steps cost 200 s: the LSTM's 1,000 steps
    assert resolve_at(modelled, "lstm", "budget:dcgan:2000")[0]["fcd"] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="no step cost for variants \\['gru'\\]"):
        with_step_costs([_record("gru", 0, [1.0])], {"lstm": 0.2})
    with pytest.raises(ValueError, match="no rows in step mode 'frozen-g'"):
        step_costs(steps_file, "frozen-g")
    results = _write_results(tmp_path / "fake.json", [*runs, _record("gru", 0, [1.0, 1.0])])
    out = tmp_path / "costed.md"
    main([str(results), "--pair", "lstm", "dcgan", "--at", "budget:dcgan:2000",
          "--step-costs", str(steps_file), "--out", str(out)])  # fmt: skip
    text = out.read_text()
    assert "Seconds are modelled" in text and "0: 50.0 (200 s)" in text
    assert "step mode `torchgan`" in text


def test_a_run_recorded_twice_needs_a_tag_and_a_tagged_file_pairs_with_its_twin(tmp_path):
    from benchmarks.stats import load_runs, main

    longer = _write_results(tmp_path / "longer.json", [_record("lstm", 0, [50.0, 30.0])])
    budget = _write_results(
        tmp_path / "budget.json", [_record("lstm", 0, [35.0], steps=[1700], seconds=[170.0])]
    )
    twice = r"variant 'lstm', seed 0 is in \S*longer\.json and in \S*budget\.json; name one FILE="
    with pytest.raises(ValueError, match=twice):
        load_runs(longer, budget)
    runs = load_runs(longer, f"{budget}=budget")
    assert [r["variant"] for r in runs] == ["lstm", "lstm@budget"]
    steps_file, _ = _steps_file(tmp_path, ("lstm", "torchgan", 100.0))
    out = tmp_path / "tagged.md"
    main([str(longer), f"{budget}=budget", "--pair", "lstm@budget", "lstm", "--at", "last",
          "--step-costs", str(steps_file), "--out", str(out)])  # fmt: skip
    text = out.read_text()
    # a tagged run keeps its variant's step cost: 1,700 steps at 0.1 s
    assert "| lstm@budget | lstm | 1 |" in text and "0: 35.0 (step 1700)" in text
    with pytest.raises(ValueError, match="tag must be non-empty"):
        load_runs(f"{budget}=")


def test_step_costs_can_come_from_the_step_mode_the_runs_trained_in(tmp_path):
    from benchmarks.stats import main

    steps_file, _ = _steps_file(
        tmp_path,
        ("dcgan", "torchgan", 100.0),
        ("dcgan", "frozen-g", 100.0),
        ("lstm", "torchgan", 200.0),
        ("lstm", "frozen-g", 100.0),
    )
    runs = [_record("lstm", 0, [50.0, 30.0]), _record("dcgan", 0, [45.0, 35.0])]
    results = _write_results(tmp_path / "fake.json", runs)
    out = tmp_path / "frozen.md"
    budget = ["--pair", "lstm", "dcgan", "--at", "budget:dcgan:2000"]
    main([str(results), *budget, "--step-costs", str(steps_file), "--step-mode", "frozen-g",
          "--out", str(out)])  # fmt: skip
    text = out.read_text()
    # on the frozen clock the LSTM's step costs DCGAN's: its 2,000 steps fit DCGAN's budget
    assert "0: 30.0 (200 s)" in text and "step mode `frozen-g`" in text
    with pytest.raises(ValueError, match="no rows in step mode 'device-log'"):
        main([str(results), *budget, "--step-costs", str(steps_file), "--step-mode",
              "device-log"])  # fmt: skip


def test_steps_suite_times_named_quality_variants_in_the_modes_asked(tmp_path):
    from benchmarks.quality import VARIANTS
    from benchmarks.step_speed import run_step_speed

    names = ["dcgan+dcganD", "lstm-conv+dcganD+gate+row-steps"]
    results = run_step_speed(
        tmp_path, rounds=1, block=1, batch=2, name="v",
        pairs={n: VARIANTS[n] for n in names}, modes=["both"],
    )  # fmt: skip
    assert [(r["pair"], r["step"]) for r in results["rows"]] == [
        (n, m) for n in names for m in ("torchgan", "both")
    ]
    assert results["rows"][0]["vs_first_pair"] == pytest.approx(1.0)
    assert "vs_first_pair_95ci" in (tmp_path / "v.md").read_text()


def test_steps_suite_updates_the_moving_average_of_a_variant_that_keeps_one(tmp_path):
    from benchmarks.quality import VARIANTS
    from benchmarks.step_speed import _Step

    def step(name):
        return _Step(VARIANTS[name], "torchgan", "minimax", 1, 2, torch.device("cpu"), tmp_path)

    averaged = step("lstm-conv+dcganD+gate+h128-l1+row-steps+ema")
    before = [p.detach().clone() for p in averaged.ema.module.parameters()]
    averaged.run(2)
    after = list(averaged.ema.module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert step("lstm-conv+dcganD+gate+h128-l1+row-steps").ema is None


def test_steps_suite_times_every_pair_and_mode_and_writes_its_table(tmp_path):
    from benchmarks.step_speed import MODES, PAIRS, run_step_speed

    results = run_step_speed(tmp_path, rounds=2, block=2, batch=4, name="tiny")
    assert {(r["pair"], r["step"]) for r in results["rows"]} == {
        (p, m) for p in PAIRS for m in MODES
    }
    for row in results["rows"]:
        frozen = MODES[row["step"]][0]
        base = next(
            r for r in results["rows"] if r["pair"] == row["pair"] and r["step"] == "torchgan"
        )
        # the frozen generator keeps none of its activations for the discriminator's step
        assert (row["d_step_saved_mb"] < base["d_step_saved_mb"]) is frozen
    assert "paired_ratio_95ci" in (tmp_path / "tiny.md").read_text()


def test_d_loss_reads_the_discriminator_loss_window_from_a_runs_tensorboard_events(tmp_path):
    """The loss TorchGAN logged, read back from real event files (written as TorchGAN writes
    them); a run whose folder is gone reports n/a instead of failing."""
    from tensorboardX import SummaryWriter

    from benchmarks.stats import discriminator_loss, main

    runs = []
    for seed, d_loss in ((0, 0.5), (1, 0.01)):
        run_dir = tmp_path / "runs" / "fake" / "dcgan" / f"seed{seed}"
        with SummaryWriter(str(run_dir / "tensorboard")) as writer:
            for step in range(1, 401):
                early = d_loss if step >= 200 else 1.4
                writer.add_scalar("Losses/MinimaxDiscriminatorLoss", early, step)
                writer.add_scalar("Losses/MinimaxGeneratorLoss", 9.0, step)
        runs.append({**_record("dcgan", seed, [300.0]), "samples": str(run_dir / "samples.png")})
    assert discriminator_loss(runs[0], 200, 300) == pytest.approx(0.5)
    assert discriminator_loss(runs[1], 100, 300) == pytest.approx((100 * 1.4 + 100 * 0.01) / 200)
    assert discriminator_loss(runs[1], 500, 600) is None
    gone = {**_record("dcgan", 2, [310.0]), "samples": str(tmp_path / "elsewhere" / "s.png")}
    assert discriminator_loss(gone, 200, 300) is None
    results = _write_results(tmp_path / "fake.json", [*runs, gone])
    out = tmp_path / "fake-stats.md"
    main([str(results), "--pair", "dcgan", "dcgan", "--d-loss", "200", "300", "--out", str(out)])
    text = out.read_text()
    assert "| dcgan | 1 | 0.010 | 300.0 |" in text and "| dcgan | 2 | n/a | 310.0 |" in text


def test_class_window_counts_the_seeds_whose_every_class_held_from_a_step_on(tmp_path):
    from benchmarks.stats import class_window_report, main

    even, short = [0.1] * 10, [0.96 / 9] * 5 + [0.04] + [0.96 / 9] * 4  # class 5 short
    steady = _record("lstm", 0, [90.0, 80.0, 70.0], shares=even)
    dips = _record("lstm", 1, [91.0, 81.0, 71.0], shares=even)
    dips["class_shares_history"][1] = short  # a dip before the last evaluation
    early = _record("lstm", 2, [92.0, 82.0, 72.0], shares=even)
    early["class_shares_history"][0] = short  # before step 2000
    old = _record("lstm", 3, [93.0, 83.0, 73.0], shares=even)
    old["class_shares_history"] = []  # recorded before shares were kept per evaluation
    text = class_window_report([steady, dips, early, old], ["lstm"], 2000)
    assert "| lstm | 0 | 2000: 10.0% (class 0), 3000: 10.0% (class 0) | 10.0% | 10.0% |" in text
    assert "| lstm | 1 | 2000: 4.0% (class 5), 3000: 10.0% (class 0) | 4.0% | 7.0% |" in text
    assert "| lstm | 3 | n/a | n/a | n/a |" in text
    assert "from step 2000 on: 2 of 3 seeds recorded" in text
    with pytest.raises(ValueError, match="start must be >= 1, got 0"):
        class_window_report([steady], ["lstm"], 0)

    out = tmp_path / "window.md"
    results = _write_results(tmp_path / "fake.json", [steady, dips, early, old])
    main([str(results), "--pair", "lstm", "lstm", "--classes-from", "1000", "--out", str(out)])
    assert "## Classes from step 1000 on" in out.read_text()
    assert "1 of 3 seeds recorded" in out.read_text()


def test_a_plain_trainer_run_is_torchgans_trainer_scored_every_epoch(tmp_path):
    from benchmarks.plain_trainer import plain_run

    torch.manual_seed(0)
    images = torch.rand(32, 1, 32, 32) * 2 - 1
    data = list(zip(images, torch.arange(32) % 10, strict=True))
    record = plain_run(
        "lstm", {"hidden_size": 8, "step_channels": 8}, {"step_channels": 8}, steps=4,
        eval_every=2, samples=16, batch_size=8, out=tmp_path, dataset=data,
    )  # fmt: skip
    assert record["steps"] == [2, 4]
    assert len(record["fcd"]) == len(record["coverage"]) == len(record["class_shares"]) == 2
    assert all(1 <= c <= 10 for c in record["coverage"])
    assert all(abs(sum(s) - 1) < 1e-3 for s in record["class_shares"])
    assert list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))


def test_the_plain_trainer_report_counts_collapsed_seeds_per_configuration(tmp_path):
    from benchmarks.plain_trainer import plot_runs, report

    def run(seed, coverage, fcd, g_args=None):
        return {
            "generator": "lstm", "g_args": g_args or {}, "d_args": {}, "seed": seed,
            "steps": [500, 1000], "coverage": coverage, "fcd": fcd, "cpu_seconds": 10.0,
        }  # fmt: skip

    records = [
        run(1, [9, 10], [300.0, 200.0]),
        run(0, [2, 1], [600.0, 650.0]),
        run(2, [8, 10], [310.0, 250.0]),
        run(0, [3, 4], [500.0, 400.0], {"step_channels": 64}),
    ]
    assert plot_runs(records, tmp_path / "runs.png").stat().st_size > 10_000
    text = report(records)
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows[0].startswith(
        "| `LSTMGenerator()` vs `ConvDiscriminator()` | 0 | 2 / 600 | 1 / 650"
    )
    summary = [line for line in text.splitlines() if line.startswith("- ")]
    assert summary == [
        "- `LSTMGenerator()` vs `ConvDiscriminator()`: collapsed (< 5 classes at step 1,000) in"
        " 1 of 3 seeds (seed 0); final FCD 366.7 [-246.0, 979.4]",
        "- `LSTMGenerator(step_channels=64)` vs `ConvDiscriminator()`: collapsed (< 5 classes at"
        " step 1,000) in 1 of 1 seeds (seed 0); final FCD 400.0 (n=1)",
    ]


def test_table_designs_are_compared_with_the_default_paired_by_seed():
    from benchmarks.table_truth import KEYS, paired_against_default

    def report(level, length):
        return {"trained": {**dict.fromkeys(KEYS, level), "length_distance": length}}

    results = {}
    for seed, noise in enumerate([0.0, 0.01, -0.01, 0.02]):
        results[f"default/{seed}"] = report(0.1 + noise, 0.1 + noise)
        results[f"same/{seed}"] = report(0.1 - noise, 0.1 - noise)
        results[f"shorter/{seed}"] = report(0.1 + noise, 0.03 + noise)
    lines = paired_against_default(results, ["default", "same", "shorter"], [0, 1, 2, 3])
    assert lines[0].startswith("same - default, mean of the distances: -0.010 [")
    assert lines[0].endswith("over 4 paired seeds; no property moved")
    assert lines[1] == (
        "shorter - default, mean of the distances: -0.010 [-0.010, -0.010] over 4 paired "
        "seeds; interval excludes 0: length_distance -0.070 [-0.070, -0.070]"
    )

"""Statistics that can carry a claim, from the quality suite's result files.

Per variant: the mean Frechet classifier distance over seeds with its 95 % Student-t interval,
and the rarest class's share of the samples. Per pair of variants: the paired difference over
the seeds both ran (``A - B``; negative means A is better), with a 95 % t-interval, a 95 %
percentile-bootstrap interval and the paired t-test's p-value. "A ahead" is written only where
the t-interval excludes 0. Curves: distance against training seconds (or steps), the mean over
seeds with a 95 % t-band.

Values are compared at the last evaluation of each run, at a step, at a number of training
seconds (linear interpolation between the evaluations around it), or at the time budget of a
reference variant: ``budget:dcgan+dcganD:4000`` is, for each seed, the seconds that seed's
DCGAN run took to reach step 4000 (the issue's equal-wall-clock comparison).

Each run's seconds are its own wall clock, which a shared machine inflates unevenly between runs.
``--step-costs STEP_RESULT`` replaces them by ``step x`` that variant's per-step time from one
interleaved steps-suite run (``python -m benchmarks.run --suite steps --step-variants ...``),
whose blocks of all variants alternate, so their ratio holds under load: budgets and curves
then compare the variants at equal modelled training time.

A run of one variant and seed may be in one loaded file only; ``FILE=TAG`` loads a file's
variants as ``VARIANT@TAG`` (a seed trained again to another step pairs with its longer run).

``--d-loss START STOP`` adds, per run, the mean discriminator loss that TorchGAN logged over
steps ``[START, STOP)``, read back from the run's TensorBoard events: in the runs recorded here
a discriminator that had won early (a loss near 0 by step 300) preceded every collapse, though
not every such run collapsed.

``python -m benchmarks.stats gate-cpu ema-gate-cpu --pair lstm-conv+dcganD+gate dcgan+dcganD
--at budget:dcgan+dcganD:4000 --plot``
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

__all__ = [
    "Interval",
    "PairedDifference",
    "bootstrap_interval",
    "class_window_report",
    "curve_with_band",
    "load_runs",
    "paired_difference",
    "plot_curves",
    "resolve_at",
    "step_costs",
    "t_interval",
    "value_at_seconds",
    "value_at_step",
    "with_step_costs",
]

RESULTS = Path(__file__).resolve().parent / "results"
SHARE_TARGET = 0.05  # issue 14: every class at least 5 % of the samples


@dataclass(frozen=True)
class Interval:
    """A mean and its confidence interval over ``n`` values (``low == high == mean`` for n=1)."""

    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        if self.n < 2:
            return f"{self.mean:.1f} (n={self.n})"
        return f"{self.mean:.1f} [{self.low:.1f}, {self.high:.1f}]"


@dataclass(frozen=True)
class PairedDifference:
    """``A - B`` over the seeds both variants ran."""

    seeds: tuple[int, ...]
    t: Interval  # mean difference with its Student-t interval
    bootstrap_low: float
    bootstrap_high: float
    p_value: float  # two-sided paired t-test

    def verdict(self, a: str, b: str, lower_is_better: bool = True) -> str:
        """``"<a> ahead"``, ``"<b> ahead"`` where the t-interval excludes 0, else no claim."""
        if len(self.seeds) < 2:
            return "no claim (fewer than 2 paired seeds)"
        if self.t.high < 0:
            return f"{a if lower_is_better else b} ahead"
        if self.t.low > 0:
            return f"{b if lower_is_better else a} ahead"
        return "no claim (the interval contains 0)"


def t_interval(values: list[float], confidence: float = 0.95) -> Interval:
    """Mean of ``values`` with its Student-t confidence interval.

    Raises:
        ValueError: ``values`` is empty or holds a non-finite number.
    """
    values = [float(v) for v in values]
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"t_interval needs finite values, got {values}")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Interval(mean, mean, mean, len(values))
    half = scipy_stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * statistics.stdev(values)
    half /= math.sqrt(len(values))
    return Interval(mean, mean - half, mean + half, len(values))


def bootstrap_interval(
    values: list[float], confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``values`` (deterministic for ``seed``).

    With few values it is too narrow to trust on its own: it never leaves the values' range
    (with 3 seeds there are only 10 distinct resamples); read it beside the t-interval.
    """
    data = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def paired_difference(
    a: dict[int, float], b: dict[int, float], confidence: float = 0.95, seed: int = 0
) -> PairedDifference:
    """``A - B`` paired by seed, over the seeds present (and finite) in both.

    Raises:
        ValueError: no seed is shared.
    """
    seeds = tuple(s for s in sorted(set(a) & set(b)) if math.isfinite(a[s]) and math.isfinite(b[s]))
    if not seeds:
        raise ValueError(f"no seed with a value in both: {sorted(a)} vs {sorted(b)}")
    diffs = [a[s] - b[s] for s in seeds]
    interval = t_interval(diffs, confidence)
    low, high = bootstrap_interval(diffs, confidence, seed=seed)
    p_value = math.nan
    if len(diffs) > 1:
        sd = statistics.stdev(diffs)
        if sd > 0:
            t_stat = interval.mean / (sd / math.sqrt(len(diffs)))
            p_value = float(2 * scipy_stats.t.sf(abs(t_stat), len(diffs) - 1))
        else:
            p_value = 0.0 if interval.mean != 0 else 1.0
    return PairedDifference(seeds, interval, low, high, p_value)


def load_runs(*sources: str | Path) -> list[dict]:
    """The run records of result files (stems under ``benchmarks/results/`` or paths).

    ``SOURCE=TAG`` renames that file's variants to ``VARIANT@TAG``, so that a run recorded in
    two files (a seed trained again to another step, say) can be compared with its twin.

    Raises:
        FileNotFoundError: a result file is missing.
        ValueError: an empty tag, or two files hold a run of the same variant and seed.
    """
    runs, origin = [], {}
    for source in sources:
        source, tag = _split_tag(source)
        path = Path(source)
        if not path.suffix:
            path = RESULTS / f"{source}.json"
        if not path.is_file():
            raise FileNotFoundError(f"no result file {path}")
        for run in json.loads(path.read_text())["runs"]:
            if tag:
                run = {**run, "variant": f"{run['variant']}@{tag}"}
            key = (run["variant"], run["seed"])
            if key in origin and origin[key] != path:
                raise ValueError(
                    f"variant {key[0]!r}, seed {key[1]} is in {origin[key]} and in {path}; "
                    f"name one FILE=TAG to compare its runs as '{key[0]}@TAG'"
                )
            origin[key] = path
            runs.append(run)
    return runs


def _split_tag(source: str | Path) -> tuple[str | Path, str]:
    if isinstance(source, Path) or "=" not in source or Path(source).exists():
        return source, ""
    source, _, tag = source.rpartition("=")
    if not tag:
        raise ValueError(f"tag must be non-empty: {source}=TAG, got {source}=")
    return source, tag


def _untagged(variant: str) -> str:
    return variant.partition("@")[0]


def step_costs(source: str | Path, mode: str = "torchgan") -> dict[str, float]:
    """Seconds per training step of each pair of a steps-suite result (stem or path), ``mode``:
    the first pair's median step times each pair's mean per-round ratio to it (results without
    that ratio: each pair's median).

    Raises:
        FileNotFoundError: the result file is missing.
        ValueError: it has no row in ``mode``.
    """
    path = Path(source)
    if not path.suffix:
        path = RESULTS / f"{source}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no steps-suite result file {path}")
    all_rows = json.loads(path.read_text())["rows"]
    rows = [r for r in all_rows if r["step"] == mode]
    if not rows:
        raise ValueError(f"{path} has no rows in step mode {mode!r}")
    if all("vs_first_pair" in r for r in rows):
        # the paired per-round ratios, on the first pair's median step: robust to load drift
        first = all_rows[0]["step_ms"] / 1000
        return {r["pair"]: first * r["vs_first_pair"] for r in rows}
    return {r["pair"]: r["step_ms"] / 1000 for r in rows}


def with_step_costs(runs: list[dict], costs: dict[str, float]) -> list[dict]:
    """Copies of ``runs`` whose ``seconds`` are ``step x costs[variant]`` (modelled time; a
    tagged variant, ``VARIANT@TAG``, costs what ``VARIANT`` does).

    Raises:
        ValueError: a run's variant has no cost.
    """
    missing = sorted({_untagged(r["variant"]) for r in runs} - set(costs))
    if missing:
        raise ValueError(f"no step cost for variants {missing}; costs known for {sorted(costs)}")
    return [
        {**r, "seconds": [step * costs[_untagged(r["variant"])] for step in r["steps"]]}
        for r in runs
    ]


def value_at_step(run: dict, step: int, metric: str = "fcd") -> float | None:
    """The run's ``metric`` at evaluation step ``step``; ``None`` if it was not evaluated there."""
    if step in run["steps"]:
        return run[metric][run["steps"].index(step)]
    return None


def value_at_seconds(run: dict, seconds: float, metric: str = "fcd") -> float | None:
    """The run's ``metric`` after ``seconds`` of training, interpolated linearly between the
    evaluations around it; ``None`` before its first or after its last evaluation."""
    xs, ys = run["seconds"], run[metric][: len(run["seconds"])]
    if not xs or seconds < xs[0] or seconds > xs[-1]:
        return None
    return float(np.interp(seconds, xs, ys))


def _rarest_share(run: dict, index: int) -> float | None:
    # Older records keep the final evaluation's shares only.
    history = run.get("class_shares_history") or []
    if len(history) > index and history[index]:
        return min(history[index])
    if index == len(run["steps"]) - 1 and run.get("class_shares"):
        return min(run["class_shares"])
    return None


def resolve_at(runs: list[dict], variant: str, at: str) -> dict[int, dict]:
    """Per seed of ``variant``: ``{"fcd", "share", "where"}`` at ``at``.

    ``at``: ``"last"`` (each run's last evaluation), ``"step:N"`` (interpolated linearly between
    the evaluations around N when N was not evaluated), ``"seconds:T"`` or
    ``"budget:VARIANT:N"`` (for each seed, the seconds that seed's run of VARIANT took to reach
    step N). ``share`` (the rarest class's share) is known at evaluations only, else ``None``;
    ``fcd`` is ``None`` where the run has no value there.

    Raises:
        ValueError: unknown ``at``, or no run of ``variant`` (or of the budget's variant).
    """
    mine = _by_seed(runs, variant)
    kind, _, rest = at.partition(":")
    if kind not in ("last", "step", "seconds", "budget"):
        raise ValueError(
            f"at must be 'last', 'step:N', 'seconds:T' or 'budget:VARIANT:N', got {at!r}"
        )
    if kind == "budget":
        reference, _, step = rest.rpartition(":")
        budgets = {s: _seconds_at_step(r, int(step)) for s, r in _by_seed(runs, reference).items()}
    out = {}
    for seed, run in mine.items():
        if kind in ("last", "step"):
            step = run["steps"][-1] if kind == "last" else int(rest)
            index = run["steps"].index(step) if step in run["steps"] else None
            fcd = None if index is None else run["fcd"][index]
            where = f"step {step}"
            if index is None and run["steps"] and run["steps"][0] <= step <= run["steps"][-1]:
                # runs evaluated on other step grids meet by linear interpolation
                fcd = float(np.interp(step, run["steps"], run["fcd"][: len(run["steps"])]))
                where = f"step {step} (interpolated)"
        else:
            seconds = float(rest) if kind == "seconds" else budgets.get(seed)
            fcd = None if seconds is None else value_at_seconds(run, seconds)
            index = run["seconds"].index(seconds) if seconds in run["seconds"] else None
            where = "no budget" if seconds is None else f"{seconds:.0f} s"
        share = None if index is None else _rarest_share(run, index)
        out[seed] = {"fcd": fcd, "share": share, "where": where}
    return out


def _by_seed(runs: list[dict], variant: str) -> dict[int, dict]:
    mine = {r["seed"]: r for r in runs if r["variant"] == variant}
    if not mine:
        known = sorted({r["variant"] for r in runs})
        raise ValueError(f"no runs of variant {variant!r}; known: {known}")
    return dict(sorted(mine.items()))


def _seconds_at_step(run: dict, step: int) -> float | None:
    if step in run["steps"]:
        return run["seconds"][run["steps"].index(step)]
    return None


def curve_with_band(
    runs: list[dict], variant: str, x: str = "seconds", points: int = 50, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(xs, mean, low, high)`` of ``variant``'s distance over seeds against ``x``.

    ``x="seconds"``: on a grid from the latest first evaluation to the earliest last one among
    the seeds (where every seed has a value), each seed interpolated linearly; ``x="step"``: at
    the evaluation steps all seeds reached. The band is the Student-t interval of the mean.
    """
    mine = [r for r in runs if r["variant"] == variant]
    if x == "step":
        xs = np.array(sorted(set.intersection(*(set(r["steps"]) for r in mine))), dtype=float)
        ys = np.array([[value_at_step(r, int(s)) for s in xs] for r in mine], dtype=float)
    else:
        start = max(r["seconds"][0] for r in mine)
        stop = min(r["seconds"][-1] for r in mine)
        if stop < start:
            raise ValueError(
                f"the seeds of {variant!r} share no stretch of training seconds (their first "
                f"evaluations end at {start:.0f} s, the earliest run ends at {stop:.0f} s): "
                f"plot against steps, or on modelled time (--step-costs)"
            )
        xs = np.linspace(start, stop, points) if stop > start else np.array([start])
        ys = np.array([[value_at_seconds(r, t) for t in xs] for r in mine], dtype=float)
    bands = [t_interval(list(column), confidence) for column in ys.T]
    return (
        xs,
        np.array([b.mean for b in bands]),
        np.array([b.low for b in bands]),
        np.array([b.high for b in bands]),
    )


def plot_curves(runs: list[dict], variants: list[str], path: Path, x: str = "seconds") -> Path:
    """Write the distance-vs-``x`` curves of ``variants`` with their 95 % bands to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for variant in variants:
        xs, mean, low, high = curve_with_band(runs, variant, x)
        seeds = len({r["seed"] for r in runs if r["variant"] == variant})
        (line,) = ax.plot(xs, mean, label=f"{variant} ({seeds} seeds)")
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("training seconds" if x == "seconds" else "training steps")
    ax.set_ylabel("Frechet classifier distance (lower is better)")
    ax.set_yscale("log")
    ax.set_title("mean over seeds, 95 % t-band")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def report(runs: list[dict], pairs: list[tuple[str, str]], at: str = "last") -> str:
    """A Markdown report: per-variant intervals and per-pair paired differences at ``at``."""
    variants = list(dict.fromkeys(v for pair in pairs for v in pair))
    lines = [
        f"Compared at `{at}`. FCD: Frechet classifier distance (lower is better), mean over "
        "seeds [95 % t-interval]. Rarest class: its share of the samples per seed (issue 14 "
        f"asks >= {SHARE_TARGET:.0%}; n/a where no evaluation fell at that point).\n",
        "| variant | seeds | FCD | per seed (where) | rarest class per seed |",
        "|---|---|---|---|---|",
    ]
    resolved = {v: resolve_at(runs, v, at) for v in variants}
    for variant, per_seed in resolved.items():
        values = [d["fcd"] for d in per_seed.values() if d["fcd"] is not None]
        interval = t_interval(values) if values else None
        seeds = ", ".join(f"{s}: {_fmt(d['fcd'])} ({d['where']})" for s, d in per_seed.items())
        shares = ", ".join(
            "n/a" if d["share"] is None else f"{d['share']:.1%}" for d in per_seed.values()
        )
        lines.append(f"| {variant} | {len(values)} | {interval or 'n/a'} | {seeds} | {shares} |")
    lines += [
        "\nPaired by seed, A - B (negative: A better). t: 95 % Student-t interval; bootstrap: "
        "95 % percentile bootstrap of the mean difference (10,000 resamples; with 3 seeds it "
        "cannot leave the range of the differences, so it is narrower than it should be).\n",
        "| A | B | seeds | A - B [t 95 %] | bootstrap 95 % | p (paired t) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for a, b in pairs:
        fa = {s: d["fcd"] for s, d in resolved[a].items() if d["fcd"] is not None}
        fb = {s: d["fcd"] for s, d in resolved[b].items() if d["fcd"] is not None}
        if not set(fa) & set(fb):
            lines.append(f"| {a} | {b} | 0 | n/a | n/a | n/a | no claim (no paired seeds) |")
            continue
        diff = paired_difference(fa, fb)
        lines.append(
            f"| {a} | {b} | {len(diff.seeds)} | {diff.t} | [{diff.bootstrap_low:.1f}, "
            f"{diff.bootstrap_high:.1f}] | {_fmt(diff.p_value, '.3f')} | {diff.verdict(a, b)} |"
        )
    return "\n".join(lines + _share_pairs(resolved, pairs)) + "\n"


def _share_pairs(resolved: dict[str, dict[int, dict]], pairs: list[tuple[str, str]]) -> list[str]:
    """Rows of the rarest class's share compared by seed: is one generator's class balance
    better than the other's?"""
    lines = [
        "\nRarest class's share, paired by seed, A - B in percentage points (positive: A's "
        "rarest class more common, its classes more even; 'ahead' here means more even).\n",
        "| A | B | seeds | A - B [t 95 %] | p (paired t) | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for a, b in pairs:
        sa, sb = (
            {s: 100 * d["share"] for s, d in resolved[v].items() if d["share"] is not None}
            for v in (a, b)
        )
        if not set(sa) & set(sb):
            lines.append(f"| {a} | {b} | 0 | n/a | n/a | no claim (no paired seeds) |")
            continue
        diff = paired_difference(sa, sb)
        verdict = diff.verdict(a, b, lower_is_better=False)
        lines.append(
            f"| {a} | {b} | {len(diff.seeds)} | {diff.t} | {_fmt(diff.p_value, '.3f')} | "
            f"{verdict} |"
        )
    return lines


def _run_dir(run: dict) -> Path:
    """A run's folder: where its record says, else the same place under this checkout's results
    (``runs/<result>/<variant>/seed<N>``)."""
    recorded = Path(run["samples"]).parent
    return recorded if recorded.is_dir() else RESULTS / "runs" / Path(*recorded.parts[-3:])


def discriminator_loss(run: dict, start: int, stop: int) -> float | None:
    """The mean discriminator loss TorchGAN logged at steps ``[start, stop)`` of a run (its
    ``Losses/*DiscriminatorLoss`` scalars); ``None`` when its TensorBoard events are gone or
    hold no such step."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = _run_dir(run) / "tensorboard"
    if not events.is_dir():
        return None
    accumulator = EventAccumulator(str(events), size_guidance={"scalars": 0})
    accumulator.Reload()
    values = [
        event.value
        for tag in accumulator.Tags()["scalars"]
        if tag.startswith("Losses/") and tag.endswith("DiscriminatorLoss")
        for event in accumulator.Scalars(tag)
        if start <= event.step < stop
    ]
    return statistics.fmean(values) if values else None


def discriminator_loss_report(runs: list[dict], variants: list[str], start: int, stop: int) -> str:
    """A Markdown table: per variant and seed, the mean discriminator loss over ``[start, stop)``
    beside the run's last distance and rarest class."""
    lines = [
        f"Mean discriminator loss over steps [{start}, {stop}) per seed (n/a: events gone), "
        "with the last evaluation's FCD and rarest class share.\n",
        "| variant | seed | D loss | last FCD | rarest class |",
        "|---|---|---|---|---|",
    ]
    for variant in variants:
        for seed, run in _by_seed(runs, variant).items():
            last = resolve_at([run], variant, "last")[seed]
            share = "n/a" if last["share"] is None else f"{last['share']:.1%}"
            loss = _fmt(discriminator_loss(run, start, stop), ".3f")
            lines.append(f"| {variant} | {seed} | {loss} | {_fmt(last['fcd'])} | {share} |")
    return "\n".join(lines) + "\n"


def class_window_report(runs: list[dict], variants: list[str], start: int) -> str:
    """A Markdown table: per variant and seed, the rarest class's share at each evaluation from
    step ``start`` on, the lowest of them, and the rarest class of the mean shares over them; per
    variant, how many seeds kept every class >= ``SHARE_TARGET`` at each of those evaluations
    (one evaluation shows where a seed's oscillation stopped, a window whether the generator
    holds its classes). Runs recorded without per-evaluation shares are n/a and not counted.

    Raises:
        ValueError: ``start`` < 1.
    """
    if start < 1:
        raise ValueError(f"start must be >= 1, got {start}")
    lines = [
        f"Rarest class share (and which class, by label index) at each evaluation from step "
        f"{start} on, per seed (n/a: shares not recorded per evaluation), the lowest of them, and "
        "the rarest class of the mean shares.\n",
        "| variant | seed | rarest per evaluation | lowest | rarest of the mean |",
        "|---|---|---|---|---|",
    ]
    held = {}
    for variant in variants:
        kept = recorded = 0
        for seed, run in _by_seed(runs, variant).items():
            history = run.get("class_shares_history") or []
            if len(history) != len(run["steps"]):  # only the last evaluation's shares recorded
                history = [None] * len(run["steps"])
            window = [
                (step, min(shares), shares)
                for step, shares in zip(run["steps"], history, strict=True)
                if step >= start and shares
            ]
            if not window:
                lines.append(f"| {variant} | {seed} | n/a | n/a | n/a |")
                continue
            rarest_classes = [shares.index(rarest) for _, rarest, shares in window]
            lowest = min(rarest for _, rarest, _ in window)
            of_mean = np.mean([shares for _, _, shares in window], axis=0).min()
            cells = ", ".join(
                f"{step}: {rarest:.1%} (class {label})"
                for (step, rarest, _), label in zip(window, rarest_classes, strict=True)
            )
            lines.append(f"| {variant} | {seed} | {cells} | {lowest:.1%} | {of_mean:.1%} |")
            recorded += 1
            kept += lowest >= SHARE_TARGET
        held[variant] = (kept, recorded)
    lines.append("")
    lines += [
        f"- {variant}: every class >= {SHARE_TARGET * 100:.0f} % at each evaluation from step "
        f"{start} on: {kept} of {recorded} seeds recorded"
        for variant, (kept, recorded) in held.items()
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stats", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "results",
        nargs="+",
        help="result file stems or paths; STEM=TAG names that file's variants VARIANT@TAG",
    )
    parser.add_argument("--pair", nargs=2, action="append", required=True, metavar=("A", "B"))
    parser.add_argument(
        "--at",
        action="append",
        default=None,
        help="last | step:N | seconds:T | budget:VARIANT:N (repeatable)",
    )
    parser.add_argument(
        "--plot",
        nargs="?",
        const="",
        default=None,
        help="write the curves with bands (default path: next to --out)",
    )
    parser.add_argument("--x", choices=("seconds", "step"), default="seconds")
    parser.add_argument(
        "--step-costs",
        default=None,
        metavar="STEP_RESULT",
        help="a steps-suite result (stem or path): seconds become steps x its per-step time",
    )
    parser.add_argument(
        "--step-mode",
        default="torchgan",
        help="the steps-suite mode whose per-step times --step-costs takes (default torchgan; "
        "a run through torchgan-lstm's trainer steps as 'frozen-g')",
    )
    parser.add_argument(
        "--d-loss",
        nargs=2,
        type=int,
        default=None,
        metavar=("START", "STOP"),
        help="add each run's mean discriminator loss over steps [START, STOP)",
    )
    parser.add_argument(
        "--classes-from",
        type=int,
        default=None,
        metavar="STEP",
        help="add each run's rarest class at every evaluation from STEP on",
    )
    parser.add_argument("--out", type=Path, default=None, help="Markdown file (default: print)")
    args = parser.parse_args(argv)  # fmt: skip
    pairs = [tuple(p) for p in args.pair]
    runs = load_runs(*args.results)
    if args.step_costs:
        compared = {v for pair in pairs for v in pair}
        compared |= {at.split(":")[1] for at in args.at or [] if at.startswith("budget:")}
        runs = with_step_costs(
            [r for r in runs if r["variant"] in compared],
            step_costs(args.step_costs, args.step_mode),
        )
    text = "".join(f"## At {at}\n\n{report(runs, pairs, at)}\n" for at in args.at or ["last"])
    if args.d_loss:
        variants = list(dict.fromkeys(v for pair in pairs for v in pair))
        text += (
            f"## Discriminator loss\n\n{discriminator_loss_report(runs, variants, *args.d_loss)}\n"
        )
    if args.classes_from is not None:
        variants = list(dict.fromkeys(v for pair in pairs for v in pair))
        text += (
            f"## Classes from step {args.classes_from} on\n\n"
            f"{class_window_report(runs, variants, args.classes_from)}\n"
        )
    if args.step_costs:
        text = (
            f"Seconds are modelled: evaluation step x the variant's per-step time in "
            f"`{args.step_costs}` (step mode `{args.step_mode}`, interleaved blocks).\n\n{text}"
        )
    if args.plot is not None:
        stem = args.out.with_suffix("") if args.out else Path("stats")
        path = Path(args.plot) if args.plot else Path(f"{stem}_fcd_vs_{args.x}.png")
        variants = list(dict.fromkeys(v for pair in pairs for v in pair))
        try:
            plot_curves(runs, variants, path, args.x)
            text += f"\nCurves: `{path.name}`\n"
        except ValueError as err:
            text += f"\nNo curves: {err}\n"
    if args.out:
        args.out.write_text(f"# Paired comparisons: {', '.join(args.results)}\n\n{text}")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

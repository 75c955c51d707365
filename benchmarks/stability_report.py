"""The stability study's statistics and figures, from its run records.

Failure is defined before any run is looked at (:func:`failed`): a run fails when it diverged
(a non-finite weight or distance), when fewer than :data:`MIN_CLASSES` classes get at least 1 %
of its last samples, or when its last Frechet classifier distance is above
:data:`FCD_FAIL`. Statistics per generator (pooled over both critics) and per pair:

- the last distance's median and interquartile range, a failed run counting as infinitely bad
  for the median (a diverged run has no distance);
- the failure share;
- Lucic et al.'s budget curve: the best last distance among ``k`` settings drawn at random
  (with replacement) from those run, as the median over bootstrap draws with its 2.5-97.5 %
  band, for ``k = 1 ..`` the number of settings;
- paired differences per setting and seed (LSTM minus DCGAN against the same critic): their
  median and a bootstrap 95 % interval of it, and how many are negative (LSTM better);
- convergence: the distance against training CPU seconds (median and interquartile band over
  runs, each run's curve interpolated between its evaluations and held at its last distance
  once its budget is spent), and the CPU seconds each run needed to first reach
  :data:`FCD_REACH`.
"""

from __future__ import annotations

import json
import math
import statistics
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "FCD_FAIL",
    "FCD_REACH",
    "MIN_CLASSES",
    "budget_curve",
    "failed",
    "final_fcd",
    "load_records",
    "paired_differences",
    "seconds_to_reach",
    "write_report",
]

# Fixed before the pilot ran: the TorchGAN DCGAN recipe's 4,000-step runs at 32x32 score about
# 124 (docs/benchmarks), a generator stuck on a few classes several hundred.
FCD_FAIL = 200.0
MIN_CLASSES = 5
FCD_REACH = 100.0  # the distance whose first reaching time is reported
GENERATORS = ("lstm", "dcgan")


def load_records(out_dir: Path) -> list[dict]:
    """Every run record under a study's folder, in a stable order."""
    return [json.loads(p.read_text()) for p in sorted(Path(out_dir).glob("*/*/seed*.json"))]


def final_fcd(record: dict) -> float:
    """The last distance; ``inf`` for a run that diverged or never evaluated."""
    if record["diverged"] or not record["fcd"] or record["fcd"][-1] is None:
        return math.inf
    return float(record["fcd"][-1])


def failed(record: dict) -> bool:
    """The failure rule (module docstring): diverged, collapsed, or distance above the bar."""
    if record["diverged"] or not record["coverage"]:
        return True
    return record["coverage"][-1] < MIN_CLASSES or final_fcd(record) > FCD_FAIL


def generator_of(record: dict) -> str:
    """``"lstm"`` or ``"dcgan"``: the generator half of the run's pair."""
    return record["pair"].split("+")[0]


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = np.quantile(np.array(values, dtype=float), [0.25, 0.5, 0.75])
    return float(q1), float(median), float(q3)


def budget_curve(
    values: list[float], draws: int = 2000, seed: int = 0
) -> list[tuple[int, float, float, float]]:
    """Best value among ``k`` settings drawn with replacement, for ``k = 1 .. len(values)``.

    Returns:
        ``(k, median, low, high)``: the median of the best over ``draws`` bootstrap draws and
        its 2.5 and 97.5 % quantiles (order statistics); ``inf`` where the drawn settings all
        failed to score (the median, not the mean, so that such draws do not make it ``inf``).
    """
    rng = np.random.default_rng(seed)
    array = np.array(values, dtype=float)
    rows = []
    for k in range(1, len(array) + 1):
        best = array[rng.integers(0, len(array), size=(draws, k))].min(axis=1)
        mean = float(np.quantile(best, 0.5, method="lower"))
        # Order statistics, not interpolation, since a failed draw is inf.
        low = np.quantile(best, 0.025, method="lower")
        high = np.quantile(best, 0.975, method="higher")
        rows.append((k, mean, float(low), float(high)))
    return rows


def paired_differences(records: list[dict], equal_time: bool = False) -> list[dict]:
    """Per setting, critic and seed: the LSTM run's last distance minus DCGAN's.

    Args:
        records: the study's run records.
        equal_time: compare instead at the training CPU seconds the cheaper run of the pair
            took for its whole budget (each run's distance interpolated between its
            evaluations): which generator is ahead for the same compute.

    A pair in which either run has no finite distance there is left out (it is counted among
    the failures).
    """
    runs = {(r["setting"]["id"], r["pair"], r["seed"]): r for r in records}
    rows = []
    for (setting, pair, seed), lstm in sorted(runs.items()):
        if generator_of(lstm) != "lstm":
            continue
        critic = pair.split("+")[1]
        dcgan = runs.get((setting, f"dcgan+{critic}", seed))
        if dcgan is None:
            continue
        a, b = final_fcd(lstm), final_fcd(dcgan)
        if equal_time:
            seconds = min(lstm["cpu_seconds"][-1:] + dcgan["cpu_seconds"][-1:], default=0.0)
            a, b = (_fcd_at(r, seconds) for r in (lstm, dcgan))
        if math.isfinite(a) and math.isfinite(b):
            rows.append({"setting": setting, "critic": critic, "seed": seed, "diff": a - b})
    return rows


def _fcd_at(record: dict, seconds: float) -> float:
    x, y = record["cpu_seconds"], record["fcd"]
    if not x or seconds < x[0] or any(v is None for v in y) or record["diverged"]:
        return math.inf
    return float(np.interp(seconds, x, y))


def _bootstrap_median(values: list[float], draws: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    array = np.array(values, dtype=float)
    medians = np.median(array[rng.integers(0, len(array), size=(draws, len(array)))], axis=1)
    low, high = np.quantile(medians, [0.025, 0.975])
    return float(low), float(high)


def seconds_to_reach(record: dict, target: float = FCD_REACH) -> float | None:
    """CPU seconds of training at the first evaluation with distance <= ``target``."""
    for seconds, value in zip(record["cpu_seconds"], record["fcd"], strict=True):
        if value is not None and value <= target:
            return seconds
    return None


def _curve(records: list[dict], grid: np.ndarray) -> np.ndarray:
    """Each run's distance on ``grid`` (CPU seconds), linear between evaluations; ``nan``
    before its first evaluation or where it had no distance. After its last evaluation a run
    keeps its last distance (its budget is spent, not its result), so the band at a late time
    still holds every run, not only the slow settings."""
    rows = []
    for r in records:
        x = np.array(r["cpu_seconds"], dtype=float)
        y = np.array([math.nan if v is None else v for v in r["fcd"]], dtype=float)
        if not len(x):
            rows.append(grid * math.nan)
            continue
        rows.append(np.interp(grid, x, y, left=math.nan, right=y[-1]))
    return np.array(rows)


def _fmt(value: float, spec: str = ".1f") -> str:
    return "inf" if not math.isfinite(value) else format(value, spec)


def _summary_table(records: list[dict]) -> list[str]:
    lines = [
        "| generator / pair | runs | median FCD | IQR | failed | reached FCD "
        f"{FCD_REACH:g} | median CPU s to reach |",
        "|---|---|---|---|---|---|---|",
    ]
    groups = [(g, [r for r in records if generator_of(r) == g]) for g in GENERATORS]
    groups += [(p, [r for r in records if r["pair"] == p]) for p in _pairs(records)]
    for name, runs in groups:
        if not runs:
            continue
        q1, median, q3 = _quantiles([final_fcd(r) for r in runs])
        times = [t for t in (seconds_to_reach(r) for r in runs) if t is not None]
        reach = _fmt(statistics.median(times), ".0f") if times else "-"
        lines.append(
            f"| {name} | {len(runs)} | {_fmt(median)} | {_fmt(q1)} - {_fmt(q3)} | "
            f"{sum(map(failed, runs))}/{len(runs)} | {len(times)}/{len(runs)} | {reach} |"
        )
    return lines


def _pairs(records: list[dict]) -> list[str]:
    return sorted({r["pair"] for r in records})


def _paired_lines(records: list[dict], equal_time: bool = False) -> list[str]:
    lines = []
    paired = paired_differences(records, equal_time)
    for critic in [*sorted({r["pair"].split("+")[1] for r in records}), "both"]:
        diffs = [d["diff"] for d in paired if critic in ("both", d["critic"])]
        if len(diffs) < 2:
            continue
        low, high = _bootstrap_median(diffs)
        lines.append(
            f"| {critic} | {len(diffs)} | {statistics.median(diffs):+.1f} | "
            f"[{low:+.1f}, {high:+.1f}] | {sum(d < 0 for d in diffs)}/{len(diffs)} |"
        )
    head = ["| critic | pairs | median LSTM - DCGAN | bootstrap 95 % | LSTM better |"]
    return [*head, "|---|---|---|---|---|", *lines] if lines else []


def _seed_spread(records: list[dict]) -> list[str]:
    lines = []
    keys = sorted({(r["setting"]["id"], r["pair"]) for r in records})
    for setting, pair in keys:
        runs = [r for r in records if (r["setting"]["id"], r["pair"]) == (setting, pair)]
        if len(runs) > 1:
            values = ", ".join(_fmt(final_fcd(r)) for r in sorted(runs, key=lambda r: r["seed"]))
            lines.append(f"| {setting} | {pair} | {values} |")
    return ["| setting | pair | FCD per seed |", "|---|---|---|", *lines] if lines else []


def _figures(records: list[dict], results: Path, name: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seed0 = [r for r in records if r["seed"] == 0]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for g in GENERATORS:
        runs = [r for r in seed0 if generator_of(r) == g]
        if not runs:
            continue
        values = np.sort([min(final_fcd(r), 1e4) for r in runs])
        axes[0].step(values, np.arange(1, len(values) + 1) / len(values), where="post", label=g)
        curve = budget_curve([_best_setting_fcd(seed0, g, s) for s in _settings(runs)])
        k = [c[0] for c in curve]
        axes[1].plot(k, [c[1] for c in curve], marker="o", label=g)
        axes[1].fill_between(k, [c[2] for c in curve], [min(c[3], 1e4) for c in curve], alpha=0.2)
        top = max((r["cpu_seconds"][-1] for r in runs if r["cpu_seconds"]), default=1.0)
        grid = np.linspace(0, top, 50)
        ys = _curve(runs, grid)
        with warnings.catch_warnings():  # a time no run reached is nan, and stays blank
            warnings.simplefilter("ignore", RuntimeWarning)
            q1, med, q3 = (np.nanquantile(ys, q, axis=0) for q in (0.25, 0.5, 0.75))
        axes[2].plot(grid, med, label=g)
        axes[2].fill_between(grid, q1, q3, alpha=0.2)
    axes[0].set(xscale="log", xlabel="last FCD (log)", ylabel="share of runs", title="CDF")
    axes[1].set(xlabel="settings tried", ylabel="best FCD", title="best FCD vs budget")
    axes[2].set(xlabel="training CPU seconds (1 thread)", ylabel="FCD", title="FCD vs time")
    axes[2].set_yscale("log")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    path = results / f"{name}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [f"![{name}]({path.name})"]


def _settings(runs: list[dict]) -> list[str]:
    return sorted({r["setting"]["id"] for r in runs})


def _best_setting_fcd(records: list[dict], generator: str, setting: str) -> float:
    """The better of the generator's two critics in one setting: a setting is a tried recipe."""
    values = [
        final_fcd(r)
        for r in records
        if generator_of(r) == generator and r["setting"]["id"] == setting
    ]
    return min(values, default=math.inf)


def write_report(out_dir: Path, results: Path, name: str) -> Path:
    """Write ``<results>/<name>.md`` (tables) and ``<name>.png`` (CDF, budget curve, FCD vs
    CPU seconds) from the records under ``out_dir``; return the Markdown file's path."""
    records = load_records(out_dir)
    results.mkdir(parents=True, exist_ok=True)
    seed0 = [r for r in records if r["seed"] == 0]
    lines = [
        f"# Stability study: {name}",
        "",
        f"{len(records)} runs, {len(_settings(records))} settings. Failure: diverged, fewer than "
        f"{MIN_CLASSES} classes at >= 1 %, or last FCD > {FCD_FAIL:g}. Seed 0 runs only in "
        "the first table and the figure; time is training CPU seconds of a one-thread process.",
        "",
        *_summary_table(seed0),
        "",
        "Budget curve (best FCD among k settings, bootstrap median [2.5 %, 97.5 %]; per setting "
        "the better critic):",
        "",
        "| k | " + " | ".join(GENERATORS) + " |",
        "|---|" + "---|" * len(GENERATORS),
    ]
    curves = {
        g: budget_curve([_best_setting_fcd(seed0, g, s) for s in _settings(seed0)])
        for g in GENERATORS
    }
    for i in range(len(_settings(seed0))):
        cells = [f"{_fmt(c[i][1])} [{_fmt(c[i][2])}, {_fmt(c[i][3])}]" for c in curves.values()]
        lines.append(f"| {i + 1} | " + " | ".join(cells) + " |")
    lines += ["", "Paired differences, same setting and seed:", "", *_paired_lines(records)]
    lines += [
        "",
        "Paired at equal training CPU seconds (the cheaper run's whole budget; each run's FCD "
        "interpolated between its evaluations):",
        "",
        *_paired_lines(records, equal_time=True),
    ]
    lines += ["", "Seed spread:", "", *_seed_spread(records), ""]
    lines += _figures(records, results, name) if records else []
    cpu = sum(r["cpu_seconds"][-1] for r in records if r["cpu_seconds"])
    lines += ["", f"Training CPU seconds, all runs: {cpu:.0f}.", ""]
    path = results / f"{name}.md"
    path.write_text("\n".join(lines))
    (results / f"{name}.json").write_text(json.dumps(records) + "\n")
    return path

"""Results files: JSON, a Markdown table and plots under ``benchmarks/results/``."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

__all__ = ["markdown_table", "write_quality_report"]


def _fmt(value) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """A Markdown table of ``rows`` (dicts) restricted to ``columns``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _plot_curves(rows: list[dict], path: Path, x: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for name in dict.fromkeys(r["variant"] for r in rows):
        pts = [r for r in rows if r["variant"] == name]
        xs = [r[x] for r in pts]
        mean = [r["fcd_mean"] for r in pts]
        sd = [r["fcd_sd"] for r in pts]
        (line,) = ax.plot(xs, mean, marker="o", label=name)
        ax.fill_between(
            xs,
            [m - s for m, s in zip(mean, sd, strict=True)],
            [m + s for m, s in zip(mean, sd, strict=True)],
            color=line.get_color(),
            alpha=0.15,
        )
    ax.set_xlabel("training steps" if x == "step" else "training seconds (2 CPU cores)")
    ax.set_ylabel("Frechet classifier distance (lower is better)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_quality_report(records: list[dict], rows: list[dict], base: dict, out: Path, name: str):
    """Write ``<name>.json``, ``<name>.md``, the two curve plots and each variant's seed-0 grid."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(
        json.dumps({"settings": base, "summary": rows, "runs": records}, indent=2)
    )
    columns = [
        "variant",
        "step",
        "seeds",
        "seconds",
        "fcd_mean",
        "fcd_sd",
        "coverage_mean",
        "coverage_sd",
        "min_class_share",
        "collapsed",
        "diverged",
    ]
    settings = ", ".join(f"{k}={v}" for k, v in base.items())
    (out / f"{name}.md").write_text(
        f"# {name}\n\nSettings: {settings}\n\n"
        "Mean and standard deviation over seeds; seconds exclude the evaluations. "
        "`min_class_share`: the rarest class's share of the final samples, worst seed. "
        "`collapsed`: runs whose last coverage is under 8 classes.\n\n"
        + markdown_table(rows, columns)
    )
    _plot_curves(rows, out / f"{name}_fcd_vs_steps.png", "step")
    _plot_curves(rows, out / f"{name}_fcd_vs_seconds.png", "seconds")
    for record in records:
        if record["seed"] == min(r["seed"] for r in records if r["variant"] == record["variant"]):
            shutil.copyfile(record["samples"], out / f"{name}_{record['variant']}_samples.png")

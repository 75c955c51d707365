"""The ablation table of the image generators, built from the quality suite's result files.

``python -m benchmarks.ablation`` reads ``benchmarks/results/<name>.json`` for every run listed
in :data:`ROWS` and writes ``benchmarks/results/ablation.md``: per change, the Frechet classifier
distance at fixed steps (mean and standard deviation over the seeds that ran), the classes
covered and the rarest class's share of the samples at each run's last step. Nothing is typed in
by hand: a row whose result file or variant is missing is an error.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROWS", "Row", "ablation_rows", "main", "write_ablation"]

RESULTS = Path(__file__).resolve().parent / "results"
STEPS = (1000, 2000, 4000)


@dataclass(frozen=True)
class Row:
    change: str  # what this run changes, in words
    results: str  # result file stem under benchmarks/results/
    variant: str  # variant name inside it


# Grouped by what they compare against; every row is 3 seeds, batch 64, minimax unless named.
ROWS: tuple[tuple[str, tuple[Row, ...]], ...] = (
    (
        "TorchGAN's DCGANDiscriminator",
        (
            Row("DCGAN generator (reference)", "gate-cpu", "dcgan+dcganD"),
            Row("DCGAN generator + EMA 0.999 (reference)", "ema-gate-cpu", "dcgan+dcganD+ema"),
            Row("LSTM conv, no latent skip (the naive design)", "ablation-cpu",
                "lstm-conv+dcganD+no-skip"),
            Row("LSTM conv + latent skip", "ablation-cpu", "lstm-conv+dcganD"),
            Row("LSTM conv + latent skip + EMA (on a GPU)", "quality-h200-core",
                "lstm-conv+dcganD+ema"),
            Row("LSTM conv + latent skip + gate: **the default**", "ema-gate-cpu",
                "lstm-conv+dcganD+gate"),
            Row("default + EMA 0.999", "gate-cpu", "lstm-conv+dcganD+ema+gate"),
            Row("default + two time-scale lr (G 1e-4, D 4e-4)", "ablation-cpu",
                "lstm-conv+dcganD+gate+ttur"),
            Row("default + hinge loss", "ablation-cpu-2", "lstm-conv+dcganD+gate+hinge"),
            Row("LSTM rows decoder", "ablation-cpu", "lstm-rows+dcganD"),
            Row("LSTM canvas decoder", "ablation-cpu", "lstm-canvas+dcganD"),
        ),
    ),
    (
        "Our ConvDiscriminator (dropout 0.3, no norm)",
        (
            Row("DCGAN generator (reference)", "quality-minimax", "dcgan"),
            Row("LSTM conv + latent skip", "quality-minimax", "lstm-conv"),
            Row("LSTM conv + spectral norm in D + hinge loss", "ablation-cpu-2",
                "lstm-conv+sn+hinge"),
            Row("LSTM conv, hidden 128, one layer", "ablation-lstm-size", "lstm-conv-h128-l1"),
        ),
    ),
)  # fmt: skip


def _load(stem: str, cache: dict) -> dict:
    if stem not in cache:
        path = RESULTS / f"{stem}.json"
        if not path.is_file():
            raise FileNotFoundError(f"ablation row needs {path}; run the quality suite for it")
        cache[stem] = json.loads(path.read_text())
    return cache[stem]


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.0f}"
    return f"{statistics.mean(values):.0f} ± {statistics.stdev(values):.0f}"


def ablation_rows(rows=ROWS, cache: dict | None = None) -> list[tuple[str, list[dict]]]:
    """Per group, one summary dict per row (strings ready for the table)."""
    cache = {} if cache is None else cache
    out = []
    for title, group in rows:
        table = []
        for row in group:
            data = _load(row.results, cache)
            runs = sorted(
                (r for r in data["runs"] if r["variant"] == row.variant), key=lambda r: r["seed"]
            )
            if not runs:
                raise ValueError(f"{row.results}.json has no runs of variant {row.variant!r}")
            entry = {
                "change": row.change,
                "variant": f"`{row.variant}` ({row.results}, {data['settings']['device']})",
                "seeds": str(len(runs)),
            }
            for step in STEPS:
                values = [r["fcd"][r["steps"].index(step)] for r in runs if step in r["steps"]]
                entry[f"FCD {step}"] = _mean_sd(values)
            last = [(r["steps"][-1], r) for r in runs]
            entry["classes covered (>= 1 %)"] = ", ".join(
                f"{r['coverage'][-1]:.0f}" for _, r in last
            )
            entry["rarest class"] = ", ".join(
                f"{min(r['class_shares']):.1%}" if r.get("class_shares") else "n/a" for _, r in last
            )
            entry["at step"] = ", ".join(sorted({str(s) for s, _ in last}))
            table.append(entry)
        out.append((title, table))
    return out


def write_ablation(path: Path = RESULTS / "ablation.md", rows=ROWS) -> str:
    """Write the Markdown table to ``path``; return its text."""
    from .report import markdown_table

    columns = ["change", *(f"FCD {s}" for s in STEPS), "classes covered (>= 1 %)",
               "rarest class", "at step", "seeds", "variant"]  # fmt: skip
    parts = [
        "# Ablations: Frechet classifier distance (5,000 samples), mean ± sd over seeds\n",
        "Written by `python -m benchmarks.ablation` from the quality suite's result files. "
        "Classes covered and the rarest class's share are per seed, at each run's last step. "
        "'-': the run did not reach that step.\n",
    ]
    for title, table in ablation_rows(rows):
        parts += [f"\n## {title}\n\n", markdown_table(table, columns)]
    text = "".join(parts)
    Path(path).write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "ablation.md")
    args = parser.parse_args(argv)
    print(write_ablation(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

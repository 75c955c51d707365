"""Entry point: ``python -m benchmarks.run --suite speed|steps|quality|stability|all``.

Writes JSON and a Markdown table (and plots) into ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _parse_set(items: list[str]) -> dict:
    """``key=value`` pairs -> dict, values parsed as JSON where they parse (numbers, bools)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects key=value, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the chosen suites."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--suite",
        choices=("speed", "steps", "quality", "stability", "profile", "all"),
        default="speed",
        help="all: speed, steps, profile and quality (the stability study runs only by name)",
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    s = p.add_argument_group("speed suite")
    s.add_argument(
        "--modes",
        nargs="+",
        default=["fp32"],
        choices=("fp32", "amp", "channels-last", "amp+channels-last", "amp+compile"),
        help="speed modes (benchmarks/speed.py MODES), timed side by side",
    )
    s.add_argument("--rounds", type=int, default=15, help="timed rounds per measurement")
    s.add_argument(
        "--block",
        type=int,
        default=10,
        help="steps suite: steps per timed block, and log_every of its device-log modes",
    )
    s.add_argument(
        "--step-variants",
        nargs="+",
        default=None,
        help="steps suite: quality variants to time (first: the reference), instead of the "
        "default pairs",
    )
    s.add_argument(
        "--step-modes",
        nargs="+",
        default=None,
        choices=("torchgan", "frozen-g", "device-log", "both"),
        help="steps suite: step modes to time (default all; torchgan always)",
    )
    q = p.add_argument_group("quality suite")
    q.add_argument("--variants", nargs="*", default=["dcgan", "lstm-conv"])
    q.add_argument(
        "--variant",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "JSON"),
        help="an extra variant, e.g. --variant wide '{\"hidden_size\": 512}'",
    )
    q.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    q.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="generator steps per run (default: quality 4000; stability 300 generator updates)",
    )
    q.add_argument(
        "--eval-every", type=int, default=None, help="default: quality 1000; stability 100"
    )
    q.add_argument(
        "--metric-samples", type=int, default=None, help="default: quality 5000; stability 2000"
    )
    q.add_argument("--loss", default="minimax", help="loss family (also for --suite steps)")
    q.add_argument("--set", nargs="*", default=[], help="shared RunConfig overrides key=value")
    q.add_argument("--name", default=None, help="results file stem (default: the suite's name)")
    q.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="equal wall-clock budgets: each run stops once it spent this many seconds training",
    )
    q.add_argument("--jobs", type=int, default=1, help="runs at a time, one process each")
    q.add_argument(
        "--deadline", type=float, default=None, help="with --jobs: start no run after this many s"
    )
    q.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: rebuild the report from the runs already under --name",
    )
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    if args.suite in ("speed", "all"):
        from .speed import run_speed

        run_speed(
            args.out,
            threads=args.threads,
            rounds=args.rounds,
            device=args.device,
            modes=args.modes,
            name=args.name or "speed",
        )
    if args.suite in ("steps", "all"):
        from .step_speed import run_step_speed

        run_step_speed(
            args.out,
            threads=args.threads,
            rounds=args.rounds,
            block=args.block,
            device=args.device,
            name=args.name or "step-speed",
            loss=args.loss,
            pairs=_step_pairs(args.step_variants),
            modes=args.step_modes,
        )
    if args.suite in ("profile", "all"):
        from .profile import run_profile

        run_profile(args.out, args.device, args.modes[0], name=args.name or "profile")
    if args.suite in ("quality", "all"):
        from .quality import VARIANTS, run_quality, summarise
        from .report import write_quality_report

        unknown = [name for name in args.variants if name not in VARIANTS]
        if unknown:
            p.error(f"unknown --variants {unknown}; known: {sorted(VARIANTS)}")
        variants = {name: VARIANTS[name] for name in args.variants}
        variants.update({name: json.loads(spec) for name, spec in args.variant})
        base = {
            "max_steps": args.max_steps or 4000,
            "eval_every": args.eval_every or 1000,
            "metric_samples": 5000 if args.metric_samples is None else args.metric_samples,
            "loss": args.loss,
            "device": args.device,
            "max_seconds": args.max_seconds,
            **_parse_set(args.set),
        }
        name = args.name or "quality"
        runs = args.out / "runs" / name
        if args.report_only:  # e.g. after several processes trained parts of one comparison
            records = _load_records(runs, variants, base["metric_samples"])
        else:
            records = run_quality(
                variants, args.seeds, base, runs, args.threads, args.jobs, args.deadline
            )
        write_quality_report(records, summarise(records), base, args.out, name)
    if args.suite == "stability":
        from .stability import main as stability

        name = args.name or "stability"
        runs = str(args.out / "runs" / name)
        sizes = {
            "--steps": args.max_steps or 300,
            "--eval-every": args.eval_every or 100,
            "--samples": args.metric_samples or 2000,
            "--jobs": args.jobs,
        }
        stability(["run", "--out-dir", runs, *(str(x) for kv in sizes.items() for x in kv)])
        stability(["report", "--out-dir", runs, "--name", name, "--results", str(args.out)])


def _step_pairs(names: list[str] | None) -> dict | None:
    """The quality variants named for the steps suite (None: its default pairs)."""
    if names is None:
        return None
    from .quality import VARIANTS

    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown --step-variants {unknown}; known: {sorted(VARIANTS)}")
    return {name: VARIANTS[name] for name in names}


def _load_records(runs: Path, variants: dict, metric_samples: int) -> list[dict]:
    """The records already under ``runs``, in variant then seed order.

    Records made before class shares were recorded get them from their run's final checkpoint,
    unless a checkpoint was written after the record (then it is not the run's final one).
    """
    from .quality import final_class_shares

    records = []
    for path in sorted(runs.glob("*/seed*/record.json")):
        record = json.loads(path.read_text())
        checkpoints = list((path.parent / "checkpoints").glob("gan*.model"))
        final = checkpoints and max(c.stat().st_mtime for c in checkpoints) <= path.stat().st_mtime
        if not record.get("class_shares") and final:
            record["class_shares"] = final_class_shares(path.parent, metric_samples)
        records.append(record)
    order = {name: i for i, name in enumerate(variants)}
    return sorted(records, key=lambda r: (order.get(r["variant"], len(order)), r["seed"]))


if __name__ == "__main__":
    main()

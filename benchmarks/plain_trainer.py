"""A plain TorchGAN ``Trainer`` with the classes' own defaults: does it collapse?

What a user who takes our classes into their own TorchGAN setup gets: ``LSTMGenerator()`` or
``DCGANGenerator()`` against ``ConvDiscriminator()`` (only the image's shape given), TorchGAN's
non-saturating minimax losses, Adam 2e-4 (beta1 0.5) for both, batch 64, Fashion-MNIST at
32x32, no moving average. Every ``eval_every`` steps the generator (in eval mode, as TorchGAN's
Trainer evaluates) draws ``--samples`` images, which the shipped Fashion-MNIST classifier sorts
into classes (coverage: classes with >= 1 % of the samples) and scores (FCD).

``--g-args`` / ``--d-args`` change constructor arguments (JSON) to find which default matters:

``python -m benchmarks.plain_trainer --generator dcgan --d-args '{"step_channels": 32}'``

``--report FILE`` prints the runs recorded in ``FILE`` as a table, one row per run, and per
configuration how many seeds ended collapsed (fewer than ``MIN_CLASSES`` classes with at
least 1 % of the samples at the last evaluation, the stability study's rule) with the mean
final FCD and its 95 % interval.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch
from torch.optim import Adam

import torchgan_lstm  # noqa: F401  (applies the TorchGAN fixes)
from benchmarks.stability_report import MIN_CLASSES  # the stability study's collapse rule
from torchgan_lstm.data import build_dataset, make_dataloader
from torchgan_lstm.metrics import ClassCoverage, FrechetClassifierDistance

__all__ = ["main", "plain_run", "plot_runs", "report"]


class _Steps:
    """``steps`` batches of a loader, cycling over its epochs: one TorchGAN "epoch"."""

    def __init__(self, batches, steps: int, batch_size: int):
        self.batches, self.steps, self.batch_size = batches, steps, batch_size

    def __iter__(self):
        return itertools.islice(self.batches, self.steps)

    def __len__(self) -> int:
        return self.steps


def _cycle(loader):
    while True:
        yield from loader


def _models(generator: str, g_args: dict, d_args: dict) -> tuple[dict, dict]:
    from torchgan.models import ConvDiscriminator, DCGANGenerator, LSTMGenerator

    g_class = {"lstm": LSTMGenerator, "dcgan": DCGANGenerator}[generator]
    return (
        {"name": g_class, "args": {"out_size": 32, "out_channels": 1, **g_args}},
        {"name": ConvDiscriminator, "args": {"in_size": 32, "in_channels": 1, **d_args}},
    )


def plain_run(
    generator: str = "lstm",
    g_args: dict | None = None,
    d_args: dict | None = None,
    steps: int = 2000,
    eval_every: int = 250,
    samples: int = 2000,
    seed: int = 0,
    g_lr: float = 2e-4,
    d_lr: float = 2e-4,
    batch_size: int = 64,
    out: Path = Path("runs/plain-trainer"),
    dataset=None,
) -> dict:
    """Train with a plain TorchGAN ``Trainer``; return coverage, FCD and class shares per eval.

    Args:
        generator: ``"lstm"`` (``LSTMGenerator``) or ``"dcgan"`` (TorchGAN's ``DCGANGenerator``).
        g_args: generator constructor arguments beyond the image's shape.
        d_args: ``ConvDiscriminator`` constructor arguments beyond the image's shape.
        steps: training steps (one generator and one critic update each).
        eval_every: steps between evaluations.
        samples: generated images per evaluation.
        seed: seeds the models, the data order and the noise.
        g_lr: the generator's Adam learning rate.
        d_lr: the critic's Adam learning rate.
        batch_size: images per step.
        out: folder for TorchGAN's checkpoints, images and logs.
        dataset: ``(image, label)`` pairs in ``[-1, 1]``, 1x32x32 (default: Fashion-MNIST).

    Returns:
        A record: the arguments, ``steps``, ``coverage``, ``fcd``, ``class_shares`` (one entry
        per evaluation) and the training's CPU and wall seconds.
    """
    from torchgan.losses import MinimaxDiscriminatorLoss, MinimaxGeneratorLoss
    from torchgan.trainer import Trainer

    torch.manual_seed(seed)
    g_spec, d_spec = _models(generator, g_args or {}, d_args or {})
    betas = (0.5, 0.999)
    g_spec["optimizer"] = {"name": Adam, "args": {"lr": g_lr, "betas": betas}}
    d_spec["optimizer"] = {"name": Adam, "args": {"lr": d_lr, "betas": betas}}
    data = build_dataset("fashion-mnist") if dataset is None else dataset
    loader = make_dataloader(data, batch_size=batch_size, seed=seed)
    trainer = Trainer(
        {"generator": g_spec, "discriminator": d_spec},
        [MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()],  # non-saturating by default
        device=torch.device("cpu"),
        epochs=steps // eval_every,
        checkpoints=str(out / "checkpoints" / "gan"),
        recon=str(out / "images"),
        log_dir=str(out / "tensorboard"),
        sample_size=16,
    )
    coverage = ClassCoverage(sample_size=samples)
    fcd = FrechetClassifierDistance(sample_size=samples)
    record = {
        "generator": generator,
        "g_args": g_args or {},
        "d_args": d_args or {},
        "seed": seed,
        "g_lr": g_lr,
        "d_lr": d_lr,
        "steps": [],
        "coverage": [],
        "fcd": [],
        "class_shares": [],
    }

    def evaluate():
        # TorchGAN calls end-of-epoch visualisers after putting the models in eval mode.
        gen = trainer.generator
        record["steps"].append(len(record["steps"]) * eval_every + eval_every)
        record["coverage"].append(int(coverage.metric_ops(gen, "cpu")))
        record["fcd"].append(round(fcd.metric_ops(gen, "cpu"), 3))
        record["class_shares"].append([round(float(v), 4) for v in coverage.last_histogram])
        print(
            f"[plain] {generator} step {record['steps'][-1]}: coverage {record['coverage'][-1]} "
            f"fcd {record['fcd'][-1]:.1f}",
            flush=True,
        )

    trainer.logger.logger_end_epoch.append(_Hook(evaluate))
    cpu, wall = time.process_time(), time.perf_counter()
    trainer(_Steps(_cycle(loader), eval_every, batch_size))
    record["cpu_seconds"] = round(time.process_time() - cpu, 1)
    record["wall_seconds"] = round(time.perf_counter() - wall, 1)
    return record


class _Hook:
    """An end-of-epoch visualiser of TorchGAN's logger (called without the trainer)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args, **kwargs) -> None:
        self.fn()


def _configuration(record: dict) -> str:
    g = {"lstm": "LSTMGenerator", "dcgan": "DCGANGenerator"}[record["generator"]]
    args = lambda a: ", ".join(f"{k}={v}" for k, v in sorted(a.items()))  # noqa: E731
    return f"`{g}({args(record['g_args'])})` vs `ConvDiscriminator({args(record['d_args'])})`"


def report(records: list[dict]) -> str:
    """A Markdown table of plain runs and, per configuration, the collapses and final FCD.

    Args:
        records: what :func:`plain_run` returned, one per run.

    Returns:
        One row per run (configuration, seed, classes / FCD at every evaluation, CPU seconds),
        then one line per configuration: seeds collapsed at the last evaluation (fewer than
        ``MIN_CLASSES`` classes) and the mean final FCD with its 95 % t-interval.
    """
    from benchmarks.stats import t_interval

    steps = sorted({s for r in records for s in r["steps"]})
    lines = [
        "| configuration | seed | " + " | ".join(f"step {s:,}" for s in steps) + " | CPU s |",
        "|---|---|" + "---|" * len(steps) + "---|",
    ]
    groups: dict[str, list[dict]] = {}
    for r in sorted(records, key=lambda r: (_configuration(r), r["seed"])):
        groups.setdefault(_configuration(r), []).append(r)
        at = dict(zip(r["steps"], zip(r["coverage"], r["fcd"], strict=True), strict=True))
        cells = [f"{at[s][0]} / {at[s][1]:.0f}" if s in at else "-" for s in steps]
        lines.append(
            f"| {_configuration(r)} | {r['seed']} | {' | '.join(cells)} | {r['cpu_seconds']:.0f} |"
        )
    lines.append("")
    for name, runs in groups.items():
        collapsed = [r["seed"] for r in runs if r["coverage"][-1] < MIN_CLASSES]
        last = t_interval([r["fcd"][-1] for r in runs])
        lines.append(
            f"- {name}: collapsed (< {MIN_CLASSES} classes at step "
            f"{runs[0]['steps'][-1]:,}) in {len(collapsed)} of {len(runs)} seeds"
            + (
                f" (seed{'s' * (len(collapsed) > 1)} {', '.join(map(str, collapsed))})"
                if collapsed
                else ""
            )
            + f"; final FCD {last}"
        )
    return "\n".join(lines)


def plot_runs(records: list[dict], path: Path) -> Path:
    """Write every run's FCD and class count against steps to ``path`` (one colour per
    configuration, one line per seed; the collapse line at ``MIN_CLASSES``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (fcd_ax, classes_ax) = plt.subplots(1, 2, figsize=(10, 4.6), dpi=100)
    colours: dict[str, str] = {}
    for r in sorted(records, key=lambda r: (_configuration(r), r["seed"])):
        name = _configuration(r).replace("`", "")
        first = name not in colours
        colour = colours.setdefault(name, f"C{len(colours)}")
        label = name if first else None
        fcd_ax.plot(r["steps"], r["fcd"], color=colour, marker="o", label=label, alpha=0.8)
        classes_ax.plot(r["steps"], r["coverage"], color=colour, marker="o", alpha=0.8)
    classes_ax.axhline(MIN_CLASSES - 0.5, color="grey", linestyle="--", linewidth=1)
    fcd_ax.set_ylabel("Frechet classifier distance (lower is better)")
    classes_ax.set_ylabel("classes with >= 1 % of the samples")
    classes_ax.set_ylim(0, 10.5)
    for ax in (fcd_ax, classes_ax):
        ax.set_xlabel("training steps")
        ax.grid(alpha=0.3)
    fig.legend(loc="lower center", fontsize=8, ncol=1, frameon=False)
    fig.suptitle("plain TorchGAN Trainer, one line per seed")
    fig.tight_layout(rect=(0, 0.06 * len(colours) + 0.02, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def main(argv: list[str] | None = None) -> None:
    """Command line: one plain run, its record printed and optionally written as JSON; or
    ``--report FILE``: the runs recorded in ``FILE`` as a table."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.plain_trainer", description=__doc__)
    p.add_argument("--generator", choices=("lstm", "dcgan"), default="lstm")
    p.add_argument("--g-args", type=json.loads, default={})
    p.add_argument("--d-args", type=json.loads, default={})
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--g-lr", type=float, default=2e-4)
    p.add_argument("--d-lr", type=float, default=2e-4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("runs/plain-trainer"))
    p.add_argument("--json", type=Path, default=None, help="append the record to this JSON list")
    p.add_argument("--report", type=Path, default=None, help="print this JSON list's runs")
    p.add_argument("--figure", type=Path, default=None, help="with --report: plot them here")
    a = p.parse_args(argv)
    if a.report is not None:
        records = json.loads(a.report.read_text())
        print(report(records))
        if a.figure is not None:
            plot_runs(records, a.figure)
        return
    torch.set_num_threads(a.threads)
    record = plain_run(
        a.generator, a.g_args, a.d_args, a.steps, a.eval_every, a.samples, a.seed, a.g_lr,
        a.d_lr, out=a.out,
    )  # fmt: skip
    print(json.dumps({k: record[k] for k in ("coverage", "fcd", "cpu_seconds")}))
    if a.json is not None:
        runs = json.loads(a.json.read_text()) if a.json.exists() else []
        a.json.write_text(json.dumps([*runs, record], indent=1))


if __name__ == "__main__":
    main()

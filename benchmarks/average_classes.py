"""Class shares of a run's trained generator beside those of its average, from one checkpoint.

``python -m benchmarks.average_classes RUN [RUN ...]`` loads each run (a run folder or a
checkpoint of a run that kept the generator's average, ``--ema_decay``), draws the same noise
through the trained generator and through the average, and prints each one's share of the
samples per Fashion-MNIST class, by the package's classifier. It tells whether a class that the
average under-draws is under-drawn by the training itself.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn as nn

from torchgan_lstm.app.run import load_generator, run_config_of
from torchgan_lstm.checkpoint import safe_load
from torchgan_lstm.metrics import ClassCoverage

__all__ = ["class_shares", "main", "trained_and_average"]


def trained_and_average(path: str | Path) -> tuple[nn.Module, nn.Module]:
    """``(trained generator, its average)`` of a run, both in eval mode on the CPU.

    Raises:
        ValueError: the run kept no average (its ``ema_decay`` was 0).
    """
    config, checkpoint_path = run_config_of(path)
    if config.ema_decay <= 0:
        raise ValueError(f"{path} kept no average of its generator (ema_decay 0)")
    average, _ = load_generator(checkpoint_path)
    trained = config.generator.build()
    trained.load_state_dict(safe_load(checkpoint_path, map_location="cpu")["generator"])
    return trained.eval(), average


def class_shares(generator: nn.Module, samples: int = 5000, seed: int = 0) -> list[float]:
    """The share of ``samples`` images from ``generator`` predicted as each class ``(10,)``,
    the noise drawn after ``torch.manual_seed(seed)``."""
    metric = ClassCoverage(sample_size=samples)
    torch.manual_seed(seed)
    metric.metric_ops(generator, "cpu")
    return [round(float(share), 4) for share in metric.last_histogram]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.average_classes", description=__doc__.splitlines()[0]
    )
    parser.add_argument("runs", nargs="+", help="run folders or checkpoints")
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument("--out", type=Path, help="also write the shares here as JSON")
    args = parser.parse_args(argv)
    results = {}
    print("| run | generator | share per class 0-9 (%) | rarest |")
    print("|---|---|---|---|")
    for run in args.runs:
        trained, average = trained_and_average(run)
        results[run] = {}
        for name, generator in (("trained", trained), ("average", average)):
            shares = class_shares(generator, args.samples, args.seed)
            results[run][name] = shares
            cells = ", ".join(f"{share * 100:.1f}" for share in shares)
            rarest = min(range(len(shares)), key=shares.__getitem__)
            print(f"| {run} | {name} | {cells} | {shares[rarest]:.1%} (class {rarest}) |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

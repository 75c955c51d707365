"""Class shares of a run's trained generator beside those of its average, from one checkpoint.

``python -m benchmarks.average_classes RUN [RUN ...]`` loads each run (a run folder or a
checkpoint of a run that kept the generator's average, ``--ema_decay``), draws the same noise
through the trained generator and through the average, and prints each one's share of the
samples per Fashion-MNIST class, by the package's classifier. It tells whether a class that the
average under-draws is under-drawn by the training itself. With ``--batch-norm-batches N`` it
also scores each generator with its batch-norm statistics re-estimated from ``N`` batches of its
own samples (SWA's ``update_bn``): the average's statistics are averages of the trained
generator's, not those of the averaged weights' own activations.
"""

from __future__ import annotations

import argparse
import json
from copy import deepcopy
from pathlib import Path

import torch
import torch.nn as nn
from torch.optim.swa_utils import update_bn

from torchgan_lstm.app.run import load_generator, run_config_of
from torchgan_lstm.checkpoint import safe_load
from torchgan_lstm.metrics import ClassCoverage, FrechetClassifierDistance

__all__ = ["class_shares", "distance", "main", "trained_and_average", "with_own_batch_stats"]


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


def distance(generator: nn.Module, samples: int = 5000, seed: int = 0) -> float:
    """The Frechet classifier distance of ``samples`` images from ``generator`` to the test
    split, the noise drawn after ``torch.manual_seed(seed)``."""
    metric = FrechetClassifierDistance(sample_size=samples)
    torch.manual_seed(seed)
    return round(float(metric.metric_ops(generator, "cpu")), 2)


def with_own_batch_stats(
    generator: nn.Module, batches: int, batch_size: int = 64, seed: int = 1
) -> nn.Module:
    """A copy of ``generator`` in eval mode whose batch-norm running statistics are the means
    over ``batches`` batches of its own noise (drawn after ``torch.manual_seed(seed)``).

    Raises:
        ValueError: the generator takes more than its noise (a conditional generator).
    """
    copy = deepcopy(generator)
    torch.manual_seed(seed)
    noise = [copy.sampler(batch_size, "cpu") for _ in range(batches)]
    if len(noise[0]) != 1:
        raise ValueError("with_own_batch_stats takes an unconditional generator (noise only)")
    update_bn(noise, copy)
    return copy.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.average_classes", description=__doc__.splitlines()[0]
    )
    parser.add_argument("runs", nargs="+", help="run folders or checkpoints")
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument(
        "--batch-norm-batches",
        type=int,
        default=0,
        help="also score each generator with its batch-norm statistics re-estimated from this "
        "many batches of 64 of its own samples (default 0: not)",
    )
    parser.add_argument("--fcd", action="store_true", help="also the Frechet classifier distance")
    parser.add_argument("--out", type=Path, help="also write the shares here as JSON")
    args = parser.parse_args(argv)
    results = {}
    print("| run | generator | share per class 0-9 (%) | rarest | FCD |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        generators = dict(zip(("trained", "average"), trained_and_average(run), strict=True))
        if args.batch_norm_batches:
            for name in ("trained", "average"):
                own = with_own_batch_stats(generators[name], args.batch_norm_batches)
                generators[f"{name}, own batch stats"] = own
        results[run] = {}
        for name, generator in generators.items():
            shares = class_shares(generator, args.samples, args.seed)
            results[run][name] = shares
            fcd = distance(generator, args.samples, args.seed) if args.fcd else None
            if fcd is not None:
                results[run].setdefault("fcd", {})[name] = fcd
            cells = ", ".join(f"{share * 100:.1f}" for share in shares)
            rarest = min(range(len(shares)), key=shares.__getitem__)
            print(
                f"| {run} | {name} | {cells} | {shares[rarest]:.1%} (class {rarest}) | "
                f"{'' if fcd is None else fcd} |"
            )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

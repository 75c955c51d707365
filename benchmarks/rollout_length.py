"""Longer than trained: a sequence generator trained at one length, sampled at several.

``python -m benchmarks.rollout_length --dataset sines --lengths 24 48 96 --name sines-cpu``
trains ``torchgan-lstm train --data.dataset sines`` with the command line's defaults (24 steps;
``--metric_samples 0`` only skips the scores during training), or scores a finished run given
with ``--run``, then samples as many sequences as the real set holds at each length (the
``sample --seq_len`` roll-out) and scores them with TimeGAN's discriminative and predictive
scores against real data of that length: fresh sines of that length, or ETTh's windows of that
length. It writes ``results/rollout-length-<name>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from pathlib import Path

import torch

from torchgan_lstm.app import cli
from torchgan_lstm.app.commands import generated_batches
from torchgan_lstm.app.run import load_generator
from torchgan_lstm.data import build_sequence_dataset
from torchgan_lstm.metrics import discriminative_score, predictive_score, score_spread

RESULTS = Path(__file__).parent / "results"


def _train(dataset: str, root: str | None, out: Path, seed: int) -> float:
    argv = ["train", "--data.dataset", dataset, "--metric_samples", "0", "--seed", str(seed)]
    argv += ["--progress", "false", "--out", str(out)]
    if root is not None:
        argv += ["--data.root", root]
    start = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        if cli.main(argv) != 0:
            raise SystemExit(f"training failed: {' '.join(argv)}")
    return time.process_time() - start


def main(argv: list[str] | None = None) -> None:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.rollout_length", description=__doc__)
    p.add_argument("--dataset", default="sines", help="sines or etth")
    p.add_argument("--root", default=None, help="etth: the folder of ETTh1.csv")
    p.add_argument("--run", type=Path, default=None, help="score this run instead of training")
    p.add_argument("--lengths", type=int, nargs="+", default=[24, 48, 96])
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--metric-runs", type=int, default=3)
    p.add_argument("--name", required=True, help="results/rollout-length-<name>.json")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    run = args.run or RESULTS / "runs" / f"rollout-{args.name}"
    result = {"dataset": args.dataset, "run": str(run), "metric_runs": args.metric_runs}
    if args.run is None:
        result["train_cpu_seconds"] = _train(args.dataset, args.root, run, args.seed)
    generator, config = load_generator(run, "cpu")
    result["trained_seq_len"] = config.data.seq_len
    result["lengths"] = {}
    for length in args.lengths:
        real = build_sequence_dataset(args.dataset, seq_len=length, root=args.root).sequences
        fake = torch.cat(list(generated_batches(generator, len(real), 0, seq_len=length)))
        scores = {
            "discriminative": score_spread(
                lambda s, r=real, f=fake: discriminative_score(r, f, seed=s), args.metric_runs
            ).as_dict(),
            "predictive": score_spread(
                lambda s, r=real, f=fake: predictive_score(r, f, seed=s), args.metric_runs
            ).as_dict(),
        }
        result["lengths"][str(length)] = scores
        print(
            f"[rollout] {args.dataset} trained at {config.data.seq_len}, sampled at {length}: "
            f"discriminative {scores['discriminative']['mean']:.3f} +- "
            f"{scores['discriminative']['sd']:.3f}, predictive "
            f"{scores['predictive']['mean']:.4f} +- {scores['predictive']['sd']:.4f}",
            flush=True,
        )
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"rollout-length-{args.name}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

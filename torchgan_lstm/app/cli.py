"""Command line: ``torchgan-lstm train | sample | evaluate`` (also ``python -m torchgan_lstm``).

A bad value exits with status 2 and one line naming it, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..data import DATASETS
from ..losses import LOSS_FAMILIES
from ..models.conv import NORMS
from ..models.lstm import DECODERS
from ..trainer.guards import TrainingError
from .run import DISCRIMINATORS, GENERATORS, RunConfig

__all__ = ["build_parser", "main"]

_DEFAULTS = RunConfig()
_NATURAL_CHANNELS = {"fashion-mnist": 1, "mnist": 1, "cifar10": 3, "folder": 3}


def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    d = _DEFAULTS
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=DATASETS, default=d.dataset)
    data.add_argument("--data-root", help="folder holding the dataset (default: search)")
    data.add_argument(
        "--no-download",
        dest="download",
        action="store_false",
        help="never let torchvision download the dataset",
    )
    data.add_argument("--image-size", type=int, default=d.image_size, help="side in pixels")
    data.add_argument("--channels", type=int, choices=(1, 3), help="default: the dataset's")

    gen = p.add_argument_group("generator")
    gen.add_argument("--generator", choices=GENERATORS, default=d.generator)
    gen.add_argument("--decoder", choices=DECODERS, default=d.decoder)
    gen.add_argument("--encoding-dims", type=int, default=d.encoding_dims)
    gen.add_argument("--hidden-size", type=int, default=d.hidden_size)
    gen.add_argument("--num-layers", type=int, default=d.num_layers)
    gen.add_argument("--lstm-dropout", type=float, default=d.lstm_dropout)
    gen.add_argument("--g-step-channels", type=int, default=d.g_step_channels)
    gen.add_argument(
        "--no-latent-skip",
        dest="latent_skip",
        action="store_false",
        help="conv decoder: no linear path from the noise beside the LSTM",
    )
    gen.add_argument(
        "--no-g-batchnorm",
        dest="g_batchnorm",
        action="store_false",
        help="no batch norm in the generator (under torchrun on CPU: exact multi-rank runs)",
    )
    gen.add_argument(
        "--lstm-gate",
        action=argparse.BooleanOptionalAction,
        default=d.lstm_gate,
        help="conv decoder: the LSTM's map joins the skip path through a gate starting at 0 "
        "(default: on for the conv decoder with its latent skip)",
    )
    gen.add_argument("--rows-per-step", type=int, default=d.rows_per_step)
    gen.add_argument("--canvas-steps", type=int, default=d.canvas_steps)

    dis = p.add_argument_group("discriminator")
    dis.add_argument(
        "--discriminator",
        choices=DISCRIMINATORS,
        default=d.discriminator,
        help="dcgan: TorchGAN's DCGANDiscriminator (power-of-two image sizes); conv: our "
        "ConvDiscriminator (any size >= 8; the --d-layers/--d-dropout/--d-norm/"
        "--d-minibatch-features options)",
    )
    dis.add_argument("--d-step-channels", type=int, default=d.d_step_channels)
    dis.add_argument("--d-layers", type=int, default=d.d_layers)
    dis.add_argument("--d-dropout", type=float, default=d.d_dropout)
    dis.add_argument("--d-norm", choices=NORMS, default=d.d_norm)
    dis.add_argument(
        "--d-minibatch-features",
        type=int,
        default=d.d_minibatch_features,
        help="conv discriminator: minibatch-discrimination features against collapse (0: off)",
    )

    opt = p.add_argument_group("optimisation")
    opt.add_argument("--loss", choices=LOSS_FAMILIES, default=d.loss)
    opt.add_argument("--ncritic", type=int, default=d.ncritic)
    opt.add_argument("--batch-size", type=int, default=d.batch_size)
    opt.add_argument("--g-lr", type=float, default=d.g_lr)
    opt.add_argument("--d-lr", type=float, default=d.d_lr)
    opt.add_argument("--betas", type=float, nargs=2, default=d.betas, metavar=("BETA1", "BETA2"))
    budget = opt.add_mutually_exclusive_group()
    budget.add_argument("--max-steps", type=int, help=f"default {d.max_steps}")
    budget.add_argument(
        "--epochs", type=int, help="passes over the dataset, instead of --max-steps"
    )
    opt.add_argument(
        "--eval-every",
        type=int,
        default=d.eval_every,
        help="steps between checkpoints, sample grids and metrics",
    )
    opt.add_argument("--seed", type=int, default=d.seed)
    opt.add_argument(
        "--max-seconds",
        type=float,
        help="also stop once this many seconds were spent in training steps (this process)",
    )
    opt.add_argument(
        "--ema-decay",
        type=float,
        default=d.ema_decay,
        help="keep an exponential moving average of the generator with this decay (e.g. "
        "0.999) for samples, metrics and checkpoints; 0: none",
    )

    speed = p.add_argument_group("speed")
    speed.add_argument("--amp", action="store_true", help="bf16 autocast (best on CUDA)")
    speed.add_argument(
        "--compile", action="store_true", help="torch.compile both models (not with wgan-gp)"
    )
    speed.add_argument(
        "--channels-last", action="store_true", help="NHWC memory format for the convolutions"
    )

    run = p.add_argument_group("run")
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), default=d.device)
    run.add_argument(
        "--backend",
        choices=("auto", "nccl", "gloo"),
        default="auto",
        help="under torchrun: process group backend (auto: nccl on CUDA, gloo on CPU)",
    )
    run.add_argument("--out", default=d.out, help="output folder")
    run.add_argument(
        "--resume", help="checkpoint to continue from, or 'auto' for the newest in --out"
    )
    run.add_argument(
        "--metric-samples",
        type=int,
        default=d.metric_samples,
        help="generated images per metric evaluation (0: no metrics)",
    )
    run.add_argument("--sample-size", type=int, default=d.sample_size, help="images per grid")
    run.add_argument(
        "--no-progress",
        dest="progress",
        action="store_const",
        const=False,
        default=None,
        help="no progress bar (default: only on a terminal)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``torchgan-lstm`` argument parser."""
    parser = argparse.ArgumentParser(prog="torchgan-lstm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train_arguments(sub.add_parser("train", help="train a GAN with TorchGAN's Trainer"))

    sample = sub.add_parser("sample", help="checkpoint -> PNG grid (and single images)")
    sample.add_argument("checkpoint")
    sample.add_argument("--out", default="samples.png", help="grid PNG")
    sample.add_argument("--n", type=int, default=64, help="images in the grid")
    sample.add_argument("--singles", type=int, default=0, help="also write this many single PNGs")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")

    evaluate = sub.add_parser("evaluate", help="checkpoint -> quality metrics (JSON)")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--samples", type=int, default=5000, help="generated images")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--data-root", help="Fashion-MNIST folder (default: search)")
    evaluate.add_argument("--json", help="also write the metrics to this file")
    evaluate.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    return parser


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Turn parsed ``train`` arguments into a :class:`RunConfig` (not yet validated)."""
    values = {k: v for k, v in vars(args).items() if k in RunConfig.__dataclass_fields__}
    values["betas"] = tuple(args.betas)
    if args.channels is None:
        values["channels"] = _NATURAL_CHANNELS[args.dataset]
    if args.max_steps is None:
        values["max_steps"] = _DEFAULTS.max_steps
    return RunConfig(**values)


def _train(args) -> dict:
    from ..trainer import distributed
    from .run import train

    config = config_from_args(args)
    if distributed.launched_by_torchrun():  # --batch-size is the global batch
        summary = distributed.train(config, args.backend, args.resume, args.progress)
        if not summary:  # ranks > 0 print nothing
            return summary
    else:
        summary = train(config, resume=args.resume, progress=args.progress)
    print(json.dumps({k: summary[k] for k in ("steps", "train_seconds", "metrics")}, indent=2))
    print(
        f"outputs in {config.out}: samples.png, loss_curves.png, summary.json, checkpoints/, "
        f"images/, tensorboard/"
    )
    return summary


def _sample(args) -> None:
    import torchvision

    from .run import load_generator, resolve_device, sample_grid

    generator, _ = load_generator(args.checkpoint, resolve_device(args.device))
    images = sample_grid(generator, args.out, n=args.n, seed=args.seed)
    for i in range(min(args.singles, len(images))):
        single = Path(args.out).with_name(f"{Path(args.out).stem}_{i:03d}.png")
        torchvision.utils.save_image(images[i], single, normalize=True, value_range=(-1, 1))
    print(f"wrote {args.out}" + (f" and {args.singles} single images" if args.singles else ""))


def _evaluate(args) -> dict:
    import torch

    from ..metrics import ClassCoverage, ClassImbalance, FrechetClassifierDistance
    from .run import load_generator, resolve_device

    device = resolve_device(args.device)
    generator, _ = load_generator(args.checkpoint, device)
    kw = {"sample_size": args.samples, "device": str(device)}
    coverage = ClassCoverage(**kw)
    results = {}
    for name, metric in (
        ("frechet_classifier_distance", FrechetClassifierDistance(**kw, data_root=args.data_root)),
        ("class_coverage", coverage),
        ("class_imbalance_kl", ClassImbalance(**kw)),
    ):
        torch.manual_seed(args.seed)
        results[name] = metric.metric_ops(generator, device)
    results["class_histogram"] = [round(float(v), 4) for v in coverage.last_histogram]
    results["samples"] = args.samples
    results["checkpoint"] = str(args.checkpoint)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


def _check_numbers(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    positive = ("image_size", "batch_size", "max_steps", "epochs", "eval_every", "n", "samples")
    for name in positive:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            parser.error(f"argument --{name.replace('_', '-')}: must be >= 1, got {value}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``torchgan-lstm`` console script.

    Returns:
        0 on success; bad input exits with status 2 and a one-line message; a run that
        diverges or whose data loader fails exits with status 1 and a one-line message.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_numbers(parser, args)
    commands = {"train": _train, "sample": _sample, "evaluate": _evaluate}
    try:
        commands[args.command](args)
    except (ValueError, FileNotFoundError) as err:  # bad input: data, options, checkpoints
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        parser.exit(2, f"torchgan-lstm {args.command}: error: {message}\n")
    except TrainingError as err:  # a run that went wrong part-way: diverged, data loader raised
        parser.exit(1, f"torchgan-lstm {args.command}: error: {str(err).splitlines()[0]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``torchgan-lstm train | sample | evaluate | export`` (``python -m torchgan_lstm``).

``train``'s options are derived from the run configuration (:mod:`torchgan_lstm.app.config`) by
jsonargparse: the run settings (``--max_steps``, ``--loss``...), ``--data.*``, and the models as
a class and its constructor arguments (``--generator LSTMGenerator --generator.hidden_size 128``,
``--discriminator ConvDiscriminator --discriminator.norm spectral``), the same keys as in a
``config.yaml`` (``--config run.yaml``; options given after it override it).

Bad input (an option, a value, a file, a checkpoint) exits with status 2 and one line naming
it; a run that diverges or whose data loader fails exits with status 1 and one line; any other
error keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml
from jsonargparse import ActionConfigFile, ArgumentError, ArgumentParser
from torchgan.models import Discriminator, Generator

from .._random import forked_rng
from .._validation import InputError, check_choice, check_int
from ..trainer.guards import TrainingError
from ..trainer.strategy import DEVICES
from .config import (
    KIND_DEFAULTS,
    DataConfig,
    RunConfig,
    RunSettings,
    is_sequence_dataset,
    natural_channels,
    sequence_features,
)

__all__ = ["build_parser", "config_from_args", "main", "train_parser"]

_BACKENDS = ("auto", "nccl", "gloo")
SAMPLE_FORMATS = ("png", "npz", "pt", "folder")


def _add_train_arguments(parser: ArgumentParser, sequences: bool) -> None:
    defaults = RunConfig(data=DataConfig("sines" if sequences else "fashion-mnist"))
    defaults = defaults.resolved() if sequences else defaults
    parser.add_argument(
        "--config", action=ActionConfigFile, help="a run's config.yaml to start from"
    )
    parser.add_class_arguments(RunSettings, nested_key=None, as_group=True)
    parser.set_defaults(KIND_DEFAULTS["sequences" if sequences else "images"])
    parser.add_class_arguments(DataConfig, "data")
    for role, base in (("generator", Generator), ("discriminator", Discriminator)):
        spec = getattr(defaults, role)
        parser.add_subclass_arguments(
            base,
            role,
            fail_untyped=False,
            default={"class_path": spec.class_path, "init_args": _unlinked(spec.init_args)},
            help=f"the {role}: a registered class (e.g. LSTMGenerator, DCGANGenerator, "
            "ConvDiscriminator, DCGANDiscriminator; for sequence datasets "
            "LSTMSequenceGenerator, LSTMSequenceDiscriminator, ConvSequenceDiscriminator) and "
            "its constructor arguments",
        )
    # The data part sets the models' shape: these arguments are derived, not options.
    if sequences:
        parser.link_arguments("data.seq_len", "generator.init_args.seq_len")
        sources = ("data.dataset", "data.seq_len", "data.stride", "data.root")
        for role in ("generator", "discriminator"):
            parser.link_arguments(sources, f"{role}.init_args.features", _features)
    else:
        for role, prefix in (("generator", "out"), ("discriminator", "in")):
            parser.link_arguments("data.image_size", f"{role}.init_args.{prefix}_size")
            channels = ("data.channels", "data.dataset")
            parser.link_arguments(channels, f"{role}.init_args.{prefix}_channels", _channels)
    parser.add_argument(
        "--resume",
        type=str | None,
        default=None,
        help="a checkpoint to continue from, a run folder (its newest checkpoint), or 'auto' "
        "for the newest in --out; without --config the run's config.yaml is the starting point",
    )
    parser.add_argument(
        "--backend",
        type=str,
        default="auto",
        help="under torchrun: the process group backend, auto (nccl on CUDA, gloo on CPU), "
        "nccl or gloo",
    )
    parser.add_argument(
        "--progress",
        type=bool | None,
        default=None,
        help="show a progress bar (default: only when stderr is a terminal)",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the full resolved configuration as YAML and exit",
    )


def _channels(channels, dataset):
    return natural_channels(dataset, channels)


def _features(dataset, seq_len, stride, root):
    return sequence_features(DataConfig(dataset, root, seq_len=seq_len, stride=stride))


def _unlinked(init_args: dict) -> dict:
    derived = ("out_size", "out_channels", "in_size", "in_channels", "seq_len", "features")
    return {k: v for k, v in init_args.items() if k not in derived}


def build_parser() -> ArgumentParser:
    """The ``torchgan-lstm`` argument parser (jsonargparse)."""
    parser = ArgumentParser(
        prog="torchgan-lstm",
        description="Train, sample, evaluate and export GANs with TorchGAN's Trainer.",
        exit_on_error=False,
        default_env=False,
    )
    commands = parser.add_subcommands(dest="command")

    commands.add_subcommand("train", train_parser(), help="train a GAN with TorchGAN's Trainer")

    sample = ArgumentParser(description="write samples of a trained generator", exit_on_error=False)
    _add_checkpoint_argument(sample)
    sample.add_argument("--out", type=str, default="samples.png", help="output file or folder")
    sample.add_argument("--n", type=int, default=64, help="number of samples")
    sample.add_argument(
        "--format",
        type=str | None,
        default=None,
        help="images: png (one grid), npz (uint8 NHWC array 'arr_0'), pt (float tensor), "
        "folder (one PNG per sample, for external FID tools); sequences: npy ((n, seq_len, "
        "features)) or csv, in the data's own units; default: from --out's extension, a folder "
        "when it has none",
    )
    sample.add_argument(
        "--singles", type=int, default=0, help="with a grid: also write this many single PNGs"
    )
    sample.add_argument(
        "--seq_len",
        type=int | None,
        default=None,
        help="sequence checkpoints: steps to roll out (default: the training length)",
    )
    sample.add_argument("--seed", type=int, default=0, help="seeds the noise")
    sample.add_argument("--device", type=str, default="auto", help="auto, cpu or cuda")
    commands.add_subcommand("sample", sample, help="checkpoint -> samples (png, npz, pt, folder)")

    evaluate = ArgumentParser(description="score a generator's samples", exit_on_error=False)
    _add_checkpoint_argument(evaluate)
    evaluate.add_argument(
        "--samples",
        type=int,
        default=5000,
        help="generated images (sequences: as many as the training set holds, TimeGAN's protocol)",
    )
    evaluate.add_argument(
        "--runs", type=int, default=3, help="sequences: seeds each score is repeated with"
    )
    evaluate.add_argument("--seed", type=int, default=0, help="seeds the noise")
    evaluate.add_argument(
        "--data_root", type=str | None, default=None, help="Fashion-MNIST folder (default: search)"
    )
    evaluate.add_argument("--json", type=str | None, default=None, help="also write the metrics")
    evaluate.add_argument("--device", type=str, default="auto", help="auto, cpu or cuda")
    commands.add_subcommand("evaluate", evaluate, help="checkpoint -> quality metrics (JSON)")

    export = ArgumentParser(description="export a generator without pickle", exit_on_error=False)
    _add_checkpoint_argument(export)
    export.add_argument("out_dir", type=str, help="folder for model.safetensors and config.json")
    commands.add_subcommand("export", export, help="checkpoint -> model.safetensors + config.json")
    return parser


def train_parser(sequences: bool = False) -> ArgumentParser:
    """The parser of ``torchgan-lstm train``; its default models and the arguments the data
    sets are those of image datasets, or with ``sequences`` of sequence datasets."""
    parser = ArgumentParser(
        prog="torchgan-lstm train",
        description="train a GAN with TorchGAN's Trainer",
        exit_on_error=False,
    )
    _add_train_arguments(parser, sequences)
    return parser


def _dataset_named(argv: list[str]) -> str | None:
    """The ``--data.dataset`` that ``argv`` (or a ``--config`` file in it) sets; the last wins."""
    named = None
    for i, arg in enumerate(argv):
        key, _, value = arg.partition("=")
        if key not in ("--data.dataset", "--config"):
            continue
        value = value or (argv[i + 1] if i + 1 < len(argv) else "")
        if key == "--data.dataset":
            named = value
        elif Path(value).is_file():
            try:
                data = yaml.safe_load(Path(value).read_text())
            except yaml.YAMLError:
                continue  # jsonargparse reports a broken file
            named = ((data or {}).get("data") or {}).get("dataset", named)
    return named


def _add_checkpoint_argument(parser: ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=str, help="a checkpoint, or a run folder (its newest)")


def config_from_args(args) -> RunConfig:
    """Turn parsed ``train`` arguments into a :class:`RunConfig` (not yet validated)."""
    values = args.as_dict() if hasattr(args, "as_dict") else dict(args)
    for key in ("config", "resume", "backend", "progress", "print_config", "__path__"):
        values.pop(key, None)
    return RunConfig.from_dict(values)


def _train_args(argv: list[str]):
    # --resume without --config: the run's own config.yaml is the starting point.
    args = _parse_train(argv)
    if args.resume is None or args.config:
        return args
    resume = Path(args.resume)
    folder = Path(args.out) if args.resume == "auto" else resume if resume.is_dir() else None
    if folder is None:
        folder = resume.parent.parent  # <run>/checkpoints/ganN.model
    saved = folder / "config.yaml"
    if not saved.is_file():
        return args
    # The run's own folder stays its output folder, wherever its config.yaml says it was.
    out = (
        [] if any(a == "--out" or a.startswith("--out=") for a in argv) else ["--out", str(folder)]
    )
    return _parse_train(["--config", str(saved), *out, *argv])


def _parse_train(argv: list[str]):
    return train_parser(is_sequence_dataset(_dataset_named(argv) or "")).parse_args(argv)


def _train(args) -> dict:
    from ..trainer import distributed
    from .run import train

    config = config_from_args(args)
    if args.print_config:
        print(config.validate().to_yaml(), end="")
        return {}
    check_choice("backend", args.backend, _BACKENDS)
    strategy = None
    if distributed.launched_by_torchrun():  # --batch_size is the global batch
        strategy = distributed.Torchrun(config.device, args.backend, config.seed)
    summary = train(config, resume=args.resume, progress=args.progress, strategy=strategy)
    if not summary:  # ranks > 0 print nothing
        return summary
    print(json.dumps({k: summary[k] for k in ("steps", "train_seconds", "metrics")}, indent=2))
    print(
        f"outputs in {config.out}: samples.png, loss_curves.png, summary.json, config.yaml, "
        f"checkpoints/, images/, tensorboard/"
    )
    return summary


def _sample(args) -> None:
    from ..trainer.strategy import resolve_device
    from .outputs import sample_grid
    from .run import load_generator
    from .samples import write_image_folder, write_samples

    check_int("n", args.n)
    generator, config = load_generator(args.checkpoint, resolve_device(args.device))
    if config.data.sequences:
        _sample_sequences(args, generator)
        return
    if args.seq_len is not None:
        raise InputError(
            f"seq_len={args.seq_len} is for sequence checkpoints; this one makes images"
        )
    fmt = args.format or _format_from_suffix(args.out)
    check_choice("format", fmt, SAMPLE_FORMATS)
    out = Path(args.out)
    if fmt == "png":
        images = sample_grid(generator, out, n=args.n, seed=args.seed)
        for i in range(min(args.singles, len(images))):
            single = out.with_name(f"{out.stem}_{i:03d}.png")
            write_samples(images[i : i + 1], single, "png", nrow=1)
        extra = f" and {args.singles} single images" if args.singles else ""
        print(f"wrote {out}{extra}")
        return
    images = _draw(generator, args.n, args.seed)
    if fmt == "folder":
        write_image_folder(images, out)
    else:
        write_samples(images, out, fmt)
    print(f"wrote {args.n} samples to {out}")


def _sample_sequences(args, generator) -> None:
    from .run import load_data_info
    from .sequences import write_sequence_samples

    fake = write_sequence_samples(
        generator, args.out, args.n, args.seed, args.seq_len, args.format,
        load_data_info(args.checkpoint),
    )  # fmt: skip
    print(f"wrote {fake.shape[0]} sequences of {fake.shape[1]} x {fake.shape[2]} to {args.out}")


def _format_from_suffix(out: str) -> str:
    suffix = Path(out).suffix.lower().lstrip(".")
    return suffix if suffix else "folder"


def _draw(generator, n: int, seed: int):
    import torch

    device = next(generator.parameters()).device
    with forked_rng(device, seed), torch.no_grad():
        return torch.cat(
            [
                generator(*generator.sampler(len(c), device)).cpu()
                for c in torch.arange(n).split(500)
            ]
        )


def _evaluate(args) -> dict:
    import torch

    from ..metrics import ClassCoverage, ClassImbalance, FrechetClassifierDistance, SharedSamples
    from ..trainer.strategy import resolve_device
    from .resources import check_sampling_memory
    from .run import load_generator

    check_int("samples", args.samples, minimum=2)
    device = resolve_device(args.device)
    generator, config = load_generator(args.checkpoint, device)
    check_sampling_memory(config.generator, args.samples, f"--samples {args.samples}")
    if config.data.sequences:
        return _evaluate_sequences(args, generator, config, device)
    kw = {"sample_size": args.samples, "device": str(device), "shared": SharedSamples()}
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
    return _report(results, args)


def _report(results: dict, args) -> dict:
    results["checkpoint"] = str(args.checkpoint)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


def _evaluate_sequences(args, generator, config, device) -> dict:
    from .run import training_dataset
    from .sequences import evaluate_sequence_generator

    real = training_dataset(config, download=False).sequences
    results = evaluate_sequence_generator(generator, real, device, args.runs, args.seed)
    return _report(results, args)


def _export(args) -> None:
    from .. import registry
    from .export import export_generator
    from .run import load_generator

    generator, config = load_generator(args.checkpoint, "cpu")
    spec = config.generator
    path = export_generator(generator, registry.name_of(spec.cls), spec.init_args, args.out_dir)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``torchgan-lstm`` console script.

    Returns:
        0 on success. Bad input exits with status 2 and a one-line message; a run that
        diverges or whose data loader fails exits with status 1 and a one-line message.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and not argv[0].startswith("-") else "torchgan-lstm"
    try:
        if command == "train":
            args = _train_args(argv[1:])
        else:
            parsed = build_parser().parse_args(argv)
            args = parsed[parsed.command]
            command = parsed.command
        if command in ("sample", "evaluate"):
            check_choice("device", args.device, DEVICES)
        {"train": _train, "sample": _sample, "evaluate": _evaluate, "export": _export}[command](
            args
        )
    except (ArgumentError, InputError) as err:  # bad input: options, data, files, checkpoints
        _exit(2, command, err)
    except TrainingError as err:  # a run that went wrong part-way: diverged, data loader raised
        _exit(1, command, err)
    return 0


def _exit(status: int, command: str, err: Exception) -> None:
    message = " ".join(str(err).split()) or type(err).__name__
    prefix = "torchgan-lstm" if command == "torchgan-lstm" else f"torchgan-lstm {command}"
    sys.stderr.write(f"{prefix}: error: {message}\n")
    sys.exit(status)


if __name__ == "__main__":
    sys.exit(main())

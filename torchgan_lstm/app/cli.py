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

import copy
import json
import sys
from pathlib import Path

from jsonargparse import ActionConfigFile, ArgumentError, ArgumentParser
from torchgan.models import Discriminator, Generator

from .._validation import InputError, check_choice
from ..trainer.guards import TrainingError
from ..trainer.strategy import DEVICES
from .config import (
    KIND_DEFAULTS,
    TABLE_DEFAULTS,
    DataConfig,
    RunConfig,
    RunSettings,
    is_sequence_dataset,
    natural_channels,
    sequence_features,
)
from .config_guard import LOADER_MODE, check_argv, guarded_parsing, import_user_modules
from .safe_yaml import read_yaml_file

__all__ = ["build_parser", "config_from_args", "main", "train_parser"]

_BACKENDS = ("auto", "nccl", "gloo")


def _add_train_arguments(parser: ArgumentParser, sequences: bool, table: bool) -> None:
    defaults = RunConfig(data=DataConfig("sines" if sequences else "fashion-mnist"))
    defaults = defaults.resolved() if sequences else defaults
    if table:  # a table's packed layout comes from the data once it is read, after parsing
        defaults.generator, defaults.discriminator = copy.deepcopy(
            (TABLE_DEFAULTS["generator"], TABLE_DEFAULTS["discriminator"])
        )
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
            skip=_class_typed_arguments(base),
            default={"class_path": spec.class_path, "init_args": _unlinked(spec.init_args)},
            help=f"the {role}: a registered class (e.g. LSTMGenerator, DCGANGenerator, "
            "ConvDiscriminator, DCGANDiscriminator; for sequence datasets "
            "LSTMSequenceGenerator, LSTMSequenceDiscriminator, ConvSequenceDiscriminator; for "
            "tables TableSequenceGenerator) and "
            "its constructor arguments",
        )
    # The data part sets the models' shape: these arguments are derived, not options.
    if sequences:
        parser.link_arguments("data.seq_len", "generator.init_args.seq_len")
        sources = ("data.dataset", "data.seq_len", "data.stride", "data.root")
        for role in ("generator", "discriminator"):
            parser.link_arguments(sources, f"{role}.init_args.features", _features)
        if table:
            parser.link_arguments("data.dataset", "generator.init_args.channels", _no_channels)
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
        "--overwrite",
        type=bool,
        default=False,
        help="write into an --out folder that already holds files, replacing the files a run "
        "writes (without it such a folder is refused, unless --resume continues the run there)",
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


def _class_typed_arguments(base: type) -> set[str]:
    # Constructor arguments typed as a class (e.g. nonlinearity: nn.Module) would let a value
    # name any class to import; a run configuration keeps plain values only (check_plain), so
    # they are no options.
    import typing

    from .. import registry

    names = set()
    for key in registry.list_models():
        cls = registry.get_model_builder(key)
        if not (isinstance(cls, type) and issubclass(cls, base)):
            continue
        try:
            hints = typing.get_type_hints(cls.__init__)
        except Exception:  # unresolvable annotations: jsonargparse treats them as untyped
            continue
        for name, hint in hints.items():
            if name != "return" and not _is_plain_type(hint):
                names.add(name)
    return names


def _is_plain_type(hint) -> bool:
    import typing

    args = typing.get_args(hint)
    if args:
        return all(_is_plain_type(a) for a in args)
    return (
        hint in (int, float, bool, str, dict, list, type(None))
        or typing.get_origin(hint) is not None
    )


def _channels(channels, dataset):
    return natural_channels(dataset, channels)


def _features(dataset, seq_len, stride, root):
    if isinstance(dataset, str) and dataset.startswith("table"):
        # A table is read after parsing, outside the import guard (pandas imports parts of
        # itself and pyarrow lazily): RunConfig.resolved() fills the width in from the data.
        return None
    return sequence_features(DataConfig(dataset, root, seq_len=seq_len, stride=stride))


def _no_channels(dataset):
    # A table generator's packed layout is always read from the table, after parsing
    # (RunConfig.resolved()); on resume, check_same_data compares the data with the checkpoint's.
    return None


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
        parser_mode=LOADER_MODE,
    )
    from .. import __version__  # here, not at the top: the package imports its parts first

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subcommands(dest="command")

    commands.add_subcommand("train", train_parser(), help="train a GAN with TorchGAN's Trainer")

    sample = _subparser("write samples of a trained generator")
    _add_checkpoint_argument(sample)
    sample.add_argument("--out", type=str, default="samples.png", help="output file or folder")
    sample.add_argument("--n", type=int, default=64, help="number of samples")
    sample.add_argument(
        "--format",
        type=str | None,
        default=None,
        help="images: png (one grid), npz (uint8 NHWC array 'arr_0'), pt (float tensor), "
        "folder (one PNG per sample, for external FID tools); sequences: npy ((n, seq_len, "
        "features)) or csv, in the data's own units; tables: csv or parquet, the table's own "
        "columns (--n entities); default: from --out's extension, a folder when it has none",
    )
    sample.add_argument(
        "--singles", type=int, default=0, help="with a grid: also write this many single PNGs"
    )
    sample.add_argument(
        "--seq_len",
        type=int | None,
        default=None,
        help="sequence checkpoints: steps to roll out (default: the training length). Longer "
        "roll-outs are accepted but less realistic: a Sines model trained at 24 steps scored "
        "discriminative 0.095 at 24 steps, 0.346 at 48 and 0.441 at 96 (0 is best, 0.5 worst; "
        "python -m benchmarks.rollout_length measures it); train at the length you need",
    )
    sample.add_argument(
        "--given",
        type=str | None,
        default=None,
        help="table runs: a CSV or Parquet file with one row per entity to generate, holding "
        "its label (the run's data.label column) and/or static attributes (a table generator "
        "generates the series for them)",
    )
    sample.add_argument("--seed", type=int, default=0, help="seeds the noise")
    sample.add_argument("--device", type=str, default="auto", help="auto, cpu or cuda")
    _add_overwrite_argument(sample, "--out")
    commands.add_subcommand("sample", sample, help="checkpoint -> samples (png, npz, pt, folder)")

    evaluate = _subparser("score a generator's samples")
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
    evaluate.add_argument(
        "--posthoc_iterations",
        type=int | None,
        default=None,
        help="sequences: training iterations of TimeGAN's post-hoc classifier and predictor "
        "(default: TimeGAN's, 2,000 and 5,000; fewer for a quick look, not for comparisons)",
    )
    evaluate.add_argument(
        "--context_fid_iterations",
        type=int | None,
        default=None,
        help="sequences: training steps of context-FID's TS2Vec encoder (default: TS2Vec's, 200 "
        "for data of <= 100,000 values, else 600, as Diffusion-TS)",
    )
    evaluate.add_argument(
        "--figure",
        type=str | None,
        default=None,
        help="sequences: also write TimeGAN's PCA / t-SNE figure of real against generated (.png)",
    )
    evaluate.add_argument("--json", type=str | None, default=None, help="also write the metrics")
    evaluate.add_argument("--device", type=str, default="auto", help="auto, cpu or cuda")
    _add_overwrite_argument(evaluate, "--json")
    commands.add_subcommand("evaluate", evaluate, help="checkpoint -> quality metrics (JSON)")

    export = _subparser("export a generator without pickle")
    _add_checkpoint_argument(export)
    export.add_argument("out_dir", type=str, help="folder for model.safetensors and config.json")
    _add_overwrite_argument(export, "out_dir")
    commands.add_subcommand("export", export, help="checkpoint -> model.safetensors + config.json")
    return parser


def _subparser(description: str) -> ArgumentParser:
    return ArgumentParser(description=description, exit_on_error=False, parser_mode=LOADER_MODE)


def train_parser(sequences: bool = False, table: bool = False) -> ArgumentParser:
    """The parser of ``torchgan-lstm train``; its default models and the arguments the data
    sets are those of image datasets, or with ``sequences`` of sequence datasets (with
    ``table`` of tables)."""
    parser = ArgumentParser(
        prog="torchgan-lstm train",
        description="train a GAN with TorchGAN's Trainer",
        exit_on_error=False,
        parser_mode=LOADER_MODE,
    )
    _add_train_arguments(parser, sequences, table)
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
            data = read_yaml_file(value, "--config file")
            part = data.get("data") if isinstance(data, dict) else None
            if isinstance(part, dict) and isinstance(part.get("dataset"), str):
                named = part["dataset"]
    return named


def _add_overwrite_argument(parser: ArgumentParser, target: str) -> None:
    parser.add_argument(
        "--overwrite",
        type=bool,
        default=False,
        help=f"replace what {target} holds (without it an existing file, or a folder holding "
        "files, is refused)",
    )


def _add_checkpoint_argument(parser: ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=str, help="a checkpoint, or a run folder (its newest)")


def config_from_args(args) -> RunConfig:
    """Turn parsed ``train`` arguments into a :class:`RunConfig` (not yet validated)."""
    values = args.as_dict() if hasattr(args, "as_dict") else dict(args)
    for key in ("config", "resume", "overwrite", "backend", "progress", "print_config", "__path__"):
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
    check_argv(argv)  # before anything reads a class path: nothing it names is imported
    dataset = _dataset_named(argv) or ""
    parser = train_parser(is_sequence_dataset(dataset), DataConfig(dataset).table)
    with guarded_parsing():
        return parser.parse_args(argv)


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
    summary = train(
        config,
        resume=args.resume,
        progress=args.progress,
        strategy=strategy,
        overwrite=args.overwrite,
    )
    if not summary:  # ranks > 0 print nothing
        return summary
    print(json.dumps({k: summary[k] for k in ("steps", "train_seconds", "metrics")}, indent=2))
    print(
        f"outputs in {config.out}: samples.png, loss_curves.png, summary.json, config.yaml, "
        f"checkpoints/, images/, tensorboard/"
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``torchgan-lstm`` console script.

    Returns:
        0 on success. Bad input exits with status 2 and a one-line message; a run that
        diverges or whose data loader fails exits with status 1 and a one-line message.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and not argv[0].startswith("-") else "torchgan-lstm"
    try:
        import_user_modules()
        if command == "train":
            args = _train_args(argv[1:])
        else:
            with guarded_parsing():
                parsed = build_parser().parse_args(argv)
            args = parsed[parsed.command]
            command = parsed.command
        if command in ("sample", "evaluate"):
            check_choice("device", args.device, DEVICES)
        from . import commands

        run = {"sample": commands.sample, "evaluate": commands.evaluate, "export": commands.export}
        run.get(command, _train)(args)
    except (ArgumentError, InputError) as err:  # bad input: options, data, files, checkpoints
        _exit(2, command, _own_error(err))
    except TrainingError as err:  # a run that went wrong part-way: diverged, data loader raised
        _exit(1, command, err)
    return 0


def _own_error(err: Exception) -> Exception:
    # jsonargparse wraps an error raised while it parses (a link computing the data's features,
    # a config value) in its own words; the first InputError inside says what is wrong.
    seen, cause = set(), err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, InputError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return err


def _exit(status: int, command: str, err: Exception) -> None:
    message = " ".join(str(err).split()) or type(err).__name__
    prefix = "torchgan-lstm" if command == "torchgan-lstm" else f"torchgan-lstm {command}"
    sys.stderr.write(f"{prefix}: error: {message}\n")
    sys.exit(status)


if __name__ == "__main__":
    sys.exit(main())

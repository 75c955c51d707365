"""What ``torchgan-lstm sample``, ``evaluate`` and ``export`` do with their parsed arguments.

Each checks where it will write before it loads or generates anything (a refusal loses no
work), and ``sample`` generates in batches of :data:`CHUNK`: a folder of PNGs, a ``.npy`` (through
a memory map) and a ``.csv`` are written batch by batch in bounded memory for any ``--n``; a
grid, ``.npz`` or ``.pt`` must fit in memory and is refused with an estimate when it cannot.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch

from .._memory import format_bytes
from .._random import forked_rng
from .._validation import InputError, check_choice, check_int
from .output_paths import check_output_file, check_output_folder
from .resources import check_rollout_memory, check_sampling_memory
from .samples import check_finite_samples

__all__ = [
    "CHUNK",
    "SAMPLE_FORMATS",
    "evaluate",
    "export",
    "generated_batches",
    "sample",
]

SAMPLE_FORMATS = ("png", "npz", "pt", "folder")
CHUNK = 500
# Per image on disk: at most the raw pixels plus PNG headers (PNG rarely compresses worse).
_PNG_OVERHEAD = 1024


def _check_disk(path: Path, needed: int, what: str) -> None:
    existing = path
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise InputError(
            f"{what} needs about {format_bytes(needed)} on disk, but {str(existing)!r} has "
            f"{format_bytes(free)} free"
        )


def generated_batches(
    generator: torch.nn.Module, n: int, seed: int, seq_len: int | None = None
) -> Iterator[torch.Tensor]:
    """Generate ``n`` samples in batches of at most :data:`CHUNK`, on the CPU.

    The noise comes from a fork of the RNG seeded with ``seed``: the same samples for the same
    ``(n, seed)``, and the caller's random state is left as it was.

    Raises:
        InputError: the generator produced NaN or infinite values (that batch is not
            returned; a file streamed batch by batch keeps the batches before it).
    """
    device = next(generator.parameters()).device
    extra = {} if seq_len is None else {"seq_len": seq_len}
    with forked_rng(device, seed), torch.no_grad():
        for start in range(0, n, CHUNK):
            size = min(CHUNK, n - start)
            batch = generator(*generator.sampler(size, device, **extra)).cpu()
            check_finite_samples(batch, f"samples {start}-{start + size - 1}")
            yield batch


def sample(args) -> None:
    """``torchgan-lstm sample``: write ``--n`` samples of a checkpoint's generator to ``--out``.

    Raises:
        InputError: a bad option, checkpoint or output path, a request that cannot fit in
            memory or on disk, or non-finite samples.
    """
    from ..trainer.strategy import resolve_device
    from .run import load_generator

    check_int("n", args.n)
    check_int("singles", args.singles, minimum=0)
    generator, config = load_generator(args.checkpoint, resolve_device(args.device))
    if config.data.sequences:
        _sample_sequences(args, generator, config)
        return
    if args.seq_len is not None:
        raise InputError(
            f"--seq_len={args.seq_len} is for sequence checkpoints; this one makes images"
        )
    fmt = args.format if args.format is not None else _format_from_suffix(args.out)
    check_choice("--format", fmt, SAMPLE_FORMATS)
    channels, size = config.data.channels, config.data.image_size
    per_image = channels * size * size
    if fmt == "folder":
        _sample_folder(args, generator, per_image)
        return
    if Path(args.out).suffix.lower() != f".{fmt}":
        raise InputError(f"--out must end in .{fmt} for --format {fmt}, got {args.out!r}")
    out = check_output_file(args.out, "--out", args.overwrite)
    singles = [out.with_name(f"{out.stem}_{i:03d}.png") for i in range(min(args.singles, args.n))]
    for single in singles:
        check_output_file(single, "--singles", args.overwrite)
    check_sampling_memory(config.generator, args.n, f"--n {args.n} as --format {fmt}")
    from .outputs import sample_grid
    from .samples import write_samples

    if fmt == "png":
        images = sample_grid(generator, out, n=args.n, seed=args.seed)
    else:
        images = torch.cat(list(generated_batches(generator, args.n, args.seed)))
        write_samples(images, out, fmt)
    for i, single in enumerate(singles):
        write_samples(images[i : i + 1], single, "png", nrow=1)
    extra = f" and {len(singles)} single images" if singles else ""
    print(f"wrote {args.n} samples to {out}{extra}")


def _sample_folder(args, generator, per_image: int) -> None:
    from .samples import to_uint8_nhwc, write_png

    folder = check_output_folder(args.out, "--out", args.overwrite)
    if folder.is_dir() and (earlier := sorted(folder.glob("*.png"))):
        raise InputError(
            f"--out {str(folder)!r} already holds {len(earlier)} PNG files (e.g. "
            f"{earlier[0].name}); FID tools would score them with the new images: name an "
            f"empty or new folder"
        )
    _check_disk(folder, args.n * (per_image + _PNG_OVERHEAD), f"--n {args.n} PNG files")
    width = max(6, len(str(args.n - 1)))
    index = 0
    for batch in generated_batches(generator, args.n, args.seed):
        folder.mkdir(parents=True, exist_ok=True)  # once the first batch is known to be finite
        for pixels in to_uint8_nhwc(batch):
            write_png(pixels, folder / f"{index:0{width}d}.png")
            index += 1
    print(f"wrote {args.n} samples to {folder}")


def _format_from_suffix(out: str) -> str:
    suffix = Path(out).suffix.lower().lstrip(".")
    return suffix if suffix else "folder"


def _sample_sequences(args, generator, config) -> None:
    from .run import load_data_info
    from .sequences import SEQUENCE_FORMATS, SequenceWriter

    info = load_data_info(args.checkpoint)
    if "table" in info:
        from .table_samples import sample_table

        sample_table(args, generator, config, info["table"])
        return
    out = Path(args.out)
    fmt = args.format if args.format is not None else out.suffix.lower().lstrip(".")
    if fmt not in SEQUENCE_FORMATS and args.format is not None:
        raise InputError(f"--format must be npy or csv for a sequence checkpoint, got {fmt!r}")
    if fmt not in SEQUENCE_FORMATS:
        raise InputError(
            f"the checkpoint makes sequences: --out must end in .npy or .csv (or --format "
            f"npy|csv), got {args.out!r}"
        )
    seq_len = config.data.seq_len if args.seq_len is None else check_int("seq_len", args.seq_len)
    out = check_output_file(out, "--out", args.overwrite)
    if args.singles:
        raise InputError("--singles is for image checkpoints; this one makes sequences")
    features = config.generator.init_args["features"]
    writer = SequenceWriter(out, fmt, (args.n, seq_len, features), info)
    check_rollout_memory(generator, min(args.n, CHUNK), seq_len)
    _check_disk(out, writer.bytes_estimate(), f"--n {args.n} sequences of {seq_len} steps")
    with writer:
        for batch in generated_batches(generator, args.n, args.seed, seq_len=seq_len):
            writer.write(batch.numpy())
    print(f"wrote {args.n} sequences of {seq_len} x {features} to {out}")


def evaluate(args) -> dict:
    """``torchgan-lstm evaluate``: score a checkpoint's generator; print (and write) the JSON.

    Raises:
        InputError: a bad option, checkpoint or ``--json`` path (checked before scoring).
    """
    from ..metrics import ClassCoverage, ClassImbalance, FrechetClassifierDistance, SharedSamples
    from ..trainer.strategy import resolve_device
    from .run import load_generator

    check_int("samples", args.samples, minimum=2)
    if args.json is not None:
        check_output_file(args.json, "--json", args.overwrite)
    if args.figure is not None:
        check_output_file(args.figure, "--figure", args.overwrite)
    device = resolve_device(args.device)
    generator, config = load_generator(args.checkpoint, device)
    if config.data.sequences:
        return _evaluate_sequences(args, generator, config, device)
    sequence_only = ("figure", "context_fid_iterations", "posthoc_iterations")
    given = [f"--{name}" for name in sequence_only if getattr(args, name) is not None]
    if given:
        raise InputError(f"{', '.join(given)}: for sequence checkpoints only")
    check_sampling_memory(config.generator, args.samples, f"--samples {args.samples}")
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
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        try:
            Path(args.json).write_text(text)
        except OSError as err:
            raise InputError(f"--json {args.json!r} cannot be written: {err.strerror} (the "
                             f"metrics are printed above)") from None  # fmt: skip
    return results


def _evaluate_sequences(args, generator, config, device) -> dict:
    from .run import training_dataset
    from .sequences import evaluate_sequence_generator

    dataset = training_dataset(config, download=False)
    real = dataset.sequences
    results = evaluate_sequence_generator(
        generator, real, device, args.runs, args.seed, args.context_fid_iterations,
        args.posthoc_iterations,
    )  # fmt: skip
    channels = getattr(dataset, "channels", None)  # a table's packed layout
    fake = None
    if args.figure is not None or channels is not None:
        fake = torch.cat(list(generated_batches(generator, len(real), args.seed)))
    if channels is not None:
        from ..metrics import table_report

        results["table"] = table_report(real, fake, channels)
    if args.figure is not None:
        from ..metrics.projections import write_real_and_generated_figure

        write_real_and_generated_figure(args.figure, real, fake, dataset.feature_names)
        results["figure"] = str(args.figure)
    return _report(results, args)


def export(args) -> None:
    """``torchgan-lstm export``: write a checkpoint's generator as ``model.safetensors`` and
    ``config.json`` into ``out_dir``.

    Raises:
        InputError: a bad checkpoint, or an ``out_dir`` that is a file or holds files.
    """
    from .. import registry
    from .export import export_generator
    from .run import load_generator

    out = check_output_folder(args.out_dir, "out_dir", args.overwrite)
    generator, config = load_generator(args.checkpoint, "cpu")
    spec = config.generator
    path = export_generator(generator, registry.name_of(spec.cls), spec.init_args, out)
    print(f"wrote {path}")

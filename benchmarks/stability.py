"""Stability study after Lucic et al. (2018): many sampled settings, the distribution of scores.

One stored random sample of hyperparameter settings (:data:`SPACE`, drawn by a fixed seed into
``benchmarks/stability_settings.json``); for each setting the four generator x critic pairs of
:data:`PAIRS` (the shipped LSTM generator and TorchGAN's DCGAN generator, each against our
``ConvDiscriminator`` and TorchGAN's ``DCGANDiscriminator``), one seed each and more seeds for
the settings the file names. Each run trains with TorchGAN's own ``Trainer`` (no moving
average: the loop a user writes) for a fixed number of generator updates, and every
``eval_every`` updates scores the generator (in eval mode) by the Frechet classifier distance and
class coverage of the shipped Fashion-MNIST classifier. Its record goes to its own JSON file,
``<out-dir>/<setting>/<pair>/seed<k>.json``; a run whose file exists is skipped, so a study is
resumed by running the same command again.

Images are Fashion-MNIST at ``--image-size`` (16 by default, to fit these CPUs): the classifier
reads them resized to 32x32, and the real statistics of the distance are computed from real
images put through the same resizing (5,000 test images at the run's size, then up to 32x32),
so a generator that matched the data exactly would score about 0, not the cost of the blur.

Time is each run's CPU seconds in training steps (``time.process_time()`` of a one-thread
process, evaluations excluded): on a shared machine that is steadier than its wall clock, which
is recorded beside it.

``python -m benchmarks.stability sample --n 24 --seed 0``
``python -m benchmarks.stability run --out-dir runs/stability --jobs 2``
``python -m benchmarks.stability report --out-dir runs/stability --name stability``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import time
from pathlib import Path

import torch
from torch.optim import Adam

import torchgan_lstm  # noqa: F401  (applies the TorchGAN fixes)

__all__ = [
    "PAIRS",
    "SETTINGS",
    "SPACE",
    "build_pair",
    "load_settings",
    "planned_runs",
    "run_one",
    "run_study",
    "sample_settings",
]

SETTINGS = Path(__file__).resolve().parent / "stability_settings.json"

# The ranges, as Lucic et al. and Kurach et al. sample them: both learning rates log-uniform
# over two decades around DCGAN's 2e-4, Adam's beta1 uniform (beta2 0.999), the loss family,
# critic updates per generator update, batch size, spectral normalisation of the critic.
SPACE: dict[str, tuple] = {
    "g_lr": ("log-uniform", 2e-5, 2e-3),
    "d_lr": ("log-uniform", 2e-5, 2e-3),
    "beta1": ("uniform", 0.0, 0.9),
    "loss": ("choice", ["minimax-saturating", "minimax", "hinge", "wgan-gp", "lsgan"]),
    "ncritic": ("choice", [1, 2, 5]),
    "batch_size": ("choice", [32, 64, 128]),
    "spectral_norm": ("choice", [False, True]),
}
PAIRS = ("lstm+convD", "dcgan+convD", "lstm+dcganD", "dcgan+dcganD")


def sample_settings(n: int, seed: int) -> list[dict]:
    """``n`` settings drawn from :data:`SPACE` by ``random.Random(seed)``, named ``s00``...

    The same ``(n, seed)`` always gives the same settings, and the first ``k`` of ``n`` are the
    ``k`` settings drawn with ``(k, seed)``, so a study can be extended without redrawing.
    """
    rng = random.Random(seed)
    settings = []
    for i in range(n):
        setting = {"id": f"s{i:02d}"}
        for name, (kind, *args) in SPACE.items():
            if kind == "log-uniform":
                value = math.exp(rng.uniform(math.log(args[0]), math.log(args[1])))
                setting[name] = float(f"{value:.3g}")
            elif kind == "uniform":
                setting[name] = round(rng.uniform(*args), 3)
            else:
                setting[name] = rng.choice(args[0])
        settings.append(setting)
    return settings


def write_settings(path: Path, n: int, seed: int, repeat: int, seeds: list[int]) -> dict:
    """Store a sample: the space, the seed, the settings, and which settings get more seeds."""
    settings = sample_settings(n, seed)
    study = {
        "seed": seed,
        "space": {k: list(v) for k, v in SPACE.items()},
        "pairs": list(PAIRS),
        "repeat_settings": [s["id"] for s in settings[:repeat]],
        "repeat_seeds": seeds,
        "settings": settings,
    }
    path.write_text(json.dumps(study, indent=1) + "\n")
    return study


def load_settings(path: Path = SETTINGS) -> dict:
    """The stored study (see :func:`write_settings`)."""
    return json.loads(Path(path).read_text())


def planned_runs(study: dict, only: list[str] | None = None) -> list[tuple[dict, str, int]]:
    """``(setting, pair, seed)`` of every run, seed 0 of every setting first, then the repeats."""
    settings = [s for s in study["settings"] if not only or s["id"] in only]
    runs = [(s, pair, 0) for s in settings for pair in study["pairs"]]
    for seed in study.get("repeat_seeds", []):
        if seed == 0:
            continue
        for s in settings:
            if s["id"] in study.get("repeat_settings", []):
                runs += [(s, pair, seed) for pair in study["pairs"]]
    return runs


def record_path(out_dir: Path, setting: dict, pair: str, seed: int) -> Path:
    """Where the record of one run is written."""
    return Path(out_dir) / setting["id"] / pair / f"seed{seed}.json"


def _losses(family: str) -> list:
    from torchgan.losses import MinimaxDiscriminatorLoss, MinimaxGeneratorLoss

    from torchgan_lstm.losses import build_losses

    if family == "minimax-saturating":  # Goodfellow et al.'s original generator loss
        return [MinimaxGeneratorLoss(nonsaturating=False), MinimaxDiscriminatorLoss()]
    return build_losses(family)


def _spectral_dcgan_discriminator():
    from torch.nn.utils.parametrizations import spectral_norm
    from torchgan.models import DCGANDiscriminator

    class SpectralDCGANDiscriminator(DCGANDiscriminator):
        """TorchGAN's DCGAN critic, batch norm off, every convolution spectrally normalised."""

        def __init__(self, **kwargs):
            super().__init__(batchnorm=False, **kwargs)
            for module in list(self.modules()):
                if isinstance(module, torch.nn.Conv2d):
                    spectral_norm(module)

    return SpectralDCGANDiscriminator


def build_pair(pair: str, setting: dict, size: int) -> tuple[dict, dict]:
    """The TorchGAN model specs (class and arguments) of ``pair`` under ``setting``.

    The generators are the command line's (LSTM: step channels 32, hidden 128 x 1, gate 10x;
    DCGAN: step channels 32); the critics have 32 step channels. Spectral normalisation replaces
    the critic's batch norm; a gradient penalty needs a critic without batch norm, so under
    WGAN-GP ``ConvDiscriminator`` uses layer norm and TorchGAN's critic none.
    """
    from torchgan.models import DCGANDiscriminator, DCGANGenerator

    from torchgan_lstm import ConvDiscriminator, LSTMGenerator

    generator, critic = pair.split("+")
    if generator == "lstm":
        g_args = {"step_channels": 32, "hidden_size": 128, "num_layers": 1, "gate_scale": 10.0}
        g = {"name": LSTMGenerator, "args": {"out_size": size, "out_channels": 1, **g_args}}
    else:
        g = {"name": DCGANGenerator, "args": {"out_size": size, "out_channels": 1}}
        g["args"]["step_channels"] = 32
    penalty = setting["loss"] == "wgan-gp"
    d_args = {"in_size": size, "in_channels": 1, "step_channels": 32}
    if critic == "convD":
        norm = "spectral" if setting["spectral_norm"] else ("layer" if penalty else "batch")
        d = {"name": ConvDiscriminator, "args": {**d_args, "norm": norm}}
    elif setting["spectral_norm"]:
        d = {"name": _spectral_dcgan_discriminator(), "args": d_args}
    else:
        d = {"name": DCGANDiscriminator, "args": {**d_args, "batchnorm": not penalty}}
    betas = (setting["beta1"], 0.999)
    g["optimizer"] = {"name": Adam, "args": {"lr": setting["g_lr"], "betas": betas}}
    d["optimizer"] = {"name": Adam, "args": {"lr": setting["d_lr"], "betas": betas}}
    return g, d


class _Stop(Exception):
    """Raised from the step hook to end a run (budget reached or diverged)."""


def _real_images(size: int, count: int = 5000) -> torch.Tensor:
    from torchgan_lstm.data import build_dataset

    data = build_dataset("fashion-mnist", image_size=size, split="test")
    return torch.stack([data[i][0] for i in range(count)])


def run_one(
    setting: dict,
    pair: str,
    seed: int,
    out_dir: Path,
    steps: int = 300,
    eval_every: int = 100,
    samples: int = 2000,
    size: int = 16,
    dataset=None,
    real_images: torch.Tensor | None = None,
) -> dict:
    """Train one pair under one setting with one seed; write and return its record.

    Args:
        setting: one entry of the stored settings.
        pair: one of :data:`PAIRS`.
        seed: seeds the models, the data order and the noise.
        out_dir: the study's folder; the record goes to :func:`record_path`.
        steps: generator updates (the critic makes ``ncritic`` times as many).
        eval_every: generator updates between evaluations.
        samples: generated images per evaluation.
        size: image side in pixels.
        dataset: ``(image, label)`` pairs at ``size`` (default: Fashion-MNIST's training set).
        real_images: the distance's real images (default: 5,000 test images at ``size``).

    Returns:
        The record: the setting, pair and seed, per evaluation the generator updates, training
        CPU and wall seconds, FCD, coverage; the last class shares; ``diverged``.
    """
    from torchgan.trainer import Trainer

    from torchgan_lstm.data import build_dataset, make_dataloader
    from torchgan_lstm.metrics import ClassCoverage, FrechetClassifierDistance

    torch.manual_seed(seed)
    g, d = build_pair(pair, setting, size)
    data = build_dataset("fashion-mnist", image_size=size) if dataset is None else dataset
    loader = make_dataloader(data, batch_size=setting["batch_size"], seed=seed)
    run_dir = record_path(out_dir, setting, pair, seed).with_suffix("")
    trainer = Trainer(
        {"generator": g, "discriminator": d},
        _losses(setting["loss"]),
        device=torch.device("cpu"),
        ncritic=setting["ncritic"],
        epochs=1,
        checkpoints=str(run_dir / "checkpoints" / "gan"),
        retain_checkpoints=1,
        recon=str(run_dir / "images"),
        log_dir=str(run_dir / "tensorboard"),  # TorchGAN's default is ./runs of the caller
        sample_size=16,
    )
    real = _real_images(size) if real_images is None else real_images
    fcd = FrechetClassifierDistance(sample_size=samples, real_images=real)
    coverage = ClassCoverage(sample_size=samples)
    record = {"setting": setting, "pair": pair, "seed": seed, "size": size, "diverged": False}
    record.update(gen_steps=[], cpu_seconds=[], wall_seconds=[], fcd=[], coverage=[])
    clock = {"batches": 0, "cpu": 0.0, "wall": 0.0, "t": (time.process_time(), time.perf_counter())}

    def after_batch(*args, **kwargs):
        clock["batches"] += 1
        updates, rest = divmod(clock["batches"], setting["ncritic"])
        if rest or updates % eval_every:
            return
        cpu, wall = clock["t"]
        clock["cpu"] += time.process_time() - cpu
        clock["wall"] += time.perf_counter() - wall
        _evaluate(trainer.generator, fcd, coverage, record, updates, clock)
        clock["t"] = (time.process_time(), time.perf_counter())
        if record["diverged"] or updates >= steps:
            raise _Stop

    trainer.logger.logger_mid_epoch.append(_Hook(after_batch))
    batches = _Batches(loader, steps * setting["ncritic"] + 1, setting["batch_size"])
    with contextlib.suppress(_Stop):
        trainer(batches)
    path = record_path(out_dir, setting, pair, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record) + "\n")
    return record


def _evaluate(generator, fcd, coverage, record: dict, updates: int, clock: dict) -> None:
    generator.eval()
    finite = all(torch.isfinite(p).all() for p in generator.parameters())
    distance = fcd.metric_ops(generator, "cpu") if finite else math.nan
    covered = coverage.metric_ops(generator, "cpu") if finite else 0
    generator.train()
    record["gen_steps"].append(updates)
    record["cpu_seconds"].append(round(clock["cpu"], 2))
    record["wall_seconds"].append(round(clock["wall"], 2))
    record["fcd"].append(round(distance, 3) if math.isfinite(distance) else None)
    record["coverage"].append(int(covered))
    shares = coverage.last_histogram if finite else None
    record["class_shares"] = None if shares is None else [round(float(v), 4) for v in shares]
    record["diverged"] = not math.isfinite(distance)


class _Hook:
    """A mid-epoch visualiser of TorchGAN's logger (called after every batch)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args, **kwargs) -> None:
        self.fn()


class _Batches:
    """``count`` batches from a loader, cycling over its epochs, as one TorchGAN epoch."""

    def __init__(self, loader, count: int, batch_size: int):
        self.loader, self.count, self.batch_size = loader, count, batch_size

    def __iter__(self):
        left = self.count
        while left > 0:
            for batch in self.loader:
                yield batch
                left -= 1
                if left == 0:
                    return

    def __len__(self) -> int:
        return self.count


def _worker(args: tuple) -> str:
    setting, pair, seed, out_dir, kwargs = args
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        record = run_one(setting, pair, seed, out_dir, **kwargs)
    except Exception as err:  # one failed run must not stop the study; it is reported
        return f"[stability] {setting['id']} {pair} seed {seed} FAILED: {type(err).__name__}: {err}"
    last = record["fcd"][-1] if record["fcd"] else None
    return (
        f"[stability] {setting['id']} {pair} seed {seed}: fcd {last} coverage "
        f"{record['coverage'][-1:]} cpu {record['cpu_seconds'][-1:]} s "
        f"({time.perf_counter() - started:.0f} s wall)"
    )


def run_study(study: dict, out_dir: Path, jobs: int = 1, only=None, **kwargs) -> list[Path]:
    """Run every planned run whose record is missing, ``jobs`` processes at a time.

    Returns:
        The record paths of the runs this call started.
    """
    todo = [
        (setting, pair, seed, Path(out_dir), kwargs)
        for setting, pair, seed in planned_runs(study, only)
        if not record_path(out_dir, setting, pair, seed).exists()
    ]
    if jobs <= 1:
        for item in todo:
            print(_worker(item), flush=True)
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with context.Pool(jobs) as pool:
            for line in pool.imap_unordered(_worker, todo):
                print(line, flush=True)
    return [record_path(out_dir, s, p, k) for s, p, k, *_ in todo]


def main(argv: list[str] | None = None) -> None:
    """Command line: ``sample``, ``run`` or ``report``."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.stability", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="draw and store the settings")
    s.add_argument("--n", type=int, default=24)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--repeat", type=int, default=3, help="settings that get the extra seeds")
    s.add_argument("--repeat-seeds", type=int, nargs="+", default=[0, 1, 2])
    s.add_argument("--settings", type=Path, default=SETTINGS)
    r = sub.add_parser("run", help="train the runs whose records are missing")
    r.add_argument("--settings", type=Path, default=SETTINGS)
    r.add_argument("--out-dir", type=Path, default=Path("runs/stability"))
    r.add_argument("--jobs", type=int, default=1, help="processes, one torch thread each")
    r.add_argument("--only", nargs="*", default=None, help="setting ids (default: all)")
    r.add_argument("--steps", type=int, default=300, help="generator updates per run")
    r.add_argument("--eval-every", type=int, default=100)
    r.add_argument("--samples", type=int, default=2000)
    r.add_argument("--image-size", type=int, default=16)
    t = sub.add_parser("report", help="statistics and figures from the records")
    t.add_argument("--out-dir", type=Path, default=Path("runs/stability"))
    t.add_argument("--name", default="stability")
    t.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "results")
    a = p.parse_args(argv)
    if a.command == "sample":
        write_settings(a.settings, a.n, a.seed, a.repeat, a.repeat_seeds)
        print(f"wrote {a.n} settings to {a.settings}")
    elif a.command == "run":
        torch.set_num_threads(1)
        kwargs = {"steps": a.steps, "eval_every": a.eval_every, "samples": a.samples}
        run_study(load_settings(a.settings), a.out_dir, a.jobs, a.only, size=a.image_size, **kwargs)
    else:
        from .stability_report import write_report

        print(write_report(a.out_dir, a.results, a.name))


if __name__ == "__main__":
    main()

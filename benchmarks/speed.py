"""Speed suite: training-step time, throughput, memory and size of each generator beside DCGAN.

Every generator trains against the same ``ConvDiscriminator`` with TorchGAN's own minimax
``train_ops`` (one discriminator step, then one generator step, as the ``Trainer`` does). Models
are timed round-robin in one process, so machine drift hits all of them alike, and every time is
also reported as a ratio to DCGAN's from the same run. Peak memory is the resident set of a
fresh subprocess that builds one model pair and trains a few steps.
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torchgan.losses import MinimaxDiscriminatorLoss, MinimaxGeneratorLoss

from torchgan_lstm.training import RunConfig, discriminator_spec, generator_spec

from .report import markdown_table

__all__ = ["GENERATORS", "run_speed"]

# name -> RunConfig overrides; widths are the command line's defaults for every model.
GENERATORS = {
    "dcgan": {"generator": "dcgan"},
    "lstm-conv": {"decoder": "conv"},
    "lstm-rows": {"decoder": "rows"},
    "lstm-canvas": {"decoder": "canvas"},
}


class _Pair:
    """A generator/discriminator pair with optimizers, stepping as TorchGAN's Trainer does."""

    def __init__(self, overrides: dict, image_size: int, batch: int):
        config = RunConfig(**{**overrides, "image_size": image_size, "channels": 1})
        g_cls, g_args = generator_spec(config)
        d_cls, d_args = discriminator_spec(config)
        self.g, self.d = g_cls(**g_args), d_cls(**d_args)
        adam = {"lr": 2e-4, "betas": (0.5, 0.999)}
        self.opt_g = torch.optim.Adam(self.g.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.d.parameters(), **adam)
        self.g_loss, self.d_loss = MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()
        self.real = torch.rand(batch, 1, image_size, image_size) * 2 - 1
        self.batch = batch

    def step(self) -> float:
        start = time.perf_counter()
        self.d_loss.train_ops(self.g, self.d, self.opt_d, self.real, "cpu")
        self.g_loss.train_ops(self.g, self.d, self.opt_g, "cpu", self.batch)
        return time.perf_counter() - start

    @torch.no_grad()
    def sample(self) -> float:
        self.g.eval()
        inputs = self.g.sampler(self.batch, "cpu")
        start = time.perf_counter()
        self.g(*inputs)
        return time.perf_counter() - start


def _round_robin(pairs: dict[str, _Pair], fn: str, warmup: int, rounds: int) -> dict[str, float]:
    """Median seconds of ``pair.<fn>()`` per pair, interleaving the pairs round by round."""
    for pair in pairs.values():
        for _ in range(warmup):
            getattr(pair, fn)()
    times: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(rounds):
        for name, pair in pairs.items():
            times[name].append(getattr(pair, fn)())
    return {name: statistics.median(ts) for name, ts in times.items()}


def _peak_rss_mb(overrides: dict, image_size: int, batch: int) -> float:
    """Peak memory of building this pair and training it 3 steps, in MiB, in a fresh process.

    Measured as the peak resident set (VmHWM, reset through ``/proc/self/clear_refs`` after the
    imports) minus the resident set after the imports, so the 1+ GiB of torch itself is left out.
    """
    code = (
        "import json, sys\n"
        "from benchmarks.speed import _Pair, _status_kib\n"
        "rest = _status_kib('VmRSS')\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "pair = _Pair(json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))\n"
        "[pair.step() for _ in range(3)]\n"
        "print(_status_kib('VmHWM') - rest)\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(overrides), str(image_size), str(batch)],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    return int(out.stdout.split()[-1]) / 1024


def _status_kib(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``...), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def run_speed(out: Path, threads: int | None = None, rounds: int = 15) -> dict:
    """Run the speed suite and write ``speed.json`` and ``speed.md`` into ``out``."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    started = time.perf_counter()
    cpu = platform.processor() or platform.machine()
    results: dict = {
        "machine": f"{cpu}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
    }

    pairs = {name: _Pair(o, 32, 64) for name, o in GENERATORS.items()}
    step = _round_robin(pairs, "step", warmup=3, rounds=rounds)
    sample_pairs = {name: _Pair(o, 32, 256) for name, o in GENERATORS.items()}
    sample = _round_robin(sample_pairs, "sample", warmup=2, rounds=rounds)
    main = []
    for name, overrides in GENERATORS.items():
        main.append({
            "generator": name,
            "params_G": sum(p.numel() for p in pairs[name].g.parameters()),
            "step_ms": 1000 * step[name],
            "step_vs_dcgan": step[name] / step["dcgan"],
            "train_img_per_s": 64 / step[name],
            "sample_img_per_s": 256 / sample[name],
            "sample_vs_dcgan": sample[name] / sample["dcgan"],
            "peak_mem_mb": _peak_rss_mb(overrides, 32, 64),
        })  # fmt: skip
    results["main"] = main

    scaling = []
    for axis, settings in (("image_size", [(16, 64), (32, 64), (64, 64)]),
                           ("batch", [(32, 16), (32, 64), (32, 256)])):  # fmt: skip
        for size, batch in settings:
            pairs = {name: _Pair(o, size, batch) for name, o in GENERATORS.items()}
            t = _round_robin(pairs, "step", warmup=2, rounds=max(5, rounds // 3))
            for name in GENERATORS:
                scaling.append({
                    "axis": axis, "image_size": size, "batch": batch, "generator": name,
                    "step_ms": 1000 * t[name], "step_vs_dcgan": t[name] / t["dcgan"],
                })  # fmt: skip
    results["scaling"] = scaling
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["max_rss_this_process_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(results, indent=2))
    md = [
        "# speed\n",
        f"{results['machine']}, torch {results['torch']}; batch 64, 32x32x1, minimax, same "
        f"ConvDiscriminator; medians of {rounds} interleaved steps after warm-up; ratios to DCGAN "
        "from the same run. peak_mem_mb: peak resident memory of building the pair and training "
        f"3 steps, above the process's size after imports. Suite time {results['seconds']} s.\n",
        markdown_table(main, list(main[0])),
        "\n## Scaling (step time, ms, and ratio to DCGAN)\n",
        markdown_table(scaling, list(scaling[0])),
    ]
    (out / "speed.md").write_text("\n".join(md))
    print("\n".join(md))
    return results

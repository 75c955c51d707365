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

from torchgan_lstm.app.config import RunConfig
from torchgan_lstm.app.flat import from_flat
from torchgan_lstm.trainer.acceleration import accelerate

from .report import markdown_table

__all__ = ["GENERATORS", "MODES", "run_speed"]

# name -> overrides in the flat vocabulary of the recorded tables (app.flat.from_flat); widths
# are the command line's defaults for every model, each against our ConvDiscriminator, as in the
# recorded tables (README, Benchmarks); lstm_gate None: on where it applies (the default).
GENERATORS = {
    "dcgan": {"generator": "dcgan", "discriminator": "conv"},
    "lstm-conv": {"decoder": "conv", "lstm_gate": None, "discriminator": "conv"},
    "lstm-rows": {"decoder": "rows", "lstm_gate": None, "discriminator": "conv"},
    "lstm-canvas": {"decoder": "canvas", "lstm_gate": None, "discriminator": "conv"},
}

# name -> switches of torchgan_lstm.trainer.acceleration.accelerate
# (--amp, --compile, --channels-last).
MODES = {
    "fp32": {},
    "amp": {"amp": True},
    "channels-last": {"channels_last": True},
    "amp+channels-last": {"amp": True, "channels_last": True},
    "amp+compile": {"amp": True, "compile": True},
}


class _Pair:
    """A generator/discriminator pair with optimizers, stepping as TorchGAN's Trainer does."""

    def __init__(
        self,
        overrides: dict,
        image_size: int,
        batch: int,
        device: str = "cpu",
        switches: dict | None = None,
    ):
        config = RunConfig.from_dict(
            from_flat({**overrides, "image_size": image_size, "channels": 1})
        )
        self.device = torch.device(device)
        g, d = config.resolved().build_models()
        self.g, self.d = g.to(self.device), d.to(self.device)
        for model in (self.g, self.d):
            accelerate(model, self.device, **(switches or {}))
        adam = {"lr": 2e-4, "betas": (0.5, 0.999)}
        self.opt_g = torch.optim.Adam(self.g.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.d.parameters(), **adam)
        self.g_loss, self.d_loss = MinimaxGeneratorLoss(), MinimaxDiscriminatorLoss()
        self.real = torch.rand(batch, 1, image_size, image_size, device=self.device) * 2 - 1
        self.batch = batch

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def step(self) -> float:
        self._sync()
        start = time.perf_counter()
        self.d_loss.train_ops(self.g, self.d, self.opt_d, self.real, self.device)
        self.g_loss.train_ops(self.g, self.d, self.opt_g, self.device, self.batch)
        self._sync()
        return time.perf_counter() - start

    @torch.no_grad()
    def sample(self) -> float:
        self.g.eval()
        inputs = self.g.sampler(self.batch, self.device)
        self._sync()
        start = time.perf_counter()
        self.g(*inputs)
        self._sync()
        return time.perf_counter() - start


def _round_robin(pairs: dict, fn: str, warmup: int, rounds: int) -> dict:
    """Median seconds of ``pair.<fn>()`` per pair, interleaving the pairs round by round."""
    for pair in pairs.values():
        for _ in range(warmup):
            getattr(pair, fn)()
    times: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(rounds):
        for name, pair in pairs.items():
            times[name].append(getattr(pair, fn)())
    return {name: statistics.median(ts) for name, ts in times.items()}


def _peak_cuda_mb(overrides: dict, image_size: int, batch: int, switches: dict) -> float:
    """Peak CUDA memory allocated while building this pair and training it 3 steps, in MiB."""
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    pair = _Pair(overrides, image_size, batch, "cuda", switches)
    for _ in range(3):
        pair.step()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


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


def run_speed(
    out: Path,
    threads: int | None = None,
    rounds: int = 15,
    device: str = "cpu",
    modes: list[str] | None = None,
    name: str = "speed",
) -> dict:
    """Run the speed suite and write ``<name>.json`` and ``<name>.md`` into ``out``.

    Args:
        out: results folder.
        threads: torch CPU threads (default: torch's).
        rounds: timed rounds per measurement.
        device: ``"cpu"`` or ``"cuda"``.
        modes: names from :data:`MODES` (default: fp32 only); each mode's pairs are timed in
            the same round-robin, and each step time is also given as a ratio to DCGAN in the
            same mode and to DCGAN in fp32.
        name: results file stem.
    """
    if threads:
        torch.set_num_threads(threads)
    modes = modes or ["fp32"]
    torch.manual_seed(0)
    started = time.perf_counter()
    if device == "cuda":
        machine = f"{torch.cuda.get_device_name()}, CUDA {torch.version.cuda}"
        if torch.backends.cudnn.is_available():
            machine += f", cuDNN {torch.backends.cudnn.version()}"
    else:
        machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    results: dict = {"machine": machine, "torch": torch.__version__, "device": device}

    def make(size: int, batch: int, which=modes) -> dict[tuple[str, str], _Pair]:
        return {
            (g, m): _Pair(GENERATORS[g], size, batch, device, MODES[m])
            for m in which
            for g in GENERATORS
        }

    pairs = make(32, 64)
    step = _round_robin(pairs, "step", warmup=3, rounds=rounds)
    sample_pairs = make(32, 256)
    sample = _round_robin(sample_pairs, "sample", warmup=2, rounds=rounds)
    main = []
    for g, m in pairs:
        row = {"generator": g, "mode": m} if len(modes) > 1 else {"generator": g}
        base = ("dcgan", m)
        row.update({
            "params_G": sum(p.numel() for p in pairs[g, m].g.parameters()),
            "step_ms": 1000 * step[g, m],
            "step_vs_dcgan": step[g, m] / step[base],
            "train_img_per_s": 64 / step[g, m],
            "sample_img_per_s": 256 / sample[g, m],
            "sample_vs_dcgan": sample[g, m] / sample[base],
        })  # fmt: skip
        if len(modes) > 1:
            row["step_vs_dcgan_fp32"] = step[g, m] / step.get(("dcgan", "fp32"), float("nan"))
        if device == "cuda":
            row["peak_cuda_mb"] = _peak_cuda_mb(GENERATORS[g], 32, 64, MODES[m])
        else:
            row["peak_mem_mb"] = _peak_rss_mb(GENERATORS[g], 32, 64)
        main.append(row)
    results["main"] = main
    del pairs, sample_pairs

    scaling = []
    plain = [m for m in modes if "compile" not in m][:2]  # recompiling per shape costs minutes
    for axis, settings in (("image_size", [(16, 64), (32, 64), (64, 64)]),
                           ("batch", [(32, 16), (32, 64), (32, 256)])):  # fmt: skip
        for size, batch in settings:
            pairs = make(size, batch, plain)
            t = _round_robin(pairs, "step", warmup=2, rounds=max(5, rounds // 3))
            for g, m in pairs:
                scaling.append({
                    "axis": axis, "image_size": size, "batch": batch, "generator": g,
                    **({"mode": m} if len(plain) > 1 else {}),
                    "step_ms": 1000 * t[g, m], "step_vs_dcgan": t[g, m] / t["dcgan", m],
                })  # fmt: skip
    results["scaling"] = scaling
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["max_rss_this_process_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2))
    memory = (
        "peak_cuda_mb: peak CUDA memory allocated while building the pair and training 3 steps"
        if device == "cuda"
        else "peak_mem_mb: peak resident memory of building the pair and training 3 steps, "
        "above the process's size after imports"
    )
    md = [
        f"# {name}\n",
        f"{results['machine']}, torch {results['torch']}; batch 64, 32x32x1, minimax, same "
        f"ConvDiscriminator; medians of {rounds} interleaved steps after warm-up; ratios to DCGAN "
        f"from the same run. {memory}. Suite time {results['seconds']} s.\n",
        markdown_table(main, list(main[0])),
        "\n## Scaling (step time, ms, and ratio to DCGAN)\n",
        markdown_table(scaling, list(scaling[0])),
    ]
    (out / f"{name}.md").write_text("\n".join(md))
    print("\n".join(md))
    return results

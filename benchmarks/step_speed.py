"""Step suite: a whole TorchGAN ``Trainer`` step, as TorchGAN runs it or with our step changes.

Where the speed suite times the two losses' ``train_ops`` alone, this times what ``Trainer.train``
does per batch: ``train_iter`` (losses, gradient statistics), the sums into
``loss_information`` and the mid-epoch visualisers (TensorBoard), for each pair under each step
mode:

- ``torchgan``: TorchGAN's step (the generator records its graph in the discriminator's step,
  every loss and gradient statistic read to the host at once);
- ``frozen-g``: the generator frozen in the discriminator's step (compat, bit-identical);
- ``device-log``: :class:`~torchgan_lstm.trainer.device_logging.DeviceLoggingMixin`, reading the
  device every ``block`` steps;
- ``both``.

Each measurement is a block of ``block`` steps (so a block holds exactly one flush), blocks of
all pairs and modes interleaved round by round; reported per step, with ratios to DCGAN's
``torchgan`` step and to the same pair's ``torchgan`` step from the same run; the latter also as
the mean of the per-round ratios (each round's blocks run back to back, so machine drift
cancels) with its 95 % t-interval. Beside the times,
``d_step_saved_mb``: the activations autograd keeps for a backward during one discriminator
step (the generator's part of them is what the frozen generator saves), parameters left out.
A variant with ``ema_decay`` also updates the generator's moving average after each generator
step.
With a gradient-penalty loss both pairs use our ConvDiscriminator (no batch norm).
"""

from __future__ import annotations

import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.optim import Adam
from torchgan.trainer import Trainer

from torchgan_lstm.losses import build_losses, needs_double_backward
from torchgan_lstm.trainer.device_logging import DeviceLoggingMixin
from torchgan_lstm.trainer.ema import GeneratorEMA

from .quality import variant_config
from .report import markdown_table
from .stats import t_interval

__all__ = ["MODES", "PAIRS", "run_step_speed", "step_rows", "write_step_report"]

# name -> overrides in the flat vocabulary (app.flat.from_flat) (32x32x1, the command line's
# widths); lstm_gate None: on where it applies, the default.
PAIRS = {
    "dcgan+dcganD": {"generator": "dcgan", "discriminator": "dcgan"},
    "lstm+dcganD": {"lstm_gate": None},  # the default gated conv decoder vs DCGAN's critic
}
# The same generators against our ConvDiscriminator, for losses with a gradient penalty.
PENALTY_PAIRS = {
    "dcgan+convD": {"generator": "dcgan", "discriminator": "conv"},
    "lstm+convD": {"lstm_gate": None, "discriminator": "conv"},
}
# name -> (generator frozen in the discriminator's step, device logging)
MODES = {
    "torchgan": (False, False),
    "frozen-g": (True, False),
    "device-log": (False, True),
    "both": (True, True),
}


class _DeviceLoggingTrainer(DeviceLoggingMixin, Trainer):
    pass


class _Step:
    """One pair's Trainer in one mode, stepping as ``Trainer.train`` does per batch."""

    def __init__(
        self, overrides: dict, mode: str, loss: str, block: int, batch: int, device, folder: Path
    ):
        frozen, device_log = MODES[mode]
        config = variant_config(overrides).resolved()
        adam = {"name": Adam, "args": {"lr": 2e-4, "betas": (0.5, 0.999)}}
        models = {}
        for name in ("generator", "discriminator"):
            spec = getattr(config, name)
            models[name] = {"name": spec.cls, "args": spec.init_args, "optimizer": adam}
        cls, extra = (_DeviceLoggingTrainer, {"log_every": block}) if device_log else (Trainer, {})
        self.trainer = cls(
            models,
            build_losses(loss),
            device=device,
            checkpoints=str(folder / "gan"),
            recon=str(folder / "images"),
            log_dir=str(folder / "tensorboard"),
            **extra,
        )
        self.trainer.generator.frozen_in_discriminator_step = frozen
        self.trainer.real_inputs = torch.rand(batch, 1, 32, 32, device=device) * 2 - 1
        self.trainer.batch_size = batch
        self.device = device
        # The generator's moving average, updated as RunTrainer does: after each generator step.
        decay = config.ema_decay
        self.ema = GeneratorEMA(self.trainer.generator, decay) if decay > 0 else None

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def saved_mb_in_discriminator_step(self) -> float:
        """MiB of activations autograd keeps for backward while one discriminator loss runs."""
        trainer = self.trainer
        params = {p.data_ptr() for name in trainer.model_names
                  for p in getattr(trainer, name).parameters()}  # fmt: skip
        storages: dict[int, int] = {}

        def pack(t):
            if t.data_ptr() not in params:
                storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        name = next(n for n in trainer.losses if "Discriminator" in n)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            trainer.losses[name].train_ops(**trainer._get_arguments(trainer.loss_arg_maps[name]))
        for model in trainer.model_names:
            getattr(trainer, model).zero_grad()
        return sum(storages.values()) / 2**20

    def run(self, steps: int) -> float:
        """Seconds per step over ``steps`` steps."""
        trainer = self.trainer
        info = trainer.loss_information
        self._sync()
        start = time.perf_counter()
        for _ in range(steps):
            lgen, ldis, gen_iter, dis_iter = trainer.train_iter()
            info["generator_losses"] += lgen
            info["discriminator_losses"] += ldis
            info["generator_iters"] += gen_iter
            info["discriminator_iters"] += dis_iter
            trainer.logger.run_mid_epoch(trainer)
            if gen_iter and self.ema is not None:
                self.ema.update(trainer.generator)
        self._sync()
        return (time.perf_counter() - start) / steps


def _ratio_interval(times: list[float], reference: list[float]) -> tuple[float, str]:
    interval = t_interval([t / ref for t, ref in zip(times, reference, strict=True)])
    return interval.mean, f"{interval.mean:.3f} [{interval.low:.3f}, {interval.high:.3f}]"


def step_rows(times: dict[tuple[str, str], list[float]], saved: dict) -> list[dict]:
    """The table's rows from the blocks' seconds per step, keyed ``(pair, mode)`` in run order.

    Ratios to the first pair's ``torchgan`` step: of the medians (``vs_dcgan_torchgan``) and
    the mean of the per-round ratios with its 95 % t-interval (``vs_first_pair_95ci``); the
    same against the pair's own ``torchgan`` step (``vs_same_pair_torchgan``,
    ``paired_ratio_95ci``). Within a round the blocks run back to back, so the per-round
    ratios cancel machine drift.
    """
    median = {key: statistics.median(ts) for key, ts in times.items()}
    first = next(iter(times))[0]
    rows = []
    for pair, mode in times:
        vs_first, vs_first_ci = _ratio_interval(times[pair, mode], times[first, "torchgan"])
        rows.append(
            {
                "pair": pair,
                "step": mode,
                "step_ms": 1000 * median[pair, mode],
                "vs_dcgan_torchgan": median[pair, mode] / median[first, "torchgan"],
                "vs_first_pair": vs_first,
                "vs_first_pair_95ci": vs_first_ci,
                "vs_same_pair_torchgan": median[pair, mode] / median[pair, "torchgan"],
                "paired_ratio_95ci": _ratio_interval(times[pair, mode], times[pair, "torchgan"])[1],
                "spread_ms": 1000 * (max(times[pair, mode]) - min(times[pair, mode])),
                "d_step_saved_mb": saved[pair, mode],
            }
        )
    return rows


def run_step_speed(
    out: Path,
    threads: int | None = None,
    rounds: int = 7,
    block: int = 10,
    batch: int = 64,
    device: str = "cpu",
    name: str = "step-speed",
    loss: str = "minimax",
    pairs: dict | None = None,
    modes: list[str] | None = None,
) -> dict:
    """Run the step suite; write ``<name>.json`` and ``<name>.md`` into ``out``.

    Args:
        out: results folder.
        threads: torch CPU threads (default: torch's).
        rounds: timed blocks per pair and mode (median reported).
        block: steps per block, and the device-logging modes' ``log_every``.
        batch: images per step.
        device: ``"cpu"`` or ``"cuda"``.
        name: results file stem.
        loss: loss family (:data:`~torchgan_lstm.losses.LOSS_FAMILIES`).
        pairs: name -> overrides (a quality variant: flat vocabulary, ``generator_args``); the
            first is the reference of ``vs_dcgan_torchgan``. Default: :data:`PAIRS` (or
            :data:`PENALTY_PAIRS` for a loss with a gradient penalty).
        modes: step modes to time (:data:`MODES` names; default all). ``torchgan`` is always
            timed, as the reference of the ratios.
    """
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    started = time.perf_counter()
    dev = torch.device(device)
    # A penalty per image: no batch norm in the critic.
    if pairs is None:
        pairs = PENALTY_PAIRS if needs_double_backward(loss) else PAIRS
    modes = ["torchgan", *(m for m in modes or MODES if m != "torchgan")]
    with tempfile.TemporaryDirectory() as tmp:
        steps = {
            (pair, mode): _Step(overrides, mode, loss, block, batch, dev, Path(tmp) / pair / mode)
            for pair, overrides in pairs.items()
            for mode in modes
        }
        for step in steps.values():  # warm-up: optimizer state, allocator, one flush
            step.run(block)
        saved = {key: step.saved_mb_in_discriminator_step() for key, step in steps.items()}
        times: dict = {key: [] for key in steps}
        for _ in range(rounds):
            for key, step in steps.items():
                times[key].append(step.run(block))
        for step in steps.values():
            step.trainer.logger.close()
    rows = step_rows(times, saved)
    machine = platform.processor() or platform.machine()
    if device == "cuda":
        machine = torch.cuda.get_device_name()
    results = {
        "machine": f"{machine}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "device": device,
        "loss": loss,
        "batch": batch,
        "block": block,
        "rounds": rounds,
        "rows": rows,
        "block_seconds_per_step": {f"{pair} | {mode}": ts for (pair, mode), ts in times.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_step_report(results, out, name)
    return results


def write_step_report(results: dict, out: Path, name: str) -> None:
    """Write ``<name>.json`` and ``<name>.md`` (and print the table) for a steps-suite result."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2))
    rows = results["rows"]
    text = (
        f"# {name}\n\n{results['machine']}, torch {results['torch']}, {results['device']}; "
        f"batch {results['batch']}, 32x32x1, {results['loss']}; a step is TorchGAN's train_iter "
        f"+ loss sums + mid-epoch visualisers (TensorBoard on). Median of {results['rounds']} "
        f"interleaved blocks of {results['block']} steps (device-log modes read the device once "
        f"per block); spread: max - min block; vs_first_pair: mean of the per-round ratios to the "
        f"first pair's TorchGAN step, with its 95 % t-interval. Suite time "
        f"{results['seconds']} s.\n\n" + markdown_table(rows, list(rows[0]))
    )
    (out / f"{name}.md").write_text(text)
    print(text)

"""Quality suite: train generators on Fashion-MNIST with TorchGAN's Trainer, measure as they go.

Each run is one :class:`~torchgan_lstm.app.config.RunConfig` (a named variant's overrides on top
of shared settings, in the flat vocabulary of torchgan-lstm 0.1.0 that the recorded results use,
read by :func:`torchgan_lstm.app.flat.from_flat`) and one seed, trained by
:func:`torchgan_lstm.app.run.train`; the Frechet classifier distance and class coverage are
computed every ``eval_every`` steps. The training
seconds at each evaluation are measured without the evaluations themselves, so curves can be
read against steps or against wall-clock time.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path

import torch
from torchgan.logging.visualize import Visualize

from torchgan_lstm.app.config import RunConfig
from torchgan_lstm.app.flat import FLAT_DEFAULTS, FLAT_MODEL_FIELDS, from_flat
from torchgan_lstm.app.run import train

__all__ = [
    "VARIANTS",
    "StepClock",
    "run_quality",
    "split_variant",
    "summarise",
]

# Named model configurations. Ablations add entries here (or pass overrides on the command line).
# Every variant names its discriminator and whether the LSTM is gated, so that a change of the
# command-line defaults never changes what a recorded variant meant.
# Our ConvDiscriminator as first measured: dropout 0.3, no norm, nn.Linear's read-out (its init
# and a bias), raw logits.
_FIRST_READOUT = {"readout_init": "pytorch", "readout_bias": True, "logit_nonlinearity": "none"}
_CONV_D = {"discriminator": "conv", "discriminator_args": _FIRST_READOUT}
_DCGAN_D = {"discriminator": "dcgan"}  # TorchGAN's DCGANDiscriminator (batch norm)
_EMA = {"ema_decay": 0.999}
_TTUR = {"g_lr": 1e-4, "d_lr": 4e-4}
_HALF_LR = {"g_lr": 1e-4, "d_lr": 1e-4}
_FAST_G = {"g_lr": 4e-4, "d_lr": 2e-4}
_DOUBLE_LR = {"g_lr": 4e-4, "d_lr": 4e-4}
_MINIBATCH = {"d_minibatch_features": 16}  # minibatch discrimination (Salimans et al., 2016)
_WGAN_GP = {"loss": "wgan-gp", "ncritic": 5, "betas": [0.5, 0.9], "g_lr": 1e-4, "d_lr": 1e-4}


def _dcgan(**fields) -> dict:
    return {"generator": "dcgan", **fields}


def _lstm(decoder: str, gate: bool = False, **fields) -> dict:
    return {"generator": "lstm", "decoder": decoder, "lstm_gate": gate, **fields}


# Constructor arguments newer than the flat vocabulary: a variant names them under
# "generator_args" / "discriminator_args" and they go on the models' init_args.
_SKIP_INPUT = {"generator_args": {"lstm_input": "skip"}}
_SKIP_NOISE_INPUT = {"generator_args": {"lstm_input": "skip+noise"}}
_ROW_STEPS = {"generator_args": {"cells_per_step": 4}}  # one row of the 4x4 grid per step
_SMALL_LSTM = {"hidden_size": 128, "num_layers": 1}
_TINY_LSTM = {"hidden_size": 64, "num_layers": 1}
# ConvDiscriminator default candidates (any size, our layout): DCGAN's recipe, spectral norm.
_BN_D = {"d_norm": "batch", "d_dropout": 0.0, **_CONV_D}
_SN_D = {"d_norm": "spectral", "d_dropout": 0.0, **_CONV_D}
# ... with TorchGAN's initialisation of the read-out (Kaiming-normal, bias starting at zero).
_BN_KAIMING_D = {**_BN_D, "discriminator_args": {**_FIRST_READOUT, "readout_init": "kaiming"}}
# ... and its logit through LeakyReLU(0.2): TorchGAN's critic but for a trainable read-out bias.
_BN_LEAKY_D = {
    **_BN_D,
    "discriminator_args": {
        **_FIRST_READOUT,
        "readout_init": "kaiming",
        "logit_nonlinearity": "leaky_relu",
    },
}
# Our ConvDiscriminator's defaults: TorchGAN's DCGANDiscriminator, for any size.
_OUR_D = {"d_norm": "batch", "d_dropout": 0.0, "discriminator": "conv", "discriminator_args": {}}


def _command_line_lstm(**fields) -> dict:
    """The command line's pair (gated conv decoder, hidden 128 x 1, gate 10x; its critic) with
    ``fields`` changed."""
    return _lstm(
        "conv",
        gate=True,
        **{**_OUR_D, **_SMALL_LSTM, "generator_args": {"gate_scale": 10.0}, **fields},
    )


VARIANTS: dict[str, dict] = {
    "dcgan": _dcgan(**_CONV_D),
    "lstm-conv": _lstm("conv", **_CONV_D),
    "lstm-rows": _lstm("rows", **_CONV_D),
    "lstm-canvas": _lstm("canvas", **_CONV_D),
    # The generators against TorchGAN's DCGAN discriminator, with and without the average.
    "dcgan+dcganD": _dcgan(**_DCGAN_D),
    "lstm-conv+dcganD": _lstm("conv", **_DCGAN_D),
    "lstm-rows+dcganD": _lstm("rows", **_DCGAN_D),
    "lstm-canvas+dcganD": _lstm("canvas", **_DCGAN_D),
    "dcgan+dcganD+ema": _dcgan(**_DCGAN_D, **_EMA),
    "lstm-conv+dcganD+ema": _lstm("conv", **_DCGAN_D, **_EMA),
    "lstm-rows+dcganD+ema": _lstm("rows", **_DCGAN_D, **_EMA),
    "lstm-canvas+dcganD+ema": _lstm("canvas", **_DCGAN_D, **_EMA),
    "lstm-conv+dcganD+ema+gate": _lstm("conv", gate=True, **_DCGAN_D, **_EMA),
    "lstm-conv+dcganD+gate": _lstm("conv", gate=True, **_DCGAN_D),
    # One change at a time against the gated conv decoder / the DCGAN discriminator.
    "lstm-conv+dcganD+no-skip": _lstm("conv", latent_skip=False, **_DCGAN_D),
    "lstm-conv+dcganD+gate+ttur": _lstm("conv", gate=True, **_DCGAN_D, **_TTUR),
    "lstm-conv+dcganD+gate+hinge": _lstm("conv", gate=True, loss="hinge", **_DCGAN_D),
    "lstm-conv+dcganD+gate+1layer": _lstm("conv", gate=True, num_layers=1, **_DCGAN_D),
    # Ablations of the conv decoder against our ConvDiscriminator (dropout 0.3, no norm).
    "lstm-conv+ema": _lstm("conv", **_CONV_D, **_EMA),
    "lstm-conv+sn+hinge": _lstm("conv", d_norm="spectral", loss="hinge", **_CONV_D),
    "lstm-conv+ttur": _lstm("conv", **_CONV_D, **_TTUR),
    "lstm-conv+1layer": _lstm("conv", num_layers=1, **_CONV_D),
    "lstm-conv+no-skip": _lstm("conv", latent_skip=False, **_CONV_D),
    "lstm-conv+bnD": _lstm("conv", d_norm="batch", **_CONV_D),
    "lstm-conv+no-dropout": _lstm("conv", d_dropout=0.0, **_CONV_D),
    "lstm-conv+minibatch": _lstm("conv", **_CONV_D, **_MINIBATCH),
    # Our ConvDiscriminator with DCGAN's recipe: batch norm, no dropout; or spectral norm, no
    # dropout (candidates for its defaults, issue 14).
    "dcgan+bnD": _dcgan(**_BN_D),
    "lstm-conv+bnD+gate": _lstm("conv", gate=True, **_BN_D),
    "dcgan+snD": _dcgan(**_SN_D),
    "lstm-conv+snD+gate": _lstm("conv", gate=True, **_SN_D),
    "dcgan+bnD+kaiming-readout": _dcgan(**_BN_KAIMING_D),
    "lstm-conv+bnD+gate+kaiming-readout": _lstm("conv", gate=True, **_BN_KAIMING_D),
    "dcgan+bnD+leaky-logit": _dcgan(**_BN_LEAKY_D),
    "lstm-conv+bnD+gate+leaky-logit": _lstm("conv", gate=True, **_BN_LEAKY_D),
    "dcgan+convD": _dcgan(**_OUR_D),
    "lstm-conv+convD+gate": _lstm("conv", gate=True, **_OUR_D),
    "dcgan+bnD+minibatch": _dcgan(**_BN_D, **_MINIBATCH),
    "lstm-conv+bnD+gate+minibatch": _lstm("conv", gate=True, **_BN_D, **_MINIBATCH),
    # Levers of issue 14 on the default (gated conv decoder, DCGAN's discriminator): a
    # recurrence that refines the skip map, and cheaper recurrences.
    "lstm-conv+dcganD+gate+skip-input": _lstm("conv", gate=True, **_DCGAN_D, **_SKIP_INPUT),
    "lstm-conv+dcganD+gate+skip-noise-input": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SKIP_NOISE_INPUT
    ),
    "lstm-conv+dcganD+gate+h128-l1": _lstm("conv", gate=True, **_DCGAN_D, **_SMALL_LSTM),
    "lstm-conv+dcganD+gate+row-steps": _lstm("conv", gate=True, **_DCGAN_D, **_ROW_STEPS),
    "lstm-conv+dcganD+gate+skip-input+h128-l1": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SKIP_INPUT, **_SMALL_LSTM
    ),
    # The command line's LSTM (hidden 128 x 1) narrower, with the average, with one step per row,
    # and with both.
    "lstm-conv+dcganD+gate+h128-l1+row-steps": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SMALL_LSTM, **_ROW_STEPS
    ),
    "lstm-conv+dcganD+gate+h64-l1": _lstm("conv", gate=True, **_DCGAN_D, **_TINY_LSTM),
    "lstm-conv+dcganD+gate+h128-l1+ema": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SMALL_LSTM, **_EMA
    ),
    "lstm-conv+dcganD+gate+h128-l1+row-steps+ema": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SMALL_LSTM, **_ROW_STEPS, **_EMA
    ),
    # The command line's LSTM with a narrower upsampling head (DCGAN's and the default's is 32):
    # the head's transposed convolutions are the part of the step the recurrence adds to.
    "lstm-conv+dcganD+gate+h128-l1+g24": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SMALL_LSTM, g_step_channels=24
    ),
    "lstm-conv+dcganD+gate+h128-l1+g16": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SMALL_LSTM, g_step_channels=16
    ),
    # The gate scaled so that under Adam it moves 10 (30, 100) times faster than the other weights.
    "lstm-conv+dcganD+gate+h128-l1+gate10": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SMALL_LSTM, generator_args={"gate_scale": 10.0}
    ),
    "lstm-conv+dcganD+gate+h128-l1+gate30": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SMALL_LSTM, generator_args={"gate_scale": 30.0}
    ),
    "lstm-conv+dcganD+gate+h128-l1+gate100": _lstm(
        "conv", gate=True, **_DCGAN_D, **_SMALL_LSTM, generator_args={"gate_scale": 100.0}
    ),
    # The 30x gate with the generator's average (decay 0.999): does averaging steady the classes?
    "lstm-conv+dcganD+gate+h128-l1+gate30+ema": _lstm(
        "conv",
        gate=True,
        **_DCGAN_D,
        **_SMALL_LSTM,
        **_EMA,
        generator_args={"gate_scale": 30.0},
    ),
    # The command line's pair with the generator's average (decay 0.999), which gave DCGAN's
    # generator every class >= 6.6 %.
    "lstm-conv+convD+gate+h128-l1+gate10+ema": _command_line_lstm(**_EMA),
    # ... with a short average (decay 0.99, about the last 100 steps): the long one draws fewer
    # sandals than the generator it averages.
    "lstm-conv+convD+gate+h128-l1+gate10+ema0.99": _command_line_lstm(ema_decay=0.99),
    # Minibatch discrimination (16 features) on the command line's critic, with DCGAN's generator
    # and with the command line's LSTM: does it steady the rarest class?
    "dcgan+convD+minibatch": _dcgan(**_OUR_D, **_MINIBATCH),
    "lstm-conv+convD+gate+h128-l1+gate10+minibatch": _command_line_lstm(**_MINIBATCH),
    # One-sided label smoothing (the critic's target for real data 0.9): a critic that cannot win
    # outright, with the command line's LSTM and with DCGAN's generator.
    "dcgan+convD+smoothed": _dcgan(**_OUR_D, loss="minimax-smoothed"),
    "lstm-conv+convD+gate+h128-l1+gate10+smoothed": _command_line_lstm(loss="minimax-smoothed"),
    # Both players at half DCGAN's learning rate (1e-4): smaller steps, smaller swings between
    # the classes the generator favours?
    "lstm-conv+convD+gate+h128-l1+gate10+lr1e-4": _command_line_lstm(**_HALF_LR),
    # Half the learning rate and a slower generator (TTUR's G 1e-4, D 4e-4) both drew the rarest
    # class less: a faster generator (G 4e-4, D 2e-4), and both players at twice DCGAN's rate.
    "lstm-conv+convD+gate+h128-l1+gate10+glr4e-4": _command_line_lstm(**_FAST_G),
    "lstm-conv+convD+gate+h128-l1+gate10+lr4e-4": _command_line_lstm(**_DOUBLE_LR),
    "dcgan+dcganD+glr4e-4": _dcgan(**_DCGAN_D, **_FAST_G),
    # The faster generator with the short average (decay 0.99): training is the same, the
    # samples come from the average of about the last 100 steps. Does it steady the rarest class
    # at the budget's step?
    "lstm-conv+convD+gate+h128-l1+gate10+glr4e-4+ema0.99": _command_line_lstm(
        **_FAST_G, ema_decay=0.99
    ),
    # DCGAN's generator as the command line trains it (`--generator DCGANGenerator`): the same
    # rates and average.
    "dcgan+dcganD+glr4e-4+ema0.99": _dcgan(**_DCGAN_D, **_FAST_G, ema_decay=0.99),
    # DCGAN's generator against the command line's critic, with its rates and average: the
    # recurrence-free arm at the default's decoder width (issue 32's ablation).
    "dcgan+convD+glr4e-4+ema0.99": _dcgan(**_OUR_D, **_FAST_G, ema_decay=0.99),
    # PacGAN (Lin et al., 2018): the command line's critic judges pairs of images, which makes
    # a generator that over-draws some classes easier to tell from the data.
    "lstm-conv+convD+gate+h128-l1+gate10+pack2": _command_line_lstm(discriminator_args={"pack": 2}),
    # The command line's LSTM generator without its recurrence (the latent skip path and the
    # conv decoder kept; issue 32), the decoder widened to 44 step channels so that the
    # parameter count matches the default's (595,497 against 590,914); with 32 it is DCGAN's
    # generator but for a linear first layer. Same critic, rates and average as the default.
    "norec-g44+convD+glr4e-4+ema0.99": _lstm(
        "conv",
        gate=False,
        **_OUR_D,
        **_SMALL_LSTM,
        **_FAST_G,
        ema_decay=0.99,
        g_step_channels=44,
        generator_args={"recurrence": False},
    ),
    # Wasserstein with gradient penalty (Gulrajani et al.: 5 critic steps, Adam 1e-4, beta2 0.9).
    "dcgan+wgan-gp": _dcgan(**_CONV_D, **_WGAN_GP),
    "lstm-conv+wgan-gp": _lstm("conv", **_CONV_D, **_WGAN_GP),
}


class StepClock(Visualize):
    """Sums the time spent in training steps, leaving out TorchGAN's end-of-epoch work.

    TorchGAN calls mid-epoch visualisers after each step (``lock_console=True``) and again at
    the end of the epoch. The first step of an epoch follows the previous epoch's evaluation, so
    its time is not measured directly: it is counted at the mean step time.
    """

    def __init__(self, writer=None):
        self.logs, self.step = {}, 1
        self.seconds, self.steps, self.timed = 0.0, 0, 0
        self._last: float | None = None
        self.at_epoch_end: list[tuple[int, float]] = []

    def __call__(self, *args, lock_console: bool = False, **kwargs) -> None:
        now = time.perf_counter()
        if not lock_console:  # end of epoch: close the books, the next interval holds evaluation
            self.at_epoch_end.append((self.steps, self.estimate()))
            self._last = None
            return
        if self._last is not None:
            self.seconds += now - self._last
            self.timed += 1
        self.steps += 1
        self._last = now

    def estimate(self) -> float:
        """Training seconds so far, untimed first steps counted at the mean step time."""
        mean = self.seconds / self.timed if self.timed else 0.0
        return self.seconds + mean * (self.steps - self.timed)


def shared_fields(base: dict, variant: dict) -> dict:
    """The shared overrides (``--set``) that the variant's models read.

    ``--set hidden_size=16`` sizes every LSTM of a comparison; a DCGAN generator has no LSTM, so
    it does not get the field.
    """
    fields = {**FLAT_DEFAULTS, **base, **variant}
    unread = []
    if fields["generator"] != "lstm":
        unread += FLAT_MODEL_FIELDS["lstm"]
    if fields["discriminator"] != "conv":
        unread += FLAT_MODEL_FIELDS["conv"]
    return {k: v for k, v in base.items() if k not in unread}


def split_variant(variant: dict) -> tuple[dict, dict, dict]:
    """``(flat fields, extra generator arguments, extra discriminator arguments)`` of a variant:
    constructor arguments newer than the flat vocabulary go under ``generator_args`` and
    ``discriminator_args``."""
    fields = dict(variant)
    return fields, fields.pop("generator_args", {}), fields.pop("discriminator_args", {})


def variant_config(overrides: dict, base: dict | None = None, **fields) -> RunConfig:
    """The run configuration of a variant: shared settings it reads, its overrides (with its
    ``generator_args`` and ``discriminator_args`` on the models' constructor arguments),
    ``fields``."""
    flat, generator_args, discriminator_args = split_variant(overrides)
    shared = shared_fields(base or {}, flat)
    config = RunConfig.from_dict(from_flat({**shared, **flat, **fields}))
    config.generator.init_args.update(generator_args)
    config.discriminator.init_args.update(discriminator_args)
    return config


def run_one(name: str, overrides: dict, seed: int, out: Path, base: dict) -> dict:
    """Train one variant with one seed; return its record (also written as JSON)."""
    config = variant_config(overrides, base, seed=seed, out=str(out))
    clock = StepClock()
    trainers, shares_history = [], []

    def attach(trainer):
        trainer.logger.logger_mid_epoch.append(clock)
        trainers.append(trainer)
        coverage = (trainer.metrics or {}).get("ClassCoverage")
        if coverage is not None:  # keep every evaluation's class shares, not only the last
            evaluate = coverage.metric_ops

            def metric_ops(*args, **kwargs):
                value = evaluate(*args, **kwargs)
                shares_history.append(_shares(coverage.last_histogram))
                return value

            coverage.metric_ops = metric_ops

    # The suite's own folder (--out-dir/variant/seedN): a re-run replaces that seed's run.
    summary = train(config, progress=False, on_trainer=attach, overwrite=True)
    coverage = (trainers[0].metrics or {}).get("ClassCoverage")
    history = summary["metric_history"]
    evals = len(next(iter(history.values()), []))
    record = {
        "variant": name,
        "seed": seed,
        "overrides": overrides,
        "steps": [s for s, _ in clock.at_epoch_end][:evals],
        "seconds": [round(t, 2) for _, t in clock.at_epoch_end][:evals],
        "fcd": history.get("FrechetClassifierDistance", []),
        "coverage": history.get("ClassCoverage", []),
        "imbalance": history.get("ClassImbalance", []),
        "sec_per_step": clock.estimate() / max(clock.steps, 1),
        # Share of the final evaluation's samples predicted as each class.
        "class_shares": _shares(coverage.last_histogram) if coverage is not None else None,
        "class_shares_history": shares_history[:evals],  # one list per evaluation
        "samples": str(out / "samples.png"),
    }
    (out / "record.json").write_text(json.dumps(record, indent=2))
    return record


def _shares(histogram) -> list[float]:
    return [round(float(v), 4) for v in histogram]


def final_class_shares(run_dir: Path, samples: int, seed: int = 0) -> list[float]:
    """Class shares of the newest checkpoint under ``run_dir``, for records made without them."""
    from torchgan_lstm.app.run import latest_checkpoint, load_generator
    from torchgan_lstm.metrics import ClassCoverage

    generator, _ = load_generator(latest_checkpoint(run_dir))
    metric = ClassCoverage(sample_size=samples)
    torch.manual_seed(seed)
    metric.metric_ops(generator, "cpu")
    return _shares(metric.last_histogram)


def run_quality(
    variants: dict[str, dict],
    seeds: list[int],
    base: dict,
    out_dir: Path,
    threads: int | None = None,
    jobs: int = 1,
    deadline: float | None = None,
) -> list[dict]:
    """Train every variant with every seed; return the records of the runs that finished.

    Args:
        variants: name -> RunConfig overrides.
        seeds: seeds per variant.
        base: shared RunConfig fields.
        out_dir: one folder per run, ``<variant>/seed<k>``.
        threads: torch CPU threads per process.
        jobs: runs at a time, each in its own process (e.g. several runs sharing one GPU);
            with more than one, runs start seed by seed (every variant's seed 0 first), so a
            cut-short pool still compares every variant.
        deadline: seconds after which no further run is started (``jobs > 1`` only).
    """
    if threads:
        torch.set_num_threads(threads)
    if jobs > 1:
        return _run_pool(variants, seeds, base, out_dir, threads or 1, jobs, deadline)
    records = []
    for name, overrides in variants.items():
        for seed in seeds:
            records.append(_run_logged(name, overrides, seed, out_dir, base))
    return records


def _run_logged(name: str, overrides: dict, seed: int, out_dir: Path, base: dict) -> dict:
    started = time.perf_counter()
    record = run_one(name, overrides, seed, out_dir / name / f"seed{seed}", base)
    print(
        f"[quality] {name} seed {seed}: fcd {[round(v, 1) for v in record['fcd']]} "
        f"coverage {record['coverage']} ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    return record


def _pool_worker(threads: int, name: str, overrides: dict, seed: int, out_dir: Path, base: dict):
    torch.set_num_threads(threads)
    try:
        return _run_logged(name, overrides, seed, out_dir, base)
    except Exception as err:  # one failed run must not lose the others; it is reported
        print(f"[quality] {name} seed {seed} FAILED: {type(err).__name__}: {err}", flush=True)
        return None


def _run_pool(variants, seeds, base, out_dir, threads, jobs, deadline) -> list[dict]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    started = time.perf_counter()
    order = [(name, seed) for seed in seeds for name in variants]
    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending = {}
        for name, seed in order:
            pending[name, seed] = pool.submit(
                _pool_worker, threads, name, variants[name], seed, out_dir, base
            )
        records = {}
        for key, future in pending.items():
            late = deadline is not None and time.perf_counter() - started > deadline
            if late and future.cancel():  # not started yet: leave it; running ones finish
                continue
            result = future.result()
            if result is not None:
                records[key] = result
    return [records[name, seed] for name in variants for seed in seeds if (name, seed) in records]


def _mean_sd(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(records: list[dict], collapse_coverage: int = 8) -> list[dict]:
    """Per variant and evaluation step: mean and spread of distance and coverage over seeds.

    A run counts as collapsed when its last coverage is below ``collapse_coverage`` classes, and
    as diverged when its last distance is not finite.
    """
    rows = []
    for name in dict.fromkeys(r["variant"] for r in records):
        runs = [r for r in records if r["variant"] == name]
        for i, step in enumerate(runs[0]["steps"]):
            at = [r for r in runs if len(r["fcd"]) > i]
            fcd, fcd_sd = _mean_sd([r["fcd"][i] for r in at])
            cov, cov_sd = _mean_sd([r["coverage"][i] for r in at])
            rows.append(
                {
                    "variant": name,
                    "step": step,
                    "seeds": len(at),
                    "seconds": statistics.fmean(r["seconds"][i] for r in at),
                    "fcd_mean": fcd,
                    "fcd_sd": fcd_sd,
                    "coverage_mean": cov,
                    "coverage_sd": cov_sd,
                }
            )
        last = [r for r in runs if r["fcd"]]
        shares = [min(r["class_shares"]) for r in last if r.get("class_shares")]
        if shares:  # the rarest class's share of the final samples, worst seed
            rows[-1]["min_class_share"] = min(shares)
        rows[-1]["collapsed"] = sum(r["coverage"][-1] < collapse_coverage for r in last)
        rows[-1]["diverged"] = sum(not math.isfinite(r["fcd"][-1]) for r in last)
    return rows

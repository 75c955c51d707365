"""A synthetic packed table with known properties (made in memory, no data files), and a
comparison of the table generator's designs on it.

Each entity has a static category ``kind`` (``P(kind=1) = KIND_ONE``) that sets the period
(``PERIODS[kind]`` steps) and level (``LEVELS[kind]``) of a sine ``value`` with a random phase;
a length uniform in ``[MIN_LENGTH, SEQ_LEN]``; ``value`` missing at each present step with
probability ``MISSING_RATE``; and a categorical series ``state`` drawn i.i.d. with
``STATE_FREQUENCIES``.

``python -m benchmarks.table_truth --seeds 0 1 2 --epochs 40`` trains a tiny table GAN of each
design (minimax loss, TorchGAN's ``Trainer``, one CPU thread) on 512 entities and prints the
table scores before and after training: the mean over seeds and the range.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import tempfile
import time
import warnings

import torch
from torch.optim import Adam
from torchgan.trainer import Trainer

from torchgan_lstm.losses import build_losses
from torchgan_lstm.metrics import table_report
from torchgan_lstm.models import (
    ConvSequenceDiscriminator,
    LSTMSequenceDiscriminator,
    TableSequenceGenerator,
)

SEQ_LEN = 12
MIN_LENGTH = 4
KIND_ONE = 0.3
PERIODS = (12.0, 4.0)
LEVELS = (0.35, 0.65)
MISSING_RATE = 0.25
STATE_FREQUENCIES = (0.6, 0.3, 0.1)

CHANNELS = [
    {"name": "kind", "kind": "categorical", "role": "static", "width": 2},
    {"name": "value", "kind": "numeric", "role": "series", "width": 1},
    {"name": "value", "kind": "observed", "role": "series", "width": 1},
    {"name": "state", "kind": "categorical", "role": "series", "width": 3},
    {"name": "__present__", "kind": "present", "role": "series", "width": 1},
]


def truth_table(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` packed entities ``(n, SEQ_LEN, 8)`` and their ``kind`` ``(n,)``."""
    g = torch.Generator().manual_seed(seed)
    kind = (torch.rand(n, generator=g) < KIND_ONE).long()
    length = torch.randint(MIN_LENGTH, SEQ_LEN + 1, (n,), generator=g)
    steps = torch.arange(SEQ_LEN).float()
    period = torch.tensor(PERIODS)[kind].unsqueeze(1)
    phase = torch.rand(n, 1, generator=g) * 2 * math.pi
    level = torch.tensor(LEVELS)[kind].unsqueeze(1)
    value = level + 0.3 * torch.sin(2 * math.pi * steps / period + phase)
    present = (steps.unsqueeze(0) < length.unsqueeze(1)).float()
    observed = (torch.rand(n, SEQ_LEN, generator=g) >= MISSING_RATE).float() * present
    state = torch.multinomial(torch.tensor(STATE_FREQUENCIES), n * SEQ_LEN, True, generator=g)
    state = torch.nn.functional.one_hot(state.view(n, SEQ_LEN), 3).float()
    packed = torch.cat(
        [
            torch.nn.functional.one_hot(kind, 2).float().unsqueeze(1).expand(-1, SEQ_LEN, -1),
            (value * observed).unsqueeze(2),
            observed.unsqueeze(2),
            state * present.unsqueeze(2),
            present.unsqueeze(2),
        ],
        dim=2,
    )
    return packed, kind


def _static_critic(base: type) -> type:
    """``base`` with DoppelGANger's auxiliary critic on the static attributes alone, its logit
    added to the main one (so TorchGAN's losses need no change)."""

    class StaticCritic(base):
        def __init__(self, static_width: int = 2, **kwargs):
            super().__init__(**kwargs)
            self.static_width = static_width
            self.static_critic = torch.nn.Sequential(
                torch.nn.Linear(static_width, 16),
                torch.nn.LeakyReLU(0.2),
                torch.nn.Linear(16, 1),
            )

        def forward(self, x, y=None, feature_matching=False):
            out = super().forward(x, y, feature_matching)
            if feature_matching:
                return out
            return out + self.static_critic(x[:, 0, : self.static_width]).squeeze(1)

    return StaticCritic


class _MaskedLSTMCritic(LSTMSequenceDiscriminator):
    """The LSTM critic with its per-step logits averaged over the present steps only."""

    def forward(self, x, y=None, feature_matching=False):
        if feature_matching:
            return super().forward(x, y, feature_matching)
        logits, _ = self.recurrence(x)
        present = x[..., -1]
        return (logits.squeeze(2) * present).sum(1) / present.sum(1).clamp_min(1)


# name -> (generator arguments, critic): the designs compared.
DESIGNS = {
    "default": ({}, "conv"),
    "soft": ({"discrete": "soft"}, "conv"),
    "steps": ({"length": "steps"}, "conv"),
    "soft-steps": ({"discrete": "soft", "length": "steps"}, "conv"),
    "lstm-critic": ({}, "lstm"),
    "static-critic": ({}, "static-conv"),
    "masked-lstm-critic": ({}, "masked-lstm"),
    "tau0.25": ({"gumbel_tau": 0.25}, "conv"),
    "tau1": ({"gumbel_tau": 1.0}, "conv"),
    "tau2": ({"gumbel_tau": 2.0}, "conv"),
}
KEYS = (
    "length_distance",
    "category_distance/static/kind",
    "category_distance/series/state",
    "missing_rate_distance",
    "gap_length_distance",
    "attribute_series_distance",
    "autocorrelation_distance",
)


def train_and_score(design: str, seed: int, epochs: int, entities: int = 512) -> dict:
    """Train a tiny table GAN (minimax loss, TorchGAN's ``Trainer``) on the truth table and
    score it before and after; returns the two reports and the training's CPU seconds."""
    g_args, critic = DESIGNS[design]
    conv = {"features": 8, "step_channels": 16, "kernel_size": 3}
    critics = {
        "conv": (ConvSequenceDiscriminator, conv),
        "static-conv": (_static_critic(ConvSequenceDiscriminator), conv),
        "lstm": (LSTMSequenceDiscriminator, {"features": 8, "hidden_size": 16}),
        "masked-lstm": (_MaskedLSTMCritic, {"features": 8, "hidden_size": 16}),
    }
    adam = {"name": Adam, "args": {"lr": 2e-3, "betas": (0.5, 0.999)}}
    small = {"seq_len": SEQ_LEN, "encoding_dims": 4, "hidden_size": 24, "num_layers": 1}
    models = {
        "generator": {
            "name": TableSequenceGenerator,
            "args": {"channels": CHANNELS, **small, "static_hidden_size": 16, **g_args},
            "optimizer": adam,
        },
        "discriminator": {
            "name": critics[critic][0],
            "args": critics[critic][1],
            "optimizer": adam,
        },
    }
    real, kind = truth_table(entities, 0)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(real, kind), batch_size=64, shuffle=True, drop_last=True
    )
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: f"{tmp}/{k}" for k in ("checkpoints", "recon", "log_dir")}
        trainer = Trainer(
            models,
            build_losses("minimax"),
            device=torch.device("cpu"),
            epochs=epochs,
            sample_size=4,
            **paths,
        )
        g = trainer.generator
        with torch.no_grad():
            before = table_report(real, g(*g.sampler(entities, "cpu")), CHANNELS)
        cpu = time.process_time()
        trainer(loader)
        cpu = time.process_time() - cpu
        g.eval()
        with torch.no_grad():
            after = table_report(real, g(*g.sampler(entities, "cpu")), CHANNELS)
    return {"untrained": before, "trained": after, "cpu_seconds": cpu}


def main(argv: list[str] | None = None) -> None:
    """Compare the designs on the truth table; print a Markdown table (and write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=list(DESIGNS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--json", default=None, help="also write every report to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    results = {}
    for design in args.designs:
        for seed in args.seeds:
            with contextlib.redirect_stdout(io.StringIO()):  # TorchGAN prints every epoch
                results[f"{design}/{seed}"] = train_and_score(design, seed, args.epochs)
    reference = table_report(truth_table(512, 0)[0], truth_table(512, 1)[0], CHANNELS)
    short = [k.split("/")[-1] for k in KEYS]
    print("| design | " + " | ".join(short) + " | CPU s |")
    print("|---" * (len(KEYS) + 2) + "|")
    print(
        "| a fresh sample of the truth | "
        + " | ".join(f"{reference[k]:.3f}" for k in KEYS)
        + " | |"
    )
    for design in args.designs:
        runs = [results[f"{design}/{s}"] for s in args.seeds]
        for stage in ("untrained", "trained"):
            cells = []
            for k in KEYS:
                values = [r[stage][k] for r in runs]
                cells.append(
                    f"{sum(values) / len(values):.3f} ({min(values):.3f}-{max(values):.3f})"
                )
            cpu = sum(r["cpu_seconds"] for r in runs) / len(runs)
            print(
                f"| {design}, {stage} | "
                + " | ".join(cells)
                + (f" | {cpu:.1f} |" if stage == "trained" else " | |")
            )
    if "default" in args.designs and len(args.seeds) > 1:
        print()
        for line in paired_against_default(results, args.designs, args.seeds):
            print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def paired_against_default(results: dict, designs: list[str], seeds: list[int]) -> list[str]:
    """One line per design: its trained distances minus the default's, paired by seed (mean
    and 95 % t-interval), for the mean of the ``KEYS`` and for each property whose interval
    excludes 0."""
    from benchmarks.stats import paired_difference

    def trained(design: str, key: str | None) -> dict[int, float]:
        runs = {s: results[f"{design}/{s}"]["trained"] for s in seeds}
        if key is None:
            return {s: sum(r[k] for k in KEYS) / len(KEYS) for s, r in runs.items()}
        return {s: r[key] for s, r in runs.items()}

    lines = []
    for design in designs:
        if design == "default":
            continue
        diff = paired_difference(trained(design, None), trained("default", None)).t
        moved = []
        for key in KEYS:
            d = paired_difference(trained(design, key), trained("default", key)).t
            if d.low > 0 or d.high < 0:
                moved.append(f"{key.split('/')[-1]} {d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")
        lines.append(
            f"{design} - default, mean of the distances: {diff.mean:+.3f} "
            f"[{diff.low:+.3f}, {diff.high:+.3f}] over {len(seeds)} paired seeds; "
            + ("interval excludes 0: " + "; ".join(moved) if moved else "no property moved")
        )
    return lines


if __name__ == "__main__":
    main()

"""Profile suite: where a training step's time goes, per generator, with ``torch.profiler``.

The same step as the speed suite (one TorchGAN minimax discriminator step and one generator
step, same ``ConvDiscriminator``); the operators are grouped into the parts of the model they
belong to, so the table says what the LSTM costs beside the convolutions both models share.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from .report import markdown_table
from .speed import GENERATORS, MODES, _Pair

__all__ = ["GROUPS", "run_profile"]

# Operator-name fragments -> part of the step (first match wins).
GROUPS = (
    ("lstm", ("lstm", "rnn", "_thnn_fused", "cudnn_rnn", "_cudnn_rnn")),
    ("dropout (D)", ("bernoulli", "dropout", "fused_dropout", "native_dropout")),
    ("convolution", ("conv", "cudnn_convolution", "slow_conv", "mkldnn_convolution")),
    ("linear / matmul", ("addmm", "mm", "linear", "matmul", "bmm")),
    ("batch norm", ("batch_norm", "native_batch_norm")),
    ("optimizer (Adam)", ("_foreach", "adam", "lerp", "addcdiv", "addcmul", "sqrt")),
)


def _group(name: str) -> str:
    lowered = name.lower()
    for group, fragments in GROUPS:
        if any(f in lowered for f in fragments):
            return group
    return "other"


def run_profile(
    out: Path, device: str = "cpu", mode: str = "fp32", steps: int = 5, name: str = "profile"
) -> dict:
    """Profile ``steps`` training steps per generator; write ``<name>.json`` and ``<name>.md``.

    Self times of the operators (CPU time on CPU; CUDA kernel time on CUDA) are summed by
    :data:`GROUPS` and given as shares of the step.
    """
    torch.manual_seed(0)
    activity = ProfilerActivity.CUDA if device == "cuda" else ProfilerActivity.CPU
    attr = "self_device_time_total" if device == "cuda" else "self_cpu_time_total"
    rows = []
    for generator, overrides in GENERATORS.items():
        pair = _Pair(overrides, 32, 64, device, MODES[mode])
        for _ in range(3):
            pair.step()
        with profile(activities=[activity]) as prof:
            for _ in range(steps):
                pair.step()
        totals: dict[str, float] = {}
        for event in prof.key_averages():
            group = _group(event.key)
            totals[group] = totals.get(group, 0.0) + getattr(event, attr, 0.0)
        whole = sum(totals.values()) or 1.0
        row = {"generator": generator, "ms_per_step": whole / steps / 1000}
        for group in [g for g, _ in GROUPS] + ["other"]:
            row[group] = f"{100 * totals.get(group, 0.0) / whole:.0f} %"
        rows.append(row)
    results = {"device": device, "mode": mode, "steps": steps, "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2))
    md = [
        f"# {name}\n",
        f"torch.profiler over {steps} training steps per generator (batch 64, 32x32x1, minimax, "
        f"same ConvDiscriminator), {device}, {mode}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads. Self "
        f"{'CUDA kernel' if device == 'cuda' else 'CPU'} time of the operators, summed by part "
        "(forward and backward together); ms_per_step is that sum per step.\n",
        markdown_table(rows, list(rows[0])),
    ]
    (out / f"{name}.md").write_text("\n".join(md))
    print("\n".join(md))
    return results

"""What resuming a run checks before it trains: the checkpoint's models and settings against the
requested ones, and the data it was trained on against the data named now."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..checkpoint import CheckpointError, safe_load
from .config import RunConfig

__all__ = ["check_same_data", "check_same_models"]


def check_same_models(saved: RunConfig, config: RunConfig, where: str, resume: bool) -> None:
    """Refuse a checkpoint whose models are built differently from ``config``'s.

    Models are compared as built: the same classes and the same parameter names and shapes
    (arguments that change no weight, such as dropout, may differ). Resuming also needs the same
    ``eval_every``, the step count of TorchGAN's epochs, which the checkpoint counts in, and the
    same loss family, whose objects TorchGAN's ``load_model`` restores from the checkpoint.

    Raises:
        CheckpointError: names the model, the arguments that differ, with both values.
    """
    problems = []
    for role in ("generator", "discriminator"):
        old, new = getattr(saved.resolved(), role), getattr(config.resolved(), role)
        if old.cls is not new.cls or _shapes(old) != _shapes(new):
            args = _differing_args(old, new)
            problems.append(f"{role}: {args or f'{old.class_path} vs {new.class_path}'}")
    if resume and saved.eval_every != config.eval_every:
        problems.append(
            f"eval_every: checkpoint {saved.eval_every} vs requested {config.eval_every}"
        )
    if resume and saved.loss != config.loss:  # TorchGAN restores the checkpoint's loss objects
        problems.append(f"loss: checkpoint {saved.loss!r} vs requested {config.loss!r}")
    if problems:
        differences = "; ".join(problems)
        raise CheckpointError(f"{where} was trained with other models or settings: {differences}")


def check_same_data(checkpoint_path: Path, now: dict, name: str) -> None:
    """Refuse to resume on data other than the checkpoint's: the same widths with other columns,
    categories or scaling would give the trained weights other meanings.

    Compares what the checkpoint kept of its data (``data_info``: a sequence dataset's scaling
    and column names, a table's codec) with ``now``, the same of the data named now
    (:func:`~torchgan_lstm.app.run.data_info`); checkpoints that kept nothing (images) pass.

    Raises:
        CheckpointError: names the checkpoint, the dataset and the parts that differ.
    """
    saved = safe_load(checkpoint_path, map_location="cpu").get("data_info") or {}
    if not saved or _same(saved, now):
        return
    parts = sorted(k for k in set(saved) | set(now) if not _same(saved.get(k), now.get(k)))
    if "table" in parts:
        table_saved, table_now = saved.get("table") or {}, now.get("table") or {}
        inner = set(table_saved) | set(table_now)
        parts.remove("table")
        parts += [
            f"table {k}" for k in sorted(inner) if not _same(table_saved.get(k), table_now.get(k))
        ]
    raise CheckpointError(
        f"checkpoint {str(checkpoint_path)!r} was trained on other data than {name!r} now holds "
        f"(its {', '.join(parts)} differ); resume on the data it was trained on, or start a new "
        "run"
    )


def _same(a, b) -> bool:
    # As plain data: a NaN in both counts as the same value.
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _shapes(spec) -> dict[str, tuple]:
    with torch.random.fork_rng(devices=[]):
        model = spec.build()
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _differing_args(old, new) -> str:
    import inspect

    def filled(spec) -> dict:
        defaults = {
            name: p.default
            for name, p in inspect.signature(spec.cls).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        return {**defaults, **spec.init_args}

    a, b = filled(old), filled(new)
    return ", ".join(
        f"{k}: checkpoint {a.get(k)!r} vs requested {b.get(k)!r}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    )

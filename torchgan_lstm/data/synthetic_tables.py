"""A synthetic long table with a known ground truth, for tests and docs (``"table-sines"``).

Every entity (``entity``, ``s0000``, ``s0001``...) has:

- a static category ``kind``, ``"slow"`` / ``"medium"`` / ``"fast"`` with probabilities
  :data:`KIND_PROBABILITIES`, which sets the frequency of its sine (:data:`KIND_FREQUENCIES`,
  radians per step); the phase is uniform in ``[0, 2 pi)``;
- a length drawn uniformly from ``min_length .. max_length`` steps;
- daily dates (``date``) from a start drawn uniformly from the 365 days of 2024;
- a numeric series ``value = sin(frequency * t + phase)``, each cell missing with probability
  ``missing`` (independently);
- a categorical series ``weather``, ``"dry"`` / ``"wet"`` / ``"snow"`` drawn independently per
  step with probabilities :data:`WEATHER_PROBABILITIES`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_fraction, check_int

__all__ = ["KIND_FREQUENCIES", "KIND_PROBABILITIES", "WEATHER_PROBABILITIES", "table_sines"]

KIND_PROBABILITIES = {"slow": 0.5, "medium": 0.3, "fast": 0.2}
KIND_FREQUENCIES = {"slow": 0.1, "medium": 0.3, "fast": 0.8}
WEATHER_PROBABILITIES = {"dry": 0.6, "wet": 0.3, "snow": 0.1}


def table_sines(
    entities: int = 500,
    min_length: int = 8,
    max_length: int = 24,
    missing: float = 0.1,
    seed: int = 0,
) -> pd.DataFrame:
    """The ground-truth table described in the module docstring.

    Args:
        entities: number of entities.
        min_length: the shortest length of the uniform length distribution, in steps.
        max_length: the longest length, in steps.
        missing: the probability that a ``value`` cell is missing.
        seed: seeds every draw.

    Returns:
        A long table: ``entity, date, kind, value, weather``, rows of each entity in time order.

    Raises:
        InputError: an argument out of range.
    """
    check_int("entities", entities)
    check_int("min_length", min_length)
    check_int("max_length", max_length, minimum=min_length)
    check_fraction("missing", missing)
    rng = np.random.default_rng(seed)
    kinds = rng.choice(list(KIND_PROBABILITIES), entities, p=list(KIND_PROBABILITIES.values()))
    lengths = rng.integers(min_length, max_length + 1, entities)
    phases = rng.uniform(0, 2 * np.pi, entities)
    starts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, entities), "D")
    entity = np.repeat(np.arange(entities), lengths)
    t = np.concatenate([np.arange(k) for k in lengths])
    frequency = np.asarray([KIND_FREQUENCIES[k] for k in kinds])[entity]
    value = np.sin(frequency * t + phases[entity])
    value[rng.random(len(value)) < missing] = np.nan
    weather = rng.choice(
        list(WEATHER_PROBABILITIES), len(value), p=list(WEATHER_PROBABILITIES.values())
    )
    return pd.DataFrame(
        {
            "entity": [f"s{k:04d}" for k in entity],
            "date": (starts[entity] + pd.to_timedelta(t, "D")).strftime("%Y-%m-%d"),
            "kind": kinds[entity],
            "value": value,
            "weather": weather,
        }
    )

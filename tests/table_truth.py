"""A synthetic packed table with known properties, made in the tests (no data files).

Each entity has a static category ``kind`` (``P(kind=1) = KIND_ONE``) that sets the period
(``PERIODS[kind]`` steps) and level (``LEVELS[kind]``) of a sine ``value`` with a random phase;
a length uniform in ``[MIN_LENGTH, SEQ_LEN]``; ``value`` missing at each present step with
probability ``MISSING_RATE``; and a categorical series ``state`` drawn i.i.d. with
``STATE_FREQUENCIES``.
"""

from __future__ import annotations

import math

import torch

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

"""Scores of generated packed tables against real ones: the checks DoppelGANger (Lin et al., 2020)
and the table GAN libraries use, each 0 for identical distributions and larger for worse.

All take packed batches ``(N, seq_len, C)`` and their ``channels`` (see
:mod:`torchgan_lstm.table_channels`); a generator's soft output is first snapped to the data's
hard values by :func:`~torchgan_lstm.table_channels.harden`, so an entity's length is the
number of steps its present flag is above 0.5 and a category is the largest of its channels.
A series cell counts where its entity is present (and, for a column with gaps, observed); a
static attribute counts once per entity.

- :func:`category_distance`: total-variation distance between category frequencies, mean over
  the categorical columns (series and static). In ``[0, 1]``.
- :func:`length_distance`: Wasserstein-1 distance between the length distributions, in steps,
  divided by ``seq_len``. In ``[0, 1]``.
- :func:`missing_rate_distance`: absolute difference of the missing rates, mean over the
  columns with gaps. In ``[0, 1]``.
- :func:`gap_length_distance`: absolute difference of the mean run length of the series' gaps,
  in steps, divided by ``seq_len``, mean over the series columns with gaps. In ``[0, 1]``.
- :func:`static_distance`: the static attributes' joint distribution: total-variation distance
  over the joint categories of the static categorical columns, and the Wasserstein-1 distance
  of each static numeric column (values in ``[0, 1]``); the mean of these. In ``[0, 1]``.
- :func:`attribute_series_distance`: DoppelGANger's attribute-series relation: per category of
  each static categorical column, the mean of each numeric series column, real against
  generated, absolute difference weighted by the category's real frequency (a category the
  generated set lacks counts 1). In ``[0, 1]``.
- :func:`autocorrelation_distance`: autocorrelation at lags ``1 .. lags`` of each numeric series
  column over valid step pairs within entities, mean absolute difference. In ``[0, 2]``.

:func:`table_report` gives them all, with the per-column values and the mean lengths.
"""

from __future__ import annotations

import torch

from .._validation import InputError, check_int
from ..table_channels import ChannelGroup, check_channels, harden, lengths
from .sequence_scores import SequenceArray, _pair

__all__ = [
    "attribute_series_distance",
    "autocorrelation_distance",
    "category_distance",
    "gap_length_distance",
    "length_distance",
    "missing_rate_distance",
    "static_distance",
    "table_report",
]


def _prepared(real: SequenceArray, fake: SequenceArray, channels: list[dict]):
    groups = check_channels(channels)
    real, fake = _pair(real, fake)
    if real.size(2) != groups[-1].stop:
        raise InputError(
            f"real and fake must have {groups[-1].stop} channels (the width of channels), got "
            f"{real.size(2)}"
        )
    return groups, harden(real, groups), harden(fake, groups)


def _needed(groups: list[ChannelGroup], score: str, **where) -> list[ChannelGroup]:
    found = [g for g in groups if all(getattr(g, k) in v for k, v in where.items())]
    if not found:
        wanted = ", ".join(f"{k} in {list(v)}" for k, v in where.items())
        raise InputError(f"{score} needs a channels group with {wanted}; channels has none")
    return found


def _valid(x: torch.Tensor, groups: list[ChannelGroup], g: ChannelGroup) -> torch.Tensor:
    """``(N, seq_len)`` booleans: where column ``g`` holds a value (static: the first step)."""
    observed = {(o.role, o.name): o for o in groups if o.kind == "observed"}
    if g.role == "series":
        valid = x[..., groups[-1].start] > 0.5
    else:
        valid = torch.zeros(x.shape[:2], dtype=torch.bool)
        valid[:, 0] = True
    if (g.role, g.name) in observed:
        valid = valid & (x[..., observed[(g.role, g.name)].start] > 0.5)
    return valid


def _total_variation(a: torch.Tensor, b: torch.Tensor, size: int) -> float:
    """Total variation between the frequencies of the integers ``a`` and ``b`` in ``[0, size)``."""
    if len(a) == 0 or len(b) == 0:
        return float(len(a) != len(b))
    p = torch.bincount(a, minlength=size).double() / len(a)
    q = torch.bincount(b, minlength=size).double() / len(b)
    return 0.5 * float((p - q).abs().sum())


def _wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> float:
    """Wasserstein-1 distance between the empirical distributions of ``a`` and ``b``."""
    if len(a) == 0 or len(b) == 0:
        return float(len(a) != len(b))
    a, b = a.double().sort().values, b.double().sort().values
    points = torch.cat([a, b]).sort().values
    cdf_a = torch.searchsorted(a, points, right=True).double() / len(a)
    cdf_b = torch.searchsorted(b, points, right=True).double() / len(b)
    return float(((cdf_a - cdf_b).abs()[:-1] * points.diff()).sum())


def _categories(x: torch.Tensor, valid: torch.Tensor, g: ChannelGroup) -> torch.Tensor:
    return x[..., g.slice].argmax(dim=-1)[valid]


def _category_distances(groups, real, fake) -> dict[str, float]:
    out = {}
    for g in _needed(groups, "category_distance", kind=("categorical",)):
        a = _categories(real, _valid(real, groups, g), g)
        b = _categories(fake, _valid(fake, groups, g), g)
        out[f"{g.role}/{g.name}"] = _total_variation(a, b, g.width)
    return out


def category_distance(real: SequenceArray, fake: SequenceArray, channels: list[dict]) -> float:
    """Total-variation distance between category frequencies, mean over categorical columns.

    Args:
        real: packed real tables ``(N, seq_len, C)``, ``N >= 2``.
        fake: packed generated tables ``(M, seq_len, C)``.
        channels: their layout.

    Returns:
        A distance in ``[0, 1]``; 0 when every column's frequencies agree.

    Raises:
        InputError: shapes that disagree, NaN, a bad ``channels``, or no categorical column.
    """
    values = _category_distances(*_prepared(real, fake, channels))
    return sum(values.values()) / len(values)


def length_distance(real: SequenceArray, fake: SequenceArray, channels: list[dict]) -> float:
    """Wasserstein-1 distance between the entities' length distributions, over ``seq_len``.

    Args:
        real: packed real tables ``(N, seq_len, C)``, ``N >= 2``.
        fake: packed generated tables ``(M, seq_len, C)``.
        channels: their layout.

    Returns:
        A distance in ``[0, 1]``: the mean number of steps a length must move, per ``seq_len``.

    Raises:
        InputError: as :func:`category_distance` (any ``channels`` has a present flag).
    """
    groups, real, fake = _prepared(real, fake, channels)
    return _wasserstein_1d(lengths(real, groups), lengths(fake, groups)) / real.size(1)


def _missing_rates(groups, x) -> dict[str, float]:
    out = {}
    for o in _needed(groups, "missing_rate_distance", kind=("observed",)):
        values = next(g for g in groups if g.name == o.name and g.role == o.role and g != o)
        present = _valid(x, [g for g in groups if g.kind != "observed"], values)
        observed = x[..., o.start] > 0.5
        cells = int(present.sum())
        out[f"{o.role}/{o.name}"] = 1 - float((observed & present).sum()) / cells if cells else 0.0
    return out


def missing_rate_distance(real: SequenceArray, fake: SequenceArray, channels: list[dict]) -> float:
    """Absolute difference of the missing rates, mean over the columns with gaps.

    A series column's rate is over its entities' present steps, a static one's over entities.

    Args:
        real: packed real tables ``(N, seq_len, C)``, ``N >= 2``.
        fake: packed generated tables ``(M, seq_len, C)``.
        channels: their layout.

    Returns:
        A distance in ``[0, 1]``.

    Raises:
        InputError: as :func:`category_distance`, or no ``observed`` group.
    """
    groups, real, fake = _prepared(real, fake, channels)
    a, b = _missing_rates(groups, real), _missing_rates(groups, fake)
    return sum(abs(a[k] - b[k]) for k in a) / len(a)


def _gap_lengths(groups, x) -> dict[str, float]:
    out = {}
    for o in _needed(groups, "gap_length_distance", kind=("observed",), role=("series",)):
        missing = (x[..., groups[-1].start] > 0.5) & (x[..., o.start] <= 0.5)
        starts = missing.clone()
        starts[:, 1:] &= ~missing[:, :-1]
        runs = int(starts.sum())
        out[o.name] = float(missing.sum()) / runs if runs else 0.0
    return out


def gap_length_distance(real: SequenceArray, fake: SequenceArray, channels: list[dict]) -> float:
    """Absolute difference of the mean gap run length (steps), over ``seq_len``.

    A gap is a run of present steps of one entity where a series column is missing; the mean
    is over the columns with gaps (0 for a set without gaps).

    Args:
        real: packed real tables ``(N, seq_len, C)``, ``N >= 2``.
        fake: packed generated tables ``(M, seq_len, C)``.
        channels: their layout.

    Returns:
        A distance in ``[0, 1]``.

    Raises:
        InputError: as :func:`category_distance`, or no series ``observed`` group.
    """
    groups, real, fake = _prepared(real, fake, channels)
    a, b = _gap_lengths(groups, real), _gap_lengths(groups, fake)
    return sum(abs(a[k] - b[k]) for k in a) / len(a) / real.size(1)


def _joint_codes(x: torch.Tensor, groups, categorical) -> torch.Tensor:
    """One integer per entity for its static categories together (a missing one: its own)."""
    code = torch.zeros(x.size(0), dtype=torch.long)
    for g in categorical:
        index = x[:, 0, g.slice].argmax(dim=-1) + 1
        index[~_valid(x, groups, g)[:, 0]] = 0
        code = code * (g.width + 1) + index
    return code


def _static_distances(groups, real, fake) -> dict[str, float]:
    static = _needed(groups, "static_distance", role=("static",), kind=("numeric", "categorical"))
    categorical = [g for g in static if g.kind == "categorical"]
    out = {}
    if categorical:
        codes = torch.cat(
            [_joint_codes(real, groups, categorical), _joint_codes(fake, groups, categorical)]
        )
        _, codes = codes.unique(return_inverse=True)
        size = int(codes.max()) + 1
        out["joint categories"] = _total_variation(codes[: len(real)], codes[len(real) :], size)
    for g in static:
        if g.kind == "numeric":
            a = real[:, 0, g.start][_valid(real, groups, g)[:, 0]]
            b = fake[:, 0, g.start][_valid(fake, groups, g)[:, 0]]
            out[g.name] = _wasserstein_1d(a, b)
    return out


def static_distance(real: SequenceArray, fake: SequenceArray, channels: list[dict]) -> float:
    """The static attributes' joint distribution, real against generated.

    The mean of: the total-variation distance over the joint categories of all static
    categorical columns (a missing value is a category of its own), and the Wasserstein-1
    distance of each static numeric column (over the entities where it is observed).

    Args:
        real: packed real tables ``(N, seq_len, C)``, ``N >= 2``.
        fake: packed generated tables ``(M, seq_len, C)``.
        channels: their layout.

    Returns:
        A distance in ``[0, 1]``.

    Raises:
        InputError: as :func:`category_distance`, or no static numeric or categorical column.
    """
    values = _static_distances(*_prepared(real, fake, channels))
    return sum(values.values()) / len(values)


def _column_means(x, groups, attribute, series) -> tuple[torch.Tensor, torch.Tensor]:
    """Per category of ``attribute``: its entities' count, and the mean of ``series``."""
    has = _valid(x, groups, attribute)[:, 0]
    category = x[:, 0, attribute.slice].argmax(dim=-1)
    valid = _valid(x, groups, series)
    counts, means = torch.zeros(attribute.width), torch.full((attribute.width,), float("nan"))
    for c in range(attribute.width):
        entities = has & (category == c)
        counts[c] = entities.sum()
        cells = valid & entities.unsqueeze(1)
        if cells.any():
            means[c] = x[..., series.start][cells].double().mean()
    return counts, means


def _attribute_series(groups, real, fake) -> dict[str, float]:
    attributes = _needed(
        groups, "attribute_series_distance", role=("static",), kind=("categorical",)
    )
    columns = _needed(groups, "attribute_series_distance", role=("series",), kind=("numeric",))
    out = {}
    for a in attributes:
        for s in columns:
            counts, real_means = _column_means(real, groups, a, s)
            _, fake_means = _column_means(fake, groups, a, s)
            seen = ~real_means.isnan()
            diff = (real_means - fake_means).abs().nan_to_num(1.0)[seen]
            weights = counts[seen] / counts[seen].sum()
            out[f"{a.name} -> {s.name}"] = float((diff * weights).sum())
    return out


def attribute_series_distance(
    real: SequenceArray, fake: SequenceArray, channels: list[dict]
) -> float:
    """DoppelGANger's attribute-series relation: per static category, each series' mean.

    For every static categorical column and numeric series column: the mean of the series
    column over the valid cells of the entities of each category, real against generated,
    absolute difference (1 where the generated set has no such cell), weighted by the
    category's share of the real entities; then the mean over the column pairs.

    Args:
        real: packed real tables ``(N, seq_len, C)``, ``N >= 2``.
        fake: packed generated tables ``(M, seq_len, C)``.
        channels: their layout.

    Returns:
        A distance in ``[0, 1]`` (numeric values are scaled to ``[0, 1]``).

    Raises:
        InputError: as :func:`category_distance`, or no static categorical column or no
            numeric series column.
    """
    values = _attribute_series(*_prepared(real, fake, channels))
    return sum(values.values()) / len(values)


def _autocorrelations(groups, x, lags: int) -> dict[str, torch.Tensor]:
    out = {}
    for s in _needed(groups, "autocorrelation_distance", role=("series",), kind=("numeric",)):
        valid = _valid(x, groups, s)
        values = x[..., s.start].double()
        centred = (values - values[valid].mean()) * valid if valid.any() else values * 0
        variance = (centred**2).sum() / valid.sum().clamp_min(1)
        acf = torch.zeros(lags, dtype=torch.double)
        for lag in range(1, lags + 1):
            pairs = valid[:, :-lag] & valid[:, lag:]
            if pairs.any() and variance > 0:
                products = (centred[:, :-lag] * centred[:, lag:])[pairs]
                acf[lag - 1] = products.mean() / variance
        out[s.name] = acf
    return out


def autocorrelation_distance(
    real: SequenceArray, fake: SequenceArray, channels: list[dict], lags: int = 5
) -> float:
    """Autocorrelation at lags ``1 .. lags`` of each numeric series column, compared.

    The autocorrelation at lag ``l`` pools the step pairs ``(t, t + l)`` of every entity where
    both steps are valid (present and observed), centred by the column's mean and divided by
    its variance over the valid cells.

    Args:
        real: packed real tables ``(N, seq_len, C)``, ``N >= 2``.
        fake: packed generated tables ``(M, seq_len, C)``.
        channels: their layout.
        lags: the largest lag, in ``[1, seq_len)``.

    Returns:
        The mean absolute difference over lags and columns, in ``[0, 2]``.

    Raises:
        InputError: as :func:`category_distance`, no numeric series column, or a bad ``lags``.
    """
    groups, real, fake = _prepared(real, fake, channels)
    if check_int("lags", lags) >= real.size(1):
        raise InputError(f"lags must be < seq_len={real.size(1)}, got {lags}")
    a, b = _autocorrelations(groups, real, lags), _autocorrelations(groups, fake, lags)
    return float(sum((a[k] - b[k]).abs().mean() for k in a) / len(a))


def table_report(
    real: SequenceArray, fake: SequenceArray, channels: list[dict], lags: int = 5
) -> dict[str, float]:
    """Every table score, with its per-column values and the mean lengths.

    Scores whose columns ``channels`` lacks are left out.

    Args:
        real: packed real tables ``(N, seq_len, C)``, ``N >= 2``.
        fake: packed generated tables ``(M, seq_len, C)``.
        channels: their layout.
        lags: the largest autocorrelation lag (fewer when ``seq_len`` is shorter).

    Returns:
        A flat dict of plain floats, e.g. ``{"length_distance": ..., "length_mean_real": ...,
        "category_distance/series/state": ...}``.

    Raises:
        InputError: as :func:`category_distance`, except that a missing kind of column skips
            its score.
    """
    groups, hard_real, hard_fake = _prepared(real, fake, channels)
    report = {
        "length_distance": length_distance(hard_real, hard_fake, channels),
        "length_mean_real": float(lengths(hard_real, groups).double().mean()),
        "length_mean_fake": float(lengths(hard_fake, groups).double().mean()),
    }
    parts = {
        "category_distance": lambda: _category_distances(groups, hard_real, hard_fake),
        "static_distance": lambda: _static_distances(groups, hard_real, hard_fake),
        "attribute_series_distance": lambda: _attribute_series(groups, hard_real, hard_fake),
    }
    for name, part in parts.items():
        try:
            values = part()
        except InputError:
            continue
        report[name] = sum(values.values()) / len(values)
        report.update({f"{name}/{column}": value for column, value in values.items()})
    for name, score in (
        ("missing_rate_distance", missing_rate_distance),
        ("gap_length_distance", gap_length_distance),
    ):
        try:
            report[name] = score(hard_real, hard_fake, channels)
        except InputError:
            continue
    try:
        lag = min(lags, hard_real.size(1) - 1)
        report["autocorrelation_distance"] = autocorrelation_distance(
            hard_real, hard_fake, channels, lag
        )
    except InputError:
        pass
    return report

"""Percentiles from histogram buckets, estimated as Prometheus's ``histogram_quantile`` does."""

from __future__ import annotations

import math
from collections.abc import Sequence

Buckets = Sequence[tuple[float, float]]
"""``(upper bound, cumulative count)`` pairs in increasing order, the last one ``+Inf``."""


def quantile(q: float, buckets: Buckets) -> float | None:
    """The ``q`` quantile (0..1) of the observations counted in ``buckets``; None if none.

    The rank ``q * total`` falls in one bucket; the value is interpolated linearly between
    that bucket's bounds (the first bucket starts at 0). A rank in the ``+Inf`` bucket
    gives the highest finite bound: the estimate cannot say more.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile is between 0 and 1, not {q}")
    if not buckets:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank and count > below:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = (bound if not math.isinf(bound) else lower), count
    return lower


def subtract(newer: Buckets, older: Buckets | None) -> list[tuple[float, float]]:
    """The bucket counts observed between two samples (``newer`` alone after a reset)."""
    if older is None or len(older) != len(newer) or older[-1][1] > newer[-1][1]:
        return list(newer)
    return [(bound, count - old) for (bound, count), (_, old) in zip(newer, older, strict=True)]


def merge(parts: Sequence[Buckets]) -> list[tuple[float, float]]:
    """Buckets of several series with the same bounds, added together."""
    merged: dict[float, float] = {}
    for buckets in parts:
        for bound, count in buckets:
            merged[bound] = merged.get(bound, 0.0) + count
    return sorted(merged.items())

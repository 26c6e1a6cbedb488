"""The dashboard's numbers: percentiles from histogram buckets (as Prometheus estimates them),
rates from counter deltas between snapshots, and the ring of snapshots, on a clock the test
drives."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dolmen.observability._dashboard import _red as red
from dolmen.observability._dashboard._quantiles import merge, quantile, subtract
from dolmen.observability._dashboard._sampler import Sampler, registry_reader
from dolmen.observability._metrics import Metrics

INF = math.inf


def test_a_quantile_is_interpolated_within_its_bucket() -> None:
    buckets = [(0.1, 5.0), (0.5, 10.0), (INF, 10.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.1)  # rank 5: the top of the first bucket
    assert quantile(0.25, buckets) == pytest.approx(0.05)  # half way into [0, 0.1]
    assert quantile(0.99, buckets) == pytest.approx(0.1 + 0.4 * 4.9 / 5)


def test_a_quantile_in_the_infinite_bucket_is_the_highest_finite_bound() -> None:
    assert quantile(0.9, [(0.1, 5.0), (1.0, 6.0), (INF, 10.0)]) == 1.0


def test_no_observation_has_no_quantile() -> None:
    assert quantile(0.5, [(0.1, 0.0), (INF, 0.0)]) is None
    assert quantile(0.5, []) is None


def test_a_quantile_is_between_0_and_1() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        quantile(1.5, [(INF, 1.0)])


def test_bucket_deltas_and_merges() -> None:
    newer = [(0.1, 7.0), (INF, 9.0)]
    assert subtract(newer, [(0.1, 5.0), (INF, 5.0)]) == [(0.1, 2.0), (INF, 4.0)]
    assert subtract(newer, [(0.1, 8.0), (INF, 10.0)]) == newer  # a reset: all of it is new
    assert subtract(newer, None) == newer
    assert merge([[(0.1, 1.0), (INF, 2.0)], [(0.1, 3.0), (INF, 3.0)]]) == [(0.1, 4.0), (INF, 5.0)]


def make_sampler(metrics: Metrics, keep_seconds: float = 900.0) -> Sampler:
    return Sampler(registry_reader(metrics.registry), keep_seconds)


def test_rates_errors_and_percentiles_per_route_come_from_two_snapshots() -> None:
    metrics = Metrics()
    sampler = make_sampler(metrics)
    metrics.request("GET", "/orders/{id}", 200, "orders", 0.003)  # before the window
    sampler.sample(100.0)
    for _ in range(90):
        metrics.request("GET", "/orders/{id}", 200, "orders", 0.003)
    for _ in range(10):
        metrics.request("GET", "/orders/{id}", 503, "orders", 0.3)
    metrics.request("POST", "/catalog/products", 201, "catalog", 0.02)
    sampler.sample(120.0)
    window = sampler.window(60)
    assert window is not None
    [catalog, orders] = red.routes(*window)  # by module
    assert (orders["module"], orders["method"], orders["route"]) == (
        "orders",
        "GET",
        "/orders/{id}",
    )
    assert orders["requests"] == 100
    assert orders["rate"] == pytest.approx(5.0)
    assert orders["errors"] == 10
    assert orders["error_rate"] == pytest.approx(0.5)
    assert orders["error_ratio"] == pytest.approx(0.1)
    assert 0.0025 < orders["p50"] <= 0.005  # the bucket of 3 ms
    assert 0.25 < orders["p95"] <= 0.5  # the bucket of 300 ms
    assert 0.25 < orders["p99"] <= 0.5
    assert catalog["rate"] == pytest.approx(0.05)
    modules = red.modules(*window)
    assert set(modules) == {"orders", "catalog"}
    assert modules["orders"]["requests"] == 100


def test_module_calls_and_event_counters_become_rates() -> None:
    metrics = Metrics()
    sampler = make_sampler(metrics)
    sampler.sample(0.0)
    for _ in range(4):
        metrics.call("orders", "catalog", "CatalogService.reserve", 0.001)
    metrics.handled.labels("orders.OrderPlaced", "billing.charge").inc(6)
    metrics.dead.labels("orders.OrderPlaced", "billing.ship").inc(2)
    sampler.sample(2.0)
    window = sampler.window(60)
    assert window is not None
    calls = red.calls(*window)
    assert calls["orders", "catalog"]["rate"] == pytest.approx(2.0)
    assert calls["orders", "catalog"]["p95"] is not None
    events = red.events(*window)
    assert events["orders.OrderPlaced", "billing.charge"]["handled"] == pytest.approx(3.0)
    assert events["orders.OrderPlaced", "billing.ship"]["dead"] == pytest.approx(1.0)


def test_the_window_is_the_oldest_snapshot_within_it_and_the_latest() -> None:
    metrics = Metrics()
    sampler = make_sampler(metrics)
    assert sampler.window(60) is None  # one snapshot is not enough for a rate
    for at in (0.0, 50.0, 100.0, 110.0):
        sampler.sample(at)
    window = sampler.window(60)
    assert window is not None
    assert [s.at for s in window] == [50.0, 110.0]
    narrow = sampler.window(1)  # narrower than the sampling: the last two snapshots
    assert narrow is not None
    assert [s.at for s in narrow] == [100.0, 110.0]
    assert [(a.at, b.at) for a, b in sampler.pairs(60)] == [(50.0, 100.0), (100.0, 110.0)]


def test_the_ring_keeps_only_the_last_minutes() -> None:
    metrics = Metrics()
    sampler = make_sampler(metrics, keep_seconds=60)
    for at in range(0, 301, 5):
        sampler.sample(float(at))
    assert sampler.snapshots[0].at == 240.0  # one at the window's start, so the window is whole
    assert sampler.snapshots[-1].at == 300.0


def test_a_clock_that_goes_back_keeps_the_ring_in_order() -> None:
    sampler = make_sampler(Metrics())
    for at in (10.0, 20.0, 30.0):
        sampler.sample(at)
    sampler.sample(15.0)
    assert [s.at for s in sampler.snapshots] == [10.0, 15.0]


def test_a_restarted_counter_counts_from_zero() -> None:
    first, second = Metrics(), Metrics()
    first.request("GET", "/x", 200, "m", 0.001)
    first.request("GET", "/x", 200, "m", 0.001)
    second.request("GET", "/x", 200, "m", 0.001)  # the process restarted: 1 < 2
    older = Sampler(registry_reader(first.registry), 60).sample(0.0)
    latest = Sampler(registry_reader(second.registry), 60).sample(10.0)
    [line] = red.routes(older, latest)
    assert line["requests"] == 1


def test_the_sparklines_hold_each_interval_s_rates_per_module() -> None:
    metrics = Metrics()
    sampler = make_sampler(metrics)
    sampler.sample(0.0)
    metrics.request("GET", "/a", 200, "catalog", 0.001)  # catalog only, in the first interval
    sampler.sample(10.0)
    for status in (200, 500, 500, 200):
        metrics.request("GET", "/b", status, "orders", 0.001)
    sampler.sample(20.0)
    series = red.series(sampler.pairs(60))
    assert series["catalog"] == [[10.0, 0.1, 0.0], [20.0, 0.0, 0.0]]
    assert series["orders"] == [[20.0, 0.4, 0.2]]  # from its first request on


@given(
    counts=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=14),
    q1=st.floats(min_value=0, max_value=1),
    q2=st.floats(min_value=0, max_value=1),
)
def test_quantiles_grow_with_q_and_stay_within_the_bounds(
    counts: list[int], q1: float, q2: float
) -> None:
    bounds = [0.001 * 2**i for i in range(len(counts))]
    cumulative = list(itertools.accumulate(counts))
    buckets = [*zip(bounds, map(float, cumulative), strict=True), (INF, float(cumulative[-1]))]
    low, high = quantile(min(q1, q2), buckets), quantile(max(q1, q2), buckets)
    if cumulative[-1] == 0:
        assert low is None
        assert high is None
        return
    assert low is not None
    assert high is not None
    assert 0 <= low <= high <= bounds[-1]

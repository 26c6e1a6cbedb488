"""What the dashboard costs, in CPU time: one sample of the metrics, one poll of its numbers.

    .venv/bin/python bench/dashboard.py

A registry like a busy app's (20 routes in 5 modules, 3 statuses each: 60 request series with
their histograms), 181 snapshots (15 minutes sampled every 5 s, the defaults). A sample runs in
the background every ``sample_seconds``; a poll runs every 3 s per open dashboard. The check
the access middleware makes for the dashboard's path is measured too (per request).
"""

from __future__ import annotations

import random
import time

from dolmen.observability._dashboard import _red as red
from dolmen.observability._dashboard._sampler import Sampler, registry_reader
from dolmen.observability._metrics import Metrics

SNAPSHOTS = 181
ROUTES = [(f"/r{i}/{{id}}", f"m{i % 5}") for i in range(20)]
POLLS = 20
CHECKS = 2_000_000


def sampling() -> tuple[float, float]:
    """CPU seconds of one sample, and of one poll over the whole window."""
    metrics = Metrics()
    sampler = Sampler(registry_reader(metrics.registry), 900)
    spent = 0.0
    for k in range(SNAPSHOTS):
        for route, module in ROUTES:
            for status in (200, 404, 500):
                metrics.request("GET", route, status, module, random.random() / 10)
        started = time.process_time()
        sampler.sample(k * 5.0)
        spent += time.process_time() - started
    started = time.process_time()
    for _ in range(POLLS):
        window = sampler.window(900)
        assert window is not None
        red.routes(*window)
        red.modules(*window)
        red.series(sampler.pairs(900))
        red.calls(*window)
        red.events(*window)
    return spent / SNAPSHOTS, (time.process_time() - started) / POLLS


class _Dashboard:
    prefix = "/_dolmen"


class _Observer:
    dashboard = _Dashboard()


def path_check() -> float:
    """CPU seconds per request of the middleware's check (minus an empty call's)."""
    observer, scope = _Observer(), {"path": "/catalog/products/LAMP"}

    def check() -> bool:
        dashboard = observer.dashboard
        return dashboard is not None and scope["path"].startswith(dashboard.prefix)

    def empty() -> bool:
        return False

    timings = []
    for function in (check, empty, check, empty):
        started = time.process_time()
        for _ in range(CHECKS):
            function()
        timings.append(time.process_time() - started)
    return (timings[0] + timings[2] - timings[1] - timings[3]) / 2 / CHECKS


def main() -> None:
    sample, poll = sampling()
    print(f"one sample: {sample * 1e3:.1f} ms CPU (every 5 s: {sample / 5 * 100:.2f} % of a core)")
    print(f"one poll of {SNAPSHOTS} snapshots: {poll * 1e3:.1f} ms CPU")
    print(f"the path check: {path_check() * 1e9:.0f} ns CPU per request")


if __name__ == "__main__":
    main()

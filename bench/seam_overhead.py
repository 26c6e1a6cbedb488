"""What the cross-module seam costs a call, against a direct call of the same service.

Module ``orders`` calls ``price()`` on module ``catalog``'s public ``Pricing`` service, from
inside a coroutine (``await pricing.price(sku)`` in a loop of CALLS calls), as:

- ``direct``: the service built by hand, no container;
- ``no interceptor``: the service as ``orders`` resolves it from a container with none;
- ``pass-through resolve``: one placement hook that awaits ``build()`` (no proxy);
- ``one pass-through call``: one ``call`` interceptor that awaits ``proceed()`` (the proxy);
- ``three pass-through calls``: three of them.

Each variant is timed by ``timeit`` once per round, the variants interleaved within a round
in a shuffled order so that a busy moment of the machine hits them alike. The clock is the
CPU time of the measuring thread (``time.thread_time``): the time other processes take the
core from it does not count, so the figures hold on a busy machine (``--clock wall`` uses
``time.perf_counter`` instead). The script prints the median over the rounds, in
microseconds per call, with the ratio to and the difference from ``direct``. It also times
one cross-module resolution per variant (a fresh unit of work each time).

    .venv/bin/python bench/seam_overhead.py [--rounds 25] [--calls 20000] [--clock thread]

Results: docs/benchmarks.md, section "cross-module seam".
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from dolmen.di import (
    Container,
    CrossModuleResolution,
    Interceptor,
    InterceptorRole,
    ModuleCall,
    provide,
)

ROOT = Path(__file__).resolve().parent.parent


class Pricing(Protocol):
    """Module catalog's public contract."""

    async def price(self, sku: str) -> int: ...


class FixedPricing:
    """Catalog's implementation: as cheap as a coroutine method gets."""

    async def price(self, sku: str) -> int:
        return 3


async def pass_resolve(
    resolution: CrossModuleResolution, build: Callable[[], Awaitable[Any]]
) -> Any:
    return await build()


def pass_call() -> Callable[[ModuleCall, Callable[[], Awaitable[Any]]], Awaitable[Any]]:
    async def passthrough(call: ModuleCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
        return await proceed()

    return passthrough


VARIANTS: dict[str, list[Interceptor] | None] = {
    "direct": None,
    "no interceptor": [],
    "pass-through resolve": [
        Interceptor("placement", resolve=pass_resolve, role=InterceptorRole.PLACEMENT)
    ],
    "one pass-through call": [Interceptor("tracing", call=pass_call())],
    "three pass-through calls": [Interceptor(f"call{i}", call=pass_call()) for i in range(3)],
}


def drive(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends, without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("the benchmark's coroutine suspended")


def container(interceptors: list[Interceptor]) -> Container:
    built = Container({"catalog": frozenset(), "orders": frozenset({"catalog"})}, interceptors)
    built.register("catalog", provide(Pricing, FixedPricing, public=True))
    return built


def service(interceptors: list[Interceptor] | None) -> Any:
    if interceptors is None:
        return FixedPricing()
    return drive(container(interceptors).scope().get(Pricing, "orders"))


async def calls(pricing: Any, count: int) -> None:
    for _ in range(count):
        await pricing.price("LAMP")


def run_calls(pricing: Any, count: int) -> None:
    drive(calls(pricing, count))


def resolutions(interceptors: list[Interceptor] | None) -> Callable[[], Any]:
    if interceptors is None:
        return lambda: FixedPricing()
    built = container(interceptors)
    return lambda: drive(built.scope().get(Pricing, "orders"))


CLOCKS = {"thread": time.thread_time, "wall": time.perf_counter}


def measure(
    rounds: int, count: int, clock: Callable[[], float]
) -> tuple[dict[str, float], dict[str, float]]:
    services = {label: service(interceptors) for label, interceptors in VARIANTS.items()}
    resolvers = {label: resolutions(interceptors) for label, interceptors in VARIANTS.items()}
    call_times: dict[str, list[float]] = {label: [] for label in VARIANTS}
    resolve_times: dict[str, list[float]] = {label: [] for label in VARIANTS}
    order = list(VARIANTS)
    shuffle = random.Random(14).shuffle
    for _ in range(rounds):
        shuffle(order)
        for label in order:
            run = functools.partial(run_calls, services[label], count)
            seconds = timeit.timeit(run, number=1, timer=clock)
            call_times[label].append(seconds / count * 1e6)
        for label in order:
            seconds = timeit.timeit(resolvers[label], number=count // 10, timer=clock)
            resolve_times[label].append(seconds / (count // 10) * 1e6)
    return (
        {label: statistics.median(times) for label, times in call_times.items()},
        {label: statistics.median(times) for label, times in resolve_times.items()},
    )


def table(title: str, medians: dict[str, float]) -> str:
    direct = medians["direct"]
    lines = [
        f"| {title} | µs | ratio to direct | µs more than direct |",
        "|---|---:|---:|---:|",
    ]
    for label, value in medians.items():
        lines.append(f"| {label} | {value:.3f} | {value / direct:.2f}x | {value - direct:+.3f} |")
    return "\n".join(lines)


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="thread")
    args = parser.parse_args()
    per_call, per_resolution = measure(args.rounds, args.calls, CLOCKS[args.clock])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"commit {commit()}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, load {load:.2f}, {args.rounds} rounds of {args.calls} calls, "
        f"{args.clock} clock (medians)\n"
    )
    print(table("one call of price()", per_call))
    print()
    print(table("one resolution (first in its unit of work)", per_resolution))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

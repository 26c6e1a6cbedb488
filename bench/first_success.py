"""Time to first success with ``dolmen new``: from nothing to a project's server answering, and
from ``dolmen new module`` to the new module answering on its route.

Installation is excluded: the project runs on this environment's Dolmen (as after
``./scripts/run`` has set up its ``.venv`` once). Each round, in a fresh scratch folder:

1. project: ``dolmen new project`` starts the clock, then the steps of the project's
   ``scripts/run`` after its set-up (every ``dolmen db`` step the project needs first, then
   ``dolmen run --reload``); the clock stops when ``GET /notes`` answers 200.
2. module: with that server still running (``--reload``, as in development),
   ``dolmen new module`` starts the clock; it stops when ``GET /<module>`` answers 200 (the
   server restarted on the new files, and the app lists the module).

Medians and maxima over the rounds, with each step's share.

    .venv/bin/python bench/first_success.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

DOLMEN = str(Path(sys.executable).with_name("dolmen"))
PROJECT = "bench_app"
MODULE = "billing"
TIMEOUT = 120.0
GOALS = {"project": 60.0, "module": 10.0}


@dataclass
class Round:
    new_project: float
    setup: float
    serving: float
    new_module: float
    module_answering: float

    @property
    def project(self) -> float:
        return self.new_project + self.setup + self.serving

    @property
    def module(self) -> float:
        return self.new_module + self.module_answering


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLMEN_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def run(*args: str, cwd: Path) -> float:
    """Run a command to completion; its duration in seconds."""
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=environment(), check=True, capture_output=True)
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> float:
    """Seconds until ``url`` answers 200."""
    start = time.perf_counter()
    deadline = start + TIMEOUT
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(url).status_code == 200:
                    return time.perf_counter() - start
            time.sleep(0.02)
    raise RuntimeError(f"{url} did not answer within {TIMEOUT:.0f} s:\n{log.read_text()}")


@contextlib.contextmanager
def serving(project: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    log = project / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [DOLMEN, "run", f"{PROJECT}.app:app", "--port", str(port), "--reload"],
            cwd=project, env=environment(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def setup_steps(project: Path) -> list[list[str]]:
    """What the project's scripts/run does between its set-up and ``dolmen run``."""
    del project
    return [[DOLMEN, "db", "upgrade"]]


def one_round(scratch: Path) -> Round:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    project = folder / PROJECT
    new_project = run(DOLMEN, "new", "project", PROJECT, cwd=folder)
    setup = sum(run(*step, cwd=project) for step in setup_steps(project))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(project, port) as process:
        log = project / "server.log"
        serving_time = wait_for(f"{base}/notes", process, log)
        new_module = run(DOLMEN, "new", "module", MODULE, cwd=project)
        module_answering = wait_for(f"{base}/{MODULE}", process, log)
    shutil.rmtree(folder, ignore_errors=True)
    return Round(new_project, setup, serving_time, new_module, module_answering)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dolmen-first-success-") as scratch:
        rounds = [one_round(Path(scratch)) for _ in range(args.rounds)]
    print(f"{args.rounds} rounds; seconds, median (max)")
    for field in ("new_project", "setup", "serving", "project", "new_module",
                  "module_answering", "module"):  # fmt: skip
        values = [getattr(r, field) for r in rounds]
        goal = f"   goal < {GOALS[field]:.0f} s" if field in GOALS else ""
        print(f"  {field:<17} {statistics.median(values):6.2f} ({max(values):6.2f}){goal}")


if __name__ == "__main__":
    main()

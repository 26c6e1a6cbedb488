"""End-to-end fixtures: the real shop served by ``dolmen run`` in a subprocess.

Each server gets a free port on 127.0.0.1 and its own database (a SQLite file in a temporary
folder, or a fresh PostgreSQL database). Start-ups cost about a second each, so the shared
servers are session-scoped: tests that use them pick unique SKUs and e-mail addresses instead of
relying on an empty database. A test that needs a fresh shop or other settings starts its own
with the ``launch_shop`` fixture.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_postgres_database

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0
KILL_TIMEOUT = 10.0  # seconds for the processes of a SIGKILLed server to be gone
START_ATTEMPTS = 3  # a free port can be taken between our probe and the server's bind
START_LINE = "app shop started"
"""What each process serving the shop logs once, when the app has started in it."""


@dataclass
class ShopServer:
    """A running shop: its base URL, its process and the file its output goes to."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace")


LaunchShop = Callable[..., AbstractContextManager[ShopServer]]


def _dolmen_executable() -> str:
    beside_python = Path(sys.executable).with_name("dolmen")
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("dolmen")
    if found is None:
        pytest.fail("the 'dolmen' command is not installed; run: pip install -e '.[dev]'")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shop_command(port: int, options: Sequence[str] = ()) -> list[str]:
    """``dolmen run`` serving the example shop on 127.0.0.1:``port``, with more ``options``."""
    return [_dolmen_executable(), "run", "shop.app:app", "--app-dir", str(EXAMPLES),
            "--host", "127.0.0.1", "--port", str(port), *options]  # fmt: skip


def start_server(
    command: Sequence[str], folder: Path, env: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Start ``command`` in a process group of its own, its output going to ``log_path``.

    With ``--workers``, the server is a parent process and its workers: :func:`kill_server`
    kills the whole group.
    """
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def running_in_group(group: int) -> list[int]:
    """The processes of process group ``group`` still running (not counting zombies)."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: ask the kernel whether the group has any process left
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return []
        return [group]
    found = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended meanwhile
            continue
        # "pid (command) state ppid pgrp ...", where the command may hold spaces and ")"
        state, _, group_id = text[text.rindex(")") + 2 :].split()[:3]
        if int(group_id) == group and state not in ("Z", "X"):
            found.append(int(stat.parent.name))
    return found


def left_in_group(group: int, within: float) -> list[int]:
    """The processes of ``group`` still running after waiting up to ``within`` seconds.

    A process ends a moment after its parent or a signal says so (a worker finishing its
    shutdown, multiprocessing's resource tracker seeing its parent gone, the kernel
    delivering SIGKILL): wait for the group to empty instead of looking once.
    """
    deadline = time.monotonic() + within
    while (survivors := running_in_group(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return survivors


def kill_server(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server's whole process group; fail if any of its processes survives."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=KILL_TIMEOUT)
    if survivors := left_in_group(process.pid, KILL_TIMEOUT):
        raise RuntimeError(f"processes {survivors} of the killed server survived SIGKILL")


def _server_env(database_url: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without its DOLMEN_ settings, plus the server's own."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DOLMEN_") or name.startswith("DOLMEN_TEST_")
    }
    # The shop on its migrations, applied at start-up by each process in turn.
    env.update(
        PYTHONUNBUFFERED="1",
        DOLMEN_DATABASE_URL=database_url,
        DOLMEN__APP__DATABASE_SCHEMA="migrate",
    )
    env.update(extra)
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=SHUTDOWN_TIMEOUT)
    if process.returncode is None or left_in_group(process.pid, SHUTDOWN_TIMEOUT):
        kill_server(process)  # it did not stop, or left workers behind


def answers_healthz(url: str, process: subprocess.Popen[bytes]) -> bool | None:
    """True once ``url``/healthz answers 200; False if the process exits first; None when
    neither happens within STARTUP_TIMEOUT."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(base_url=url, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            with contextlib.suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    return True
            time.sleep(0.05)
    return None


def workers_in(options: Sequence[str]) -> int:
    """How many processes serve with these options of ``dolmen run`` (``--workers N``)."""
    if "--workers" in options:
        return int(options[list(options).index("--workers") + 1])
    return 1


def all_started(log_path: Path, process: subprocess.Popen[bytes], workers: int) -> bool | None:
    """True once the app has started in each of the ``workers`` processes (their START_LINE
    is in the output); False if the server exits first; None after STARTUP_TIMEOUT."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if log_path.read_text(errors="replace").count(START_LINE) >= workers:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return None


def _wait_until_healthy(server: ShopServer, workers: int = 1) -> bool:
    """True once /healthz answers 200 and every worker has started the app; False if the
    process exits first. Fails on timeout."""
    healthy = answers_healthz(server.url, server.process)
    if healthy:
        healthy = all_started(server.log_path, server.process, workers)
    if healthy is not None:
        return healthy
    _stop(server.process)
    pytest.fail(
        f"the shop did not answer /healthz, or not all its {workers} workers started, within "
        f"{STARTUP_TIMEOUT:.0f}s; its output:\n"
        f"{server.output()}"
    )


@contextlib.contextmanager
def run_shop(
    folder: Path,
    database_url: str | None = None,
    env: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
    *,
    tracebacks_expected: bool = False,
) -> Iterator[ShopServer]:
    """Serve the shop from ``folder`` (SQLite file there unless ``database_url``); stop it after.

    ``options`` are more options of ``dolmen run`` (``["--workers", "2"]``).
    ``tracebacks_expected``: the test breaks something on purpose (cuts the broker), whose
    warnings carry tracebacks; the server must still shut down cleanly.

    On leaving, the server must shut down cleanly, with no traceback in its output
    (event handlers run in the background, so a failing one shows up only there).
    """
    url = database_url or f"sqlite:///{folder / 'shop.db'}"
    server_env = _server_env(url, env or {})
    log_path = folder / "server.log"
    for attempt in range(1, START_ATTEMPTS + 1):
        port = _free_port()
        process = start_server(shop_command(port, options), folder, server_env, log_path)
        server = ShopServer(f"http://127.0.0.1:{port}", process, log_path)
        try:
            healthy = _wait_until_healthy(server, workers_in(options))
        except BaseException:
            _stop(process)
            raise
        if healthy:
            break
        _stop(process)
        output = server.output()
        if "address already in use" not in output.lower() or attempt == START_ATTEMPTS:
            pytest.fail(f"the shop exited with code {process.returncode}; its output:\n{output}")
    try:
        yield server
    finally:
        _stop(server.process)
    output = server.output()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: -SIGTERM is clean.
    clean_exit = server.process.returncode in (0, -signal.SIGTERM)
    traceback = "Traceback" in output and not tracebacks_expected
    if not clean_exit or "Application shutdown complete" not in output or traceback:
        print(f"--- shop server output ({server.url}) ---\n{output}")
        pytest.fail(
            f"the shop at {server.url} did not shut down cleanly (exit code "
            f"{server.process.returncode}) or logged a traceback; its output is printed above"
        )


@pytest.fixture(scope="session")
def launch_shop(tmp_path_factory: pytest.TempPathFactory) -> LaunchShop:
    """``with launch_shop(env={...}) as server:`` serves a fresh shop (on SQLite by default)."""

    def launch(
        database_url: str | None = None,
        env: Mapping[str, str] | None = None,
        options: Sequence[str] = (),
    ) -> AbstractContextManager[ShopServer]:
        return run_shop(tmp_path_factory.mktemp("shop"), database_url, env, options)

    return launch


@pytest.fixture(scope="session")
def sqlite_shop(launch_shop: LaunchShop) -> Iterator[ShopServer]:
    """The shop on a SQLite file, shared by the tests of the session."""
    with launch_shop() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_shop(launch_shop: LaunchShop) -> Iterator[ShopServer]:
    """The shop on a fresh PostgreSQL database, shared by the tests of the session."""
    with fresh_postgres_database("dolmen_e2e") as url, launch_shop(database_url=url) as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest) -> ShopServer:
    """The shared shop, once on SQLite and once on PostgreSQL."""
    server: ShopServer = request.getfixturevalue(f"{request.param}_shop")
    return server


@pytest.fixture
def client(shop: ShopServer) -> Iterator[httpx.Client]:
    """An HTTP client for the shop (on both databases)."""
    with httpx.Client(base_url=shop.url, timeout=10.0) as client:
        yield client


@pytest.fixture
def sqlite_client(sqlite_shop: ShopServer) -> Iterator[httpx.Client]:
    """An HTTP client for the shop on SQLite, for checks the database plays no part in."""
    with httpx.Client(base_url=sqlite_shop.url, timeout=10.0) as client:
        yield client


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Show the output of the shop a test talked to when the test fails."""
    report = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, ShopServer):
                report.sections.append((f"shop server output ({value.url})", value.output()))
    return report

"""Helpers of the crash test: a shop server that can be killed with SIGKILL and started again,
and a read-only view of its database (SQLite file or PostgreSQL) for the final checks.

The server is ``dolmen run shop.app:app`` as in ``conftest.py`` (whose helpers it reuses), but
each incarnation gets a new free port and its own log file, and the server is killed without
warning instead of stopped: no lifespan shutdown, no lease given back, no graceful anything.
With ``--workers``, the kill takes the whole server at once, its parent process and every
worker (its process group), and fails if any of them survives.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import make_url

from tests.e2e.conftest import (
    SHUTDOWN_TIMEOUT,
    START_ATTEMPTS,
    STARTUP_TIMEOUT,
    _free_port,
    _server_env,
    all_started,
    answers_healthz,
    kill_server,
    left_in_group,
    running_in_group,
    shop_command,
    start_server,
    workers_in,
)


class ShopCrashError(RuntimeError):
    """The shop could not be started (or stopped) as the crash test needs."""


@dataclass
class Incarnation:
    """One run of the server process: from its start to its death."""

    number: int
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    started_in: float = 0.0
    """Seconds from spawning the process to its first 200 on /healthz."""

    def output(self) -> str:
        """Everything this incarnation printed."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class CrashableShop:
    """The shop served from ``folder`` on ``database_url``; kill it and start it again at will.

    ``options`` are more options of ``dolmen run`` (``["--workers", "2"]``). :meth:`close`
    kills whatever process is still alive: call it in a ``finally`` (the ``crashable_shop``
    fixture does), so no server outlives the test.
    """

    folder: Path
    database_url: str
    env: Mapping[str, str] = field(default_factory=dict)
    options: Sequence[str] = ()
    incarnations: list[Incarnation] = field(default_factory=list)
    closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def current(self) -> Incarnation:
        """The latest incarnation (alive or not)."""
        if not self.incarnations:
            raise ShopCrashError("the shop was never started")
        return self.incarnations[-1]

    @property
    def url(self) -> str:
        """The base URL of the latest incarnation."""
        return self.current.url

    def alive(self) -> bool:
        """Whether the latest incarnation's process is running."""
        return bool(self.incarnations) and self.current.process.poll() is None

    def start(self) -> Incarnation:
        """Start a new server on the same database; return once /healthz answers and the app
        has started in each worker."""
        if self.alive():
            raise ShopCrashError(f"the shop at {self.url} is still running")
        server_env = _server_env(self.database_url, self.env)
        for attempt in range(1, START_ATTEMPTS + 1):
            number = len(self.incarnations) + 1
            port = _free_port()
            log_path = self.folder / f"server-{number}.log"
            command = shop_command(port, self.options)
            began = time.monotonic()
            with self._lock:  # close() from the test's teardown cannot miss this process
                if self.closed:
                    raise ShopCrashError("the shop was closed; it starts no new process")
                process = start_server(command, self.folder, server_env, log_path)
                incarnation = Incarnation(number, f"http://127.0.0.1:{port}", process, log_path)
                self.incarnations.append(incarnation)
            try:
                healthy = _wait_until_healthy(incarnation, workers_in(self.options))
            except BaseException:
                _kill(process)
                raise
            if healthy:
                incarnation.started_in = time.monotonic() - began
                return incarnation
            _kill(process)
            output = incarnation.output()
            if "address already in use" not in output.lower() or attempt == START_ATTEMPTS:
                raise ShopCrashError(
                    f"the shop exited with code {process.returncode} at start-up; its output:\n"
                    f"{output}"
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def kill(self) -> int:
        """SIGKILL the running server, all its processes at once: they die wherever they are,
        mid-request or mid-handler. Returns how many processes it killed."""
        if not self.alive():
            raise ShopCrashError("there is no running shop to kill")
        process = self.current.process
        killed = len(running_in_group(process.pid))
        _kill(process)
        return killed

    def stop(self) -> int:
        """Stop the running server gracefully (SIGTERM to its parent process); its exit code."""
        process = self.current.process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                _kill(process)
                raise ShopCrashError(
                    f"the shop did not stop within {SHUTDOWN_TIMEOUT:.0f}s of SIGTERM; killed it"
                ) from None
        if survivors := left_in_group(process.pid, SHUTDOWN_TIMEOUT):
            _kill(process)
            raise ShopCrashError(
                f"processes {survivors} were still running {SHUTDOWN_TIMEOUT:.0f}s after the "
                "server's parent exited; killed"
            )
        return int(process.returncode)

    def close(self) -> None:
        """Kill every process this shop started that is still running; start no other."""
        with self._lock:
            self.closed = True
            processes = [incarnation.process for incarnation in self.incarnations]
        for process in processes:
            _kill(process)

    def output(self, tail: int = 60) -> str:
        """The last ``tail`` lines printed by each incarnation."""
        parts = []
        for incarnation in self.incarnations:
            lines = incarnation.output().splitlines()
            shown = "\n".join(lines[-tail:])
            parts.append(
                f"--- incarnation {incarnation.number} ({incarnation.url}, exit code "
                f"{incarnation.process.returncode}), last {min(tail, len(lines))} of "
                f"{len(lines)} lines ---\n{shown}"
            )
        return "\n".join(parts)

    def count_in_output(self, text: str) -> int:
        """How many lines of all incarnations' output contain ``text``."""
        return sum(
            text in line
            for incarnation in self.incarnations
            for line in incarnation.output().splitlines()
        )

    def find_in_output(self, pattern: str) -> list[str]:
        """The first group of every match of the regular expression ``pattern``, in order."""
        return [
            match.group(1)
            for incarnation in self.incarnations
            for match in re.finditer(pattern, incarnation.output())
        ]

    def exceptions_in_output(self) -> list[str]:
        """The closing line (``Type: message``) of every traceback the servers printed."""
        found = []
        for incarnation in self.incarnations:
            in_traceback = False
            for line in incarnation.output().splitlines():
                if line.startswith("Traceback (most recent call last):"):
                    in_traceback = True
                elif in_traceback and line and not line[0].isspace():
                    found.append(line)
                    in_traceback = False
        return found


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        kill_server(process)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        raise ShopCrashError(str(error)) from None


def _wait_until_healthy(incarnation: Incarnation, workers: int) -> bool:
    """True once /healthz answers 200 and every worker has started the app; False if the
    process exits first; raises on timeout."""
    healthy = answers_healthz(incarnation.url, incarnation.process)
    if healthy:
        healthy = all_started(incarnation.log_path, incarnation.process, workers)
    if healthy is not None:
        return healthy
    raise ShopCrashError(
        f"the shop did not answer /healthz, or not all its {workers} workers started, within "
        f"{STARTUP_TIMEOUT:.0f}s; its output:\n{incarnation.output()}"
    )


class ShopDatabase:
    """Reads the shop's tables straight from its database, bypassing the server.

    On SQLite with the standard library's ``sqlite3`` (tables ``<module>__<table>``); on
    PostgreSQL with asyncpg (the same tables, in the schema ``<module>``).
    """

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.is_sqlite = url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if not url.database:
                raise ValueError(f"no SQLite file in {database_url!r}")
            self.path = Path(url.database)
            self.dsn = ""
        else:
            self.path = Path()
            self.dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)

    def table(self, module: str, name: str) -> str:
        """The SQL name of ``module``'s table ``name``."""
        return f"{module}__{name}" if self.is_sqlite else f'"{module}"."{module}__{name}"'

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query (placeholders ``$1``, ``$2``... on both databases); all its rows."""
        if self.is_sqlite:
            return await asyncio.to_thread(self._sqlite_rows, sql.replace("$", "?"), params)
        connection = await asyncpg.connect(self.dsn, timeout=10)
        try:
            return [tuple(row) for row in await connection.fetch(sql, *params, timeout=30)]
        finally:
            await connection.close(timeout=10)

    def _sqlite_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            return list(connection.execute(sql, tuple(params)).fetchall())
        finally:
            connection.close()

    async def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (None when there is none)."""
        found = await self.rows(sql, params)
        return found[0][0] if found else None

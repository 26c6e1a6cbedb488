"""The unit tier runs in this process: a test that starts a process or a server fails.

Tests that start processes (``dolmen`` commands, forked workers, pools) or servers live in
tests/integration or tests/e2e, so that ``pytest tests/unit`` stays a few seconds.
"""

from __future__ import annotations

import multiprocessing.process
import os
import socket
import subprocess
from typing import Any, NoReturn

import pytest

ADVICE = "unit tests run in-process; move this test to tests/integration or tests/e2e"


@pytest.fixture(autouse=True)
def _no_process_or_server(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(what: str) -> Any:
        def refused(*_args: object, **_kwargs: object) -> NoReturn:
            raise RuntimeError(f"a unit test {what}: {ADVICE}")

        return refused

    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse("started a process"))
    monkeypatch.setattr(os, "fork", refuse("forked a process"))
    monkeypatch.setattr(
        multiprocessing.process.BaseProcess, "start", refuse("started a worker process")
    )
    monkeypatch.setattr(socket.socket, "listen", refuse("started a server"))

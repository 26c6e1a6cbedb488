"""Run the dolmen command in a process of its own, as a user would, with a clean environment.

The process is forked from an interpreter that imported Dolmen's dependencies once
(:mod:`tests.preloaded_python`): a fresh one paid 0.8 s of CPU for them at every command.
"""

from __future__ import annotations

import atexit
import os
import subprocess
from pathlib import Path

from tests.preloaded_python import PreloadedPython

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
_STARTED: list[PreloadedPython] = []


def dolmen(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``dolmen ARGS`` in ``cwd``, without the caller's DOLMEN_ variables, plus ``env``.

    It keeps ``DOLMEN__APP__DATABASE_SCHEMA`` (tables created at start: see tests/conftest.py).
    """
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DOLMEN_") or k == "DOLMEN__APP__DATABASE_SCHEMA"
    }
    return _interpreter(clean).run(
        ["-c", "from dolmen.cli import main; main()", *args], cwd, {**clean, **(env or {})}, 60
    )


def _interpreter(env: dict[str, str]) -> PreloadedPython:
    """This process's preloaded interpreter for the commands, started at the first with its
    environment (a later command's own environment is applied in its process)."""
    if not _STARTED:
        _STARTED.append(PreloadedPython([], env))
        atexit.register(_STARTED[0].close)
    return _STARTED[0]


def env_for(project: Path, **extra: str) -> dict[str, str]:
    """The environment of a command run in ``project``: it and the shop's package importable."""
    return {"PYTHONPATH": f"{project}{os.pathsep}{EXAMPLES}", **extra}

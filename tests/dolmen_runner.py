"""Run the dolmen command in a subprocess, as a user would, with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


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
    return subprocess.run(
        [sys.executable, "-c", "from dolmen.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**clean, **(env or {})},
    )


def env_for(project: Path, **extra: str) -> dict[str, str]:
    """The environment of a command run in ``project``: it and the shop's package importable."""
    return {"PYTHONPATH": f"{project}{os.pathsep}{EXAMPLES}", **extra}

"""The ``dolmen`` command line."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["cli", "main"]


def main() -> None:
    """Entry point of the ``dolmen`` console script.

    A ``dolmen check`` whose files and settings have not changed since the last run is
    answered from that run before the CLI library is even loaded.
    """
    from dolmen.check import replay

    code = replay(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from dolmen.cli._main import main as run_command

    run_command()


def __getattr__(name: str) -> Any:
    if name == "cli":
        from dolmen.cli._main import cli

        return cli
    raise AttributeError(f"module 'dolmen.cli' has no attribute {name!r}")

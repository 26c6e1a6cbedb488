"""The ``dolmen`` command line."""

from dolmen.cli._main import cli, main

__all__ = ["cli", "main"]

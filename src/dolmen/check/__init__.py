"""Architecture verification: module boundaries, dependencies, cycles and layers, checked fast.

Each name is loaded on first use, from its own file: a warm ``dolmen check`` answers from
the last run without loading the scanner or the rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dolmen.check._answers import replay
    from dolmen.check._baseline import write_baseline
    from dolmen.check._command import answer, remember
    from dolmen.check._files import DEFAULT_EVENTS_LOCK
    from dolmen.check._graph_output import dot, mermaid
    from dolmen.check._imports import RawImport, UnreadableFile, scan
    from dolmen.check._runner import Report, run_check

_HOMES = {
    "DEFAULT_EVENTS_LOCK": "dolmen.check._files",
    "RawImport": "dolmen.check._imports",
    "Report": "dolmen.check._runner",
    "UnreadableFile": "dolmen.check._imports",
    "answer": "dolmen.check._command",
    "dot": "dolmen.check._graph_output",
    "mermaid": "dolmen.check._graph_output",
    "remember": "dolmen.check._command",
    "replay": "dolmen.check._answers",
    "run_check": "dolmen.check._runner",
    "scan": "dolmen.check._imports",
    "write_baseline": "dolmen.check._baseline",
}

__all__ = [
    "DEFAULT_EVENTS_LOCK",
    "RawImport",
    "Report",
    "UnreadableFile",
    "answer",
    "dot",
    "mermaid",
    "remember",
    "replay",
    "run_check",
    "scan",
    "write_baseline",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its file the first time it is used."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dolmen.check' has no attribute {name!r}")
    value = getattr(__import__(home, fromlist=[name]), name)  # no importlib: it costs a warm run
    globals()[name] = value
    return value

"""Architecture verification: module boundaries, dependencies, cycles and layers, checked fast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dolmen.check._imports import RawImport, UnreadableFile, scan

__all__ = ["RawImport", "UnreadableFile", "scan"]


def __getattr__(name: str) -> Any:
    """Load the scanner on first use: a warm ``dolmen check`` never needs it."""
    if name in __all__:
        from dolmen.check import _imports

        return getattr(_imports, name)
    raise AttributeError(f"module 'dolmen.check' has no attribute {name!r}")

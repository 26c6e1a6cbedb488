"""Architecture verification: module boundaries, dependencies, cycles and layers, checked fast."""

from dolmen.check._imports import RawImport, UnreadableFile, scan

__all__ = ["RawImport", "UnreadableFile", "scan"]

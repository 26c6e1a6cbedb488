"""Turn an import as written into the dotted name it reaches."""

from __future__ import annotations

from dolmen.check._imports import Plain


def resolve(raw: Plain, importer: str, is_package: bool, known: set[str]) -> str:
    """The absolute dotted target of ``raw``, written in module ``importer``.

    ``from pkg import sub`` reaches ``pkg.sub`` when that is a module of the
    codebase, else ``pkg`` (``sub`` is then a name defined in ``pkg``).
    """
    module, name = raw[0], raw[1]
    if module.startswith("."):
        level = len(module) - len(module.lstrip("."))
        parts = importer.split(".") if is_package else importer.split(".")[:-1]
        if level > 1:
            parts = parts[: max(len(parts) - (level - 1), 0)]
        rest = module[level:]
        module = ".".join([*parts, rest] if rest else parts)
    if name and name != "*":
        candidate = f"{module}.{name}" if module else name
        if candidate in known:
            return candidate
    return module


def with_parents(names: set[str]) -> set[str]:
    """``names`` and every package above them (namespace packages have no file).

    The last answer is kept: a check asks twice for the same files (to validate the
    modules, then to resolve imports), and a large tree has tens of thousands of names.
    """
    if _last and _last[0] == names:
        return set(_last[1])
    known = set(names)
    for name in names:
        parts = name.split(".")
        known.update(".".join(parts[:i]) for i in range(1, len(parts)))
    _last[:] = [set(names), known]
    return set(known)


_last: list[set[str]] = []

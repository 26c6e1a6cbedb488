"""Validate ``[tool.dolmen]`` and ``[tool.dolmen.check]`` completely, before anything is checked.

Every key is known or reported (with the closest known key), every value has exactly its
type (no coercion: ``"false"`` is not a boolean, ``"src"`` is not a list of folders), and
every problem of the file is reported at once. Hand-written rather than a pydantic model:
importing pydantic costs more than a whole warm check.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from dolmen.check._model import OUTSIDE_POLICIES, RULES, CheckSettings, ModuleSpec

TOOL_KEYS = ("app", "app-dir", "check")
"""The keys of ``[tool.dolmen]`` (``check`` is the table read here)."""
CHECK_KEYS = (
    "roots", "exclude", "layers", "module-layers", "forbidden", "type-checking-imports",
    "unused-dependencies", "outside-modules", "baseline", "cache-dir", "modules", "select",
    "ignore", "events-lock",
)  # fmt: skip
MODULE_KEYS = ("name", "package", "depends_on", "listens_to", "public")

Problems = list[str]


def did_you_mean(key: str, known: tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or the list of them all."""
    import difflib  # only when a key is wrong

    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if not close:
        close = [k for k in known if k.replace("_", "-") == key.replace("_", "-")]
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known: {', '.join(sorted(known))})"


def unknown_keys(table: dict[str, Any], known: tuple[str, ...], where: str) -> Problems:
    """One problem per key of ``table`` that is not in ``known``."""
    return [
        f"unknown key {key!r} in {where}{did_you_mean(key, known)}"
        for key in table
        if key not in known
    ]


def _describe(value: Any) -> str:
    kind = {bool: "a boolean", str: "a string", int: "an integer", float: "a number",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)  # fmt: skip
    return f"{kind} ({value!r})"


def _strings(value: Any, what: str, problems: Problems) -> tuple[str, ...] | None:
    """``value`` as a tuple of strings, or None with a problem: a lone string is refused."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        example = f'["{value}"]' if isinstance(value, str) else '["a", "b"]'
        problems.append(f"{what} must be a list of strings like {example}, got {_describe(value)}")
        return None
    return tuple(value)


def _string(value: Any, what: str, problems: Problems) -> str | None:
    if not isinstance(value, str) or not value:
        problems.append(f"{what} must be a non-empty string, got {_describe(value)}")
        return None
    return value


def _boolean(value: Any, what: str, problems: Problems) -> bool | None:
    if not isinstance(value, bool):
        problems.append(f"{what} must be true or false (no quotes), got {_describe(value)}")
        return None
    return value


def check_settings(table: dict[str, Any]) -> tuple[CheckSettings, Problems]:
    """The settings of ``[tool.dolmen.check]`` and every problem found in it."""
    problems = unknown_keys(table, CHECK_KEYS, "[tool.dolmen.check]")
    values: dict[str, Any] = {}

    for key, parse in _PARSERS.items():  # the setting's field is its key with '_' for '-'
        if key in table:
            value = parse(table[key], f"[tool.dolmen.check] {key}", problems)
            if value is not None:
                values[key.replace("-", "_")] = value
    settings = CheckSettings(**values)
    problems.extend(_layer_problems(settings))
    return settings, problems


_PARSERS: dict[str, Callable[[Any, str, Problems], Any]] = {}
"""How each key of ``[tool.dolmen.check]`` is read (filled in below the parsers)."""


def _non_empty_strings(value: Any, what: str, problems: Problems) -> tuple[str, ...] | None:
    strings = _strings(value, what, problems)
    if strings is not None and not strings:
        problems.append(f"{what} must name at least one folder")
        return None
    return strings


def _layers(value: Any, what: str, problems: Problems) -> tuple[tuple[str, str], ...] | None:
    chains = _strings(value, what, problems)
    if chains is None:
        return None
    edges: list[tuple[str, str]] = []
    for chain in chains:
        names = [name.strip() for name in chain.split("->")]
        if len(names) < 2 or not all(names):
            problems.append(f"layer chain {chain!r} must read 'upper -> lower'")
        else:
            edges.extend(itertools.pairwise(names))
    return tuple(edges)


def _module_layers(value: Any, what: str, problems: Problems) -> tuple[tuple[str, ...], ...] | None:
    if not isinstance(value, list):
        problems.append(
            f'{what} must be a list of lists of module names like [["web"], ["orders", '
            f'"billing"]], got {_describe(value)}'
        )
        return None
    groups = [_strings(group, f"each group of {what}", problems) for group in value]
    if any(group is None for group in groups):
        return None
    return tuple(group for group in groups if group is not None)


def _forbidden(value: Any, what: str, problems: Problems) -> dict[str, tuple[str, ...]] | None:
    if not isinstance(value, dict):
        problems.append(
            f'{what} must be a table like {{ domain = ["sqlalchemy"] }}, got {_describe(value)}'
        )
        return None
    forbidden = {
        layer: _strings(names, f"{what}.{layer}", problems) for layer, names in value.items()
    }
    return {layer: names for layer, names in forbidden.items() if names is not None}


def _outside(value: Any, what: str, problems: Problems) -> str | None:
    if value not in OUTSIDE_POLICIES:
        choices = ", ".join(repr(policy) for policy in OUTSIDE_POLICIES)
        problems.append(f"{what} must be one of {choices}, got {_describe(value)}")
        return None
    return str(value)


def _rules(value: Any, what: str, problems: Problems) -> tuple[str, ...] | None:
    rules = _strings(value, what, problems)
    for rule in rules or ():
        if rule not in RULES:
            problems.append(
                f"{what} names rule {rule!r}, which does not exist"
                f"{did_you_mean(rule, tuple(RULES))}"
            )
    return rules


def _layer_problems(settings: CheckSettings) -> Iterator[str]:
    """Layers named by ``forbidden`` that no chain declares, and cycles in the chains."""
    layer_names = {name for edge in settings.layers for name in edge}
    for layer in settings.forbidden:
        if layer not in layer_names:
            yield (
                f"forbidden names layer {layer!r}, which no layer chain declares "
                f"(layers: {', '.join(sorted(layer_names))})"
            )
    cycle = _cycle(settings.layers)
    if cycle:
        yield (
            f"the layer chains make a cycle ({' -> '.join(cycle)}): each layer may only use "
            "the layers below it; remove one of these edges from [tool.dolmen.check] layers"
        )
    seen: set[str] = set()
    for group in settings.module_layers:
        for name in group:
            if name in seen:
                yield f"module-layers names {name!r} twice: put each module in one group"
            seen.add(name)


def _cycle(edges: tuple[tuple[str, str], ...]) -> list[str]:
    """One cycle of the graph ``edges`` as a path (first node repeated), or []."""
    below: dict[str, list[str]] = {}
    for upper, lower in edges:
        below.setdefault(upper, []).append(lower)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in below.get(node, ()):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return []

    for start in sorted(below):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def module_entry(
    entry: Any, index: int, where: str, problems: Problems
) -> tuple[ModuleSpec, bool] | None:
    """One ``[[tool.dolmen.check.modules]]`` entry, and whether it names its public parts."""
    label = f"[[tool.dolmen.check.modules]] entry {index + 1} ({where})"
    if not isinstance(entry, dict):
        problems.append(f"{label} must be a table, got {_describe(entry)}")
        return None
    count = len(problems)
    problems.extend(unknown_keys(entry, MODULE_KEYS, label))
    if "name" not in entry:
        problems.append(f"{label} has no name")
        return None
    name = _string(entry["name"], f"{label}: name", problems)
    package = _string(entry.get("package", name), f"{label}: package", problems)
    depends_on = _strings(entry.get("depends_on", []), f"{label}: depends_on", problems)
    listens_to = _strings(entry.get("listens_to", []), f"{label}: listens_to", problems)
    public = _strings(entry.get("public", ["api"]), f"{label}: public", problems)
    if len(problems) > count or name is None or package is None:
        return None
    spec = ModuleSpec(name, package, depends_on or (), listens_to or (), public or (), where)
    return spec, "public" in entry


_PARSERS.update(
    {
        "roots": _non_empty_strings,
        "exclude": _strings,
        "layers": _layers,
        "module-layers": _module_layers,
        "forbidden": _forbidden,
        "type-checking-imports": _boolean,
        "unused-dependencies": _boolean,
        "outside-modules": _outside,
        "select": _rules,
        "ignore": _rules,
        "baseline": _string,
        "cache-dir": _string,
        "events-lock": _string,
    }
)

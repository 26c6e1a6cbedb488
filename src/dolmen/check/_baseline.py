"""The baseline file, for gradual adoption: today's violations, accepted until they change."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dolmen.check._model import Violation

if TYPE_CHECKING:
    from pathlib import Path

BaselineEntry = dict[str, Any]
"""One recorded violation: rule, path, line, module, target, message (no line before version 2)."""

VERSION = 2
"""Version 2 records each violation's line; version 1 (no lines) is still read."""
_FIELDS = ("rule", "path", "module", "target", "message")
_LOCATION = re.compile(r":\d+")


def read_baseline(path: str | os.PathLike[str]) -> list[BaselineEntry]:
    """The recorded violations, or none if there is no baseline.

    Raises ValueError saying what is wrong with a file that is not a baseline.
    """
    if not os.path.isfile(path):
        return []
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as file:
            data = json.loads(file.read())
    except UnicodeDecodeError as error:
        raise ValueError(f"{name} is not UTF-8 text ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{name} is not JSON: {error}") from None
    if not isinstance(data, dict) or data.get("version") not in (1, VERSION):
        version = data.get("version") if isinstance(data, dict) else None
        raise ValueError(
            f"{name} is not a dolmen baseline of a known version (version {version!r}; "
            f"this dolmen reads versions 1 and {VERSION})"
        )
    entries = data.get("violations")
    if not isinstance(entries, list):
        raise ValueError(f"{name} has no list of violations")
    for index, entry in enumerate(entries):
        problem = _entry_problem(entry, lined=data["version"] >= 2)
        if problem:
            raise ValueError(f"violation {index + 1} of {name} {problem}")
    return entries


def _entry_problem(entry: object, *, lined: bool) -> str:
    if not isinstance(entry, dict):
        return "is not an object"
    for name in _FIELDS:
        if not isinstance(entry.get(name), str):
            return f"has no text {name!r}"
    line = entry.get("line")
    if lined and (not isinstance(line, int) or isinstance(line, bool) or line < 1):
        return "has no line number 'line'"
    return ""


def write_baseline(path: Path, violations: list[Violation]) -> None:
    """Record today's violations, sorted, so that the file diffs well in review."""
    entries = sorted(
        (
            {"rule": v.rule, "path": v.path, "line": v.line, "module": v.module,
             "target": v.target, "message": v.message}
            for v in violations
        ),
        key=lambda e: (e["path"], e["line"], e["rule"], e["target"]),
    )  # fmt: skip
    document = {"version": VERSION, "violations": entries}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def split_by_baseline(
    violations: list[Violation], entries: list[BaselineEntry]
) -> tuple[list[Violation], list[Violation], list[BaselineEntry]]:
    """(new, known, gone): violations not in the baseline, those in it, and stale entries.

    An entry stands for a violation of the same rule, file, module and target. Among
    several such violations it takes, in turn: the one with its message at its line; the
    one with its message nearest its line (lines were added or removed above); the one at
    its line (the statement grew a name). So a violation that moves stays baselined, and a
    second one like it is new and reported at its own line. Entries of a version 1
    baseline (no lines) take such violations in file order.
    """
    violations_by_key: dict[tuple[str, ...], list[Violation]] = {}
    for violation in violations:
        violations_by_key.setdefault(violation.fingerprint, []).append(violation)
    entries_by_key: dict[tuple[str, ...], list[BaselineEntry]] = {}
    for entry in entries:
        entries_by_key.setdefault(_fingerprint(entry), []).append(entry)
    known_ids: set[int] = set()
    gone: list[BaselineEntry] = []
    for key, recorded in entries_by_key.items():
        matched, unmatched = _match(recorded, violations_by_key.get(key, []))
        known_ids.update(id(v) for v in matched)
        gone += unmatched
    new = [v for v in violations if id(v) not in known_ids]
    known = [v for v in violations if id(v) in known_ids]
    return new, known, sorted(gone, key=lambda e: (e["path"], e.get("line", 0), e["rule"]))


def _fingerprint(entry: BaselineEntry) -> tuple[str, ...]:
    """The entry's ``Violation.fingerprint``: rule, file, module, target."""
    return (entry["rule"], entry["path"], entry["module"], entry["target"] or entry["message"])


def _match(
    entries: list[BaselineEntry], candidates: list[Violation]
) -> tuple[list[Violation], list[BaselineEntry]]:
    """(the violations ``entries`` stand for, the entries that stand for none)."""
    free = sorted(candidates, key=lambda v: (v.line, v.col))
    taken: list[Violation] = []
    left = list(entries)
    stages: list[Callable[[BaselineEntry, Violation], bool]] = [
        lambda e, v: e.get("line") == v.line and _same_message(e, v),
        lambda e, v: "line" in e and _same_message(e, v),
        lambda e, v: e.get("line") == v.line,
        lambda e, v: "line" not in e,
    ]
    for fits in stages:
        still = []
        for entry in left:
            options = [v for v in free if fits(entry, v)]
            if not options:
                still.append(entry)
                continue
            line = entry.get("line", 0)
            chosen = min(options, key=lambda v: abs(v.line - line))
            free.remove(chosen)
            taken.append(chosen)
        left = still
    return taken, left


def _same_message(entry: BaselineEntry, violation: Violation) -> bool:
    """Equal messages, ignoring the lines they quote (a cycle's message locates its edges)."""
    return _LOCATION.sub(":", str(entry["message"])) == _LOCATION.sub(":", violation.message)

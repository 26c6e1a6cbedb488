"""Suppressions on the line, and the baseline file for gradual adoption."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from dolmen.check._model import Violation

_SUPPRESSION = re.compile(r"#\s*dolmen:\s*ignore\[(?P<rules>[\w\-, ]+)\](?P<reason>[^#]*)")


def apply_suppressions(
    violations: list[Violation], root: Path
) -> tuple[list[Violation], list[Violation]]:
    """Split into (kept, suppressed) by ``# dolmen: ignore[rule-id] reason`` on the line.

    A suppression without a reason suppresses nothing: the violation stays, and
    its message says what is missing.
    """
    lines: dict[str, list[str]] = {}
    kept, suppressed = [], []
    for violation in violations:
        if violation.path not in lines:
            try:
                text = (root / violation.path).read_text(encoding="utf-8", errors="replace")
                lines[violation.path] = text.splitlines()
            except OSError:
                lines[violation.path] = []
        source = lines[violation.path]
        line = source[violation.line - 1] if 0 < violation.line <= len(source) else ""
        match = _SUPPRESSION.search(line)
        rules = {r.strip() for r in match.group("rules").split(",")} if match else set()
        if match and violation.rule in rules:
            if match.group("reason").strip():
                suppressed.append(violation)
                continue
            violation = replace(
                violation,
                message=f"{violation.message} (the suppression on this line has no reason: "
                f"write '# dolmen: ignore[{violation.rule}] <why>')",
            )
        kept.append(violation)
    return kept, suppressed


def read_baseline(path: Path) -> list[dict[str, str]]:
    """The recorded violations, or none if there is no baseline."""
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    entries: list[dict[str, str]] = data.get("violations", [])
    return entries


def write_baseline(path: Path, violations: list[Violation]) -> None:
    """Record today's violations, sorted, so that the file diffs well in review."""
    entries = sorted(
        (
            {"rule": v.rule, "path": v.path, "module": v.module, "target": v.target,
             "message": v.message}
            for v in violations
        ),
        key=lambda e: (e["path"], e["rule"], e["target"]),
    )  # fmt: skip
    document = {"version": 1, "violations": entries}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def split_by_baseline(
    violations: list[Violation], entries: list[dict[str, str]]
) -> tuple[list[Violation], list[Violation], list[dict[str, str]]]:
    """(new, known, gone): violations not in the baseline, those in it, and stale entries."""
    remaining: dict[tuple[str, str, str, str], int] = {}
    for entry in entries:
        key = (entry["rule"], entry["path"], entry["module"], entry["target"] or entry["message"])
        remaining[key] = remaining.get(key, 0) + 1
    new, known = [], []
    for violation in violations:
        key = violation.fingerprint
        if remaining.get(key, 0) > 0:
            remaining[key] -= 1
            known.append(violation)
        else:
            new.append(violation)
    gone = []
    for entry in entries:
        key = (entry["rule"], entry["path"], entry["module"], entry["target"] or entry["message"])
        if remaining.get(key, 0) > 0:
            remaining[key] -= 1
            gone.append(entry)
    return new, known, gone

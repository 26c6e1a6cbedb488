"""Suppression comments: ``# dolmen: ignore[rule-id] reason`` on a violation's line.

The comments of every checked file are found where the file is read (and cached with its
imports), so the rules' results are matched against them without reading a file again, a
rule id that does not exist is a configuration error, and a suppression that matches no
violation is reported (``unused-suppression``), like ruff's ``RUF100``.
"""

from __future__ import annotations

import os
from collections.abc import Container, Mapping

from dolmen.check._config import did_you_mean
from dolmen.check._model import RULES, CheckSettings, Violation
from dolmen.check._syntax import Suppression, suppressions_in

UNUSED = "unused-suppression"

Comments = Mapping[str, tuple[Suppression, ...]]
"""The suppression comments of each checked file (path relative to the root)."""
Used = set[tuple[str, int, str]]
"""(path, line, rule) of every suppression that matched a violation."""


def apply_suppressions(
    violations: list[Violation],
    comments: Comments,
    root: str | os.PathLike[str],
    scanned: Container[str] = (),
) -> tuple[list[Violation], list[Violation], Used]:
    """(kept, suppressed, used): split by the suppression on each violation's line.

    ``used`` says which suppressions matched. A suppression without a reason suppresses
    nothing: the violation stays, and its message says what is missing. ``comments`` holds
    the suppressions of the files in ``scanned`` that have any: a violation in another
    file (``pyproject.toml``, for a ``depends_on``; a file that could not be decoded) is
    matched against that file's comments, read then.
    """
    others: dict[str, tuple[Suppression, ...]] = {}
    kept, suppressed = [], []
    used: Used = set()
    for violation in violations:
        found = comments.get(violation.path)
        if found is None and violation.path in scanned:
            found = ()
        if found is None:
            found = others.get(violation.path)
            if found is None:
                found = others[violation.path] = _read(os.path.join(root, violation.path))
        rule, line = violation.rule, violation.line
        match = next((c for c in found if c[0] == line and rule in c[2]), None)
        if match is None:
            kept.append(violation)
            continue
        used.add((violation.path, line, rule))
        if match[3]:
            suppressed.append(violation)
            continue
        kept.append(
            violation._replace(
                message=f"{violation.message} (the suppression on this line has no reason: "
                f"write '# dolmen: ignore[{rule}] <why>')",
            )
        )
    return kept, suppressed, used


def _read(path: str) -> tuple[Suppression, ...]:
    try:
        with open(path, "rb") as file:
            return suppressions_in(file.read())
    except OSError:
        return ()


def unknown_rules(comments: Comments) -> list[str]:
    """A problem for each suppression naming a rule that does not exist (or none)."""
    problems = []
    known = tuple(RULES)
    for path, found in sorted(comments.items()):
        for line, _, rules, _ in found:
            if not rules:
                problems.append(
                    f"{path}:{line}: the suppression names no rule; write "
                    "'# dolmen: ignore[rule-id] <why>'"
                )
            problems += [
                f"{path}:{line}: the suppression names {rule!r}, which is not a rule"
                f"{did_you_mean(rule, known)}"
                for rule in rules
                if rule not in RULES
            ]
    return problems


def unused_suppressions(
    comments: Comments, used: Used, settings: CheckSettings, modules: Mapping[str, str]
) -> list[Violation]:
    """An ``unused-suppression`` for each rule a suppression names that matched nothing.

    Rules that did not run (left out by ``select``/``ignore``, ``unused-dependency`` while
    ``unused-dependencies`` is false) cannot tell, and ``unused-suppression`` itself is
    never unused: it suppresses the reports of its own line.
    """
    if not settings.rule_on(UNUSED):
        return []
    unused = []
    for path, found in comments.items():
        for line, col, rules, _ in found:
            for rule in rules:
                if rule == UNUSED or rule not in RULES or (path, line, rule) in used:
                    continue
                if not _ran(rule, settings):
                    continue
                unused.append(
                    Violation(
                        UNUSED,
                        f"the suppression of {rule} on this line matches no violation; remove "
                        f"{rule} from it (or the whole comment)",
                        path, line, col, modules.get(path, ""), rule,
                    )
                )  # fmt: skip
    return unused


def _ran(rule: str, settings: CheckSettings) -> bool:
    if rule == "unused-dependency" and not settings.unused_dependencies:
        return False
    return settings.rule_on(rule)

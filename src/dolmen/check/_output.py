"""Render a check report: text for people, JSON, SARIF for code scanning, GitHub annotations."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from dolmen._version import __version__
from dolmen.check._baseline import BaselineEntry
from dolmen.check._model import RULES, Violation
from dolmen.check._runner import Report

if TYPE_CHECKING:  # pathlib and urllib only for the formats that need them
    from pathlib import Path

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render(report: Report, output_format: str) -> str:
    """The report in ``text``, ``json``, ``sarif`` or ``github`` form."""
    renderers = {"text": text, "json": as_json, "sarif": sarif, "github": github}
    return renderers[output_format](report)


def text(report: Report) -> str:
    """Violations grouped by module, then a summary line."""
    out: list[str] = []
    by_module: dict[str, list[Violation]] = defaultdict(list)
    for violation in report.violations:
        by_module[violation.module or "(no module)"].append(violation)
    for module, violations in sorted(by_module.items()):
        out.append(f"{module} ({len(violations)})")
        out += [f"  {v.path}:{v.line}:{v.col}: {v.rule}: {v.message}" for v in violations]
        out.append("")
    if report.gone:
        out.append(f"{len(report.gone)} baseline entries no longer occur; rewrite the baseline:")
        out += [f"  {_place(e)}: {e['rule']}: {e['target'] or e['message']}" for e in report.gone]
        out.append("")
    out.append(summary(report))
    return "\n".join(out)


def summary(report: Report) -> str:
    """``2 violations in 1 module (48 files, 3 modules; 1 baselined, 0 suppressed)``."""
    count = len(report.violations)
    modules = len({v.module for v in report.violations})
    head = (
        f"{count} violation{'s' if count != 1 else ''} in {modules} "
        f"module{'s' if modules != 1 else ''}"
        if count
        else "no violations"
    )
    return (
        f"{head} ({report.files} files, {len(report.project.modules)} modules; "
        f"{len(report.baselined)} baselined, {len(report.suppressed)} suppressed)"
    )


def as_json(report: Report) -> str:
    """Every violation and the counts, as JSON."""
    return json.dumps(
        {
            "violations": [_violation(v) for v in report.violations],
            "baselined": len(report.baselined),
            "suppressed": len(report.suppressed),
            "baseline_entries_gone": report.gone,
            "files": report.files,
            "modules": [m.name for m in report.project.modules],
        },
        indent=2,
    )


def _violation(v: Violation) -> dict[str, Any]:
    return {
        "rule": v.rule,
        "message": v.message,
        "path": v.path,
        "line": v.line,
        "column": v.col,
        "module": v.module,
    }


def sarif(report: Report) -> str:
    """SARIF 2.1.0, for code-scanning tools.

    Paths are relative to the repository root (``uriBaseId`` ``%SRCROOT%``, whose
    absolute location ``originalUriBaseIds`` gives), so that a project in a subfolder
    of a repository is annotated on the right files. Baseline entries that no longer
    occur are results too, with ``baselineState`` ``absent`` and no severity.
    """
    rules = sorted(RULES)
    top, prefix = repository_root(report.project.root)
    baseline = bool(report.baselined or report.gone)
    results = [
        _sarif_result(v, rules, prefix, "new" if baseline else None) for v in report.violations
    ]
    results += [_sarif_gone(entry, rules, prefix) for entry in report.gone]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dolmen check",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/dolmen/",
                        "rules": [
                            {"id": rule, "shortDescription": {"text": RULES[rule]}}
                            for rule in rules
                        ],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": top.as_uri().rstrip("/") + "/"}},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2)


SRCROOT = "%SRCROOT%"


def _sarif_result(v: Violation, rules: list[str], prefix: str, state: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": v.rule,
        "ruleIndex": rules.index(v.rule),
        "level": "error",
        "message": {"text": v.message},
        "locations": [_location(prefix + v.path, v.line, v.col)],
    }
    if state is not None:
        result["baselineState"] = state
    return result


def _sarif_gone(entry: BaselineEntry, rules: list[str], prefix: str) -> dict[str, Any]:
    rule = entry["rule"]
    result: dict[str, Any] = {
        "ruleId": rule,
        "kind": "informational",
        "level": "none",
        "baselineState": "absent",
        "message": {"text": _gone_message(entry)},
        "locations": [_location(prefix + entry["path"], entry.get("line"), None)],
    }
    if rule in RULES:
        result["ruleIndex"] = rules.index(rule)
    return result


def _location(path: str, line: int | None, col: int | None) -> dict[str, Any]:
    from urllib.parse import quote

    physical: dict[str, Any] = {
        "artifactLocation": {"uri": quote(path.replace("\\", "/")), "uriBaseId": SRCROOT}
    }
    if line is not None:
        physical["region"] = {"startLine": line, **({"startColumn": col} if col else {})}
    return {"physicalLocation": physical}


def github(report: Report) -> str:
    """GitHub Actions workflow commands: one ``::error`` annotation per violation.

    Paths are relative to the repository root, where GitHub looks for them; each baseline
    entry that no longer occurs is a ``::warning``.
    """
    _, prefix = repository_root(report.project.root)
    lines = [
        f"::error file={_property(prefix + v.path)},line={v.line},col={v.col},"
        f"title=dolmen {v.rule}::{_escape(v.message)}"
        for v in report.violations
    ]
    for entry in report.gone:
        line = f",line={entry['line']}" if "line" in entry else ""
        lines.append(
            f"::warning file={_property(prefix + entry['path'])}{line},"
            f"title=dolmen stale baseline entry::{_escape(_gone_message(entry))}"
        )
    lines.append(summary(report))
    return "\n".join(lines)


def _gone_message(entry: BaselineEntry) -> str:
    what = entry["target"] or entry["message"]
    return (
        f"baseline entry no longer occurs ({entry['rule']}: {what}); "
        "rewrite the baseline with `dolmen check --write-baseline`"
    )


def _place(entry: BaselineEntry) -> str:
    return f"{entry['path']}:{entry['line']}" if "line" in entry else str(entry["path"])


def _escape(message: str) -> str:
    return message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    """A workflow command's property value: ``,`` and ``:`` are escaped too."""
    return _escape(value).replace(":", "%3A").replace(",", "%2C")


def repository_root(project_root: Path) -> tuple[Path, str]:
    """(the repository's root folder, the project's path below it, ``""`` or ``"sub/dir/"``).

    The root is what ``git rev-parse --show-toplevel`` says; outside a git repository
    (or without git) it is the project folder.
    """
    import subprocess  # only for the formats that name files from the repository root
    from pathlib import Path

    project = project_root.resolve()
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=project, capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        top = Path(done.stdout.strip()).resolve()
        below = project.relative_to(top).as_posix()
    except (OSError, subprocess.SubprocessError, ValueError):
        return project, ""
    return top, "" if below == "." else f"{below}/"

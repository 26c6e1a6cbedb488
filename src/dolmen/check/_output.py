"""Render a check report: text for people, JSON, SARIF for code scanning, GitHub annotations."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from dolmen._version import __version__
from dolmen.check._model import RULES, Violation
from dolmen.check._runner import Report

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
        out += [f"  {e['path']}: {e['rule']}: {e['target'] or e['message']}" for e in report.gone]
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
    """SARIF 2.1.0, for code-scanning tools."""
    rules = sorted(RULES)
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
                "results": [
                    {
                        "ruleId": v.rule,
                        "ruleIndex": rules.index(v.rule),
                        "level": "error",
                        "message": {"text": v.message},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": v.path.replace("\\", "/")},
                                    "region": {"startLine": v.line, "startColumn": v.col},
                                }
                            }
                        ],
                    }
                    for v in report.violations
                ],
            }
        ],
    }
    return json.dumps(document, indent=2)


def github(report: Report) -> str:
    """GitHub Actions workflow commands: one ``::error`` annotation per violation."""
    lines = [
        f"::error file={v.path},line={v.line},col={v.col},title=dolmen {v.rule}::"
        f"{_escape(v.message)}"
        for v in report.violations
    ]
    lines.append(summary(report))
    return "\n".join(lines)


def _escape(message: str) -> str:
    return message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

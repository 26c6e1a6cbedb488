"""Run a check over a codebase: files, cache, rules, suppressions, baseline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from dolmen.check._baseline import apply_suppressions, read_baseline, split_by_baseline
from dolmen.check._cache import ImportCache
from dolmen.check._imports import UnreadableFile
from dolmen.check._model import CheckSettings, Violation
from dolmen.check._project import Project, load_project, python_files
from dolmen.check._resolve import with_parents
from dolmen.check._rules import Findings, SourceFile, check_files


@dataclass
class Report:
    """The outcome of one check."""

    project: Project
    violations: list[Violation]
    baselined: list[Violation] = field(default_factory=list)
    suppressed: list[Violation] = field(default_factory=list)
    gone: list[dict[str, str]] = field(default_factory=list)
    findings: Findings | None = None
    files: int = 0
    cache_hits: int = 0
    seconds: float = 0.0


def run_check(root: Path, *, use_cache: bool = True, use_baseline: bool = True) -> Report:
    """Check the codebase at ``root``; raises CheckConfigError for a broken configuration."""
    started = time.perf_counter()
    project = load_project(root)
    settings = project.settings
    cache = ImportCache(project.root / settings.cache_dir if use_cache else None)
    files: list[SourceFile] = []
    unreadable: list[Violation] = []
    for path, dotted in python_files(project.root, settings):
        relative = str(path.relative_to(project.root))
        try:
            imports = cache.imports(path)
        except UnreadableFile as error:
            module = project.module_of(dotted)
            unreadable.append(
                Violation(
                    "parse-error",
                    f"cannot read this file as Python ({error.reason}); fix it so its imports "
                    "can be checked",
                    relative, max(error.line, 1), 1, module.name if module else "", relative,
                )
            )  # fmt: skip
            imports = ()
        files.append(SourceFile(relative, dotted, path.name == "__init__.py", imports))
    cache.save({str(project.root / f.path) for f in files})
    known = with_parents({f.dotted for f in files})
    findings = check_files(project, files, known)
    chosen = [v for v in findings.violations + unreadable if _selected(v.rule, settings)]
    kept, suppressed = apply_suppressions(chosen, project.root)
    new, baselined, gone = kept, list[Violation](), list[dict[str, str]]()
    if use_baseline:
        new, baselined, gone = split_by_baseline(
            kept, read_baseline(project.root / settings.baseline)
        )
    return Report(
        project,
        sorted(new, key=_order),
        baselined,
        suppressed,
        gone,
        findings,
        len(files),
        cache.hits,
        time.perf_counter() - started,
    )


def _selected(rule: str, settings: CheckSettings) -> bool:
    """Whether ``rule`` is on: in ``select`` (or no select given) and not in ``ignore``."""
    return (not settings.select or rule in settings.select) and rule not in settings.ignore


def _order(violation: Violation) -> tuple[str, str, int, int, str]:
    return (violation.module, violation.path, violation.line, violation.col, violation.rule)

"""The rules: each import of each file, judged against the module declarations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from dolmen.check._cycles import elementary_cycles
from dolmen.check._imports import RawImport
from dolmen.check._model import ModuleSpec, Violation
from dolmen.check._project import Project
from dolmen.check._resolve import resolve

DECLARATION = "module"
"""The file declaring a module; the composition root outside the modules may import it."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of the codebase and the imports found in it."""

    path: str
    dotted: str
    is_package: bool
    imports: tuple[RawImport, ...]


@dataclass
class Edge:
    """Module ``source`` imports module ``target``, first at ``where``."""

    source: str
    target: str
    where: tuple[str, int, int]
    event_only: bool


@dataclass
class Findings:
    """What the rules found: violations and the module graph they found them on."""

    violations: list[Violation] = field(default_factory=list)
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)
    cycles: list[list[str]] = field(default_factory=list)


def check_files(project: Project, files: Iterable[SourceFile], known: set[str]) -> Findings:
    """Apply every rule to every import (``files`` is read once), then the module-level rules."""
    findings = Findings()
    judge = _Judge(project, known, findings)
    skip_type_checking = not project.settings.type_checking_imports
    for source in files:
        importer = project.module_of(source.dotted)
        for raw in source.imports:
            if raw.type_checking and skip_type_checking:
                continue
            target = resolve(raw, source.dotted, source.is_package, known)
            judge.one(source, raw, importer, target)
    _cycles(project, findings)
    if project.settings.unused_dependencies:
        _unused(project, findings)
    return findings


class _Judge:
    def __init__(self, project: Project, known: set[str], findings: Findings) -> None:
        self.project = project
        self.settings = project.settings
        self.tops = {name.split(".", 1)[0] for name in known}
        self.findings = findings
        self.owners: dict[str, ModuleSpec | None] = {}
        self.allowed = _reachable(self.settings.layers)
        self.layer_names = {name for edge in self.settings.layers for name in edge}
        self.rank = {
            name: index for index, group in enumerate(self.settings.module_layers) for name in group
        }

    def one(
        self, source: SourceFile, raw: RawImport, importer: ModuleSpec | None, target: str
    ) -> None:
        owners = self.owners
        if target in owners:
            owner = owners[target]
        else:
            owner = owners[target] = self.project.module_of(target)
        if owner is None and importer is None:
            return  # neither side belongs to a module: nothing to judge
        where = (source.path, raw.line, raw.col + 1)
        if owner is None:
            if importer is not None and target.split(".", 1)[0] not in self.tops:
                self._third_party(importer, source.dotted, target, where)
            return
        if importer is None:
            self._outside(source.dotted, owner, target, where)
        elif importer is owner:
            self._inner_layers(importer, source.dotted, target, where)
        else:
            self._across(importer, owner, target, where)

    def _add(
        self, rule: str, message: str, where: tuple[str, int, int], module: str, target: str
    ) -> None:
        self.findings.violations.append(Violation(rule, message, *where, module, target))

    def _third_party(
        self, module: ModuleSpec, importer: str, target: str, where: tuple[str, int, int]
    ) -> None:
        layer = module.layer_of(importer)
        for package in self.settings.forbidden.get(layer, ()):
            if target == package or target.startswith(f"{package}."):
                self._add(
                    "forbidden-import",
                    f"layer {layer!r} of module {module.name!r} imports {target!r}; keep "
                    f"{package} out of the {layer} (put that code in an adapter behind a port)",
                    where, module.name, target,
                )  # fmt: skip

    def _outside(
        self, importer: str, owner: ModuleSpec, target: str, where: tuple[str, int, int]
    ) -> None:
        policy = self.settings.outside_modules
        declaration = owner.layer_of(target) == DECLARATION
        if policy == "ignore" or (policy == "public" and (owner.is_public(target) or declaration)):
            return
        if policy == "forbid" and declaration:
            return
        self._add(
            "outside-import",
            f"{importer!r} (outside every module) imports {target!r} of module {owner.name!r}; "
            f"use its public API ({', '.join(f'{owner.package}.{p}' for p in owner.public)})",
            where, "(outside modules)", target,
        )  # fmt: skip

    def _inner_layers(
        self, module: ModuleSpec, importer: str, target: str, where: tuple[str, int, int]
    ) -> None:
        upper, lower = module.layer_of(importer), module.layer_of(target)
        if upper == lower or upper not in self.layer_names or lower not in self.layer_names:
            return
        if lower not in self.allowed.get(upper, set()):
            may = ", ".join(sorted(self.allowed.get(upper, set()))) or "no other layer"
            self._add(
                "layer-violation",
                f"in module {module.name!r}, layer {upper!r} imports layer {lower!r} "
                f"({target!r}); {upper} may use {may}",
                where, module.name, f"{upper}->{lower}:{target}",
            )  # fmt: skip

    def _across(
        self, module: ModuleSpec, owner: ModuleSpec, target: str, where: tuple[str, int, int]
    ) -> None:
        declared = owner.name in module.depends_on
        event_only = not declared and owner.name in module.listens_to
        key = (module.name, owner.name)
        if key not in self.findings.edges:
            self.findings.edges[key] = Edge(module.name, owner.name, where, event_only)
        if not declared and not event_only:
            self._add(
                "undeclared-dependency",
                f"module {module.name!r} uses module {owner.name!r} ({target!r}) without "
                f"declaring it; add {owner.name!r} to depends_on of {module.name!r} (or to "
                "listens_to if it only handles that module's events)",
                where, module.name, owner.name,
            )  # fmt: skip
        if not owner.is_public(target):
            public = ", ".join(f"{owner.package}.{p}" for p in owner.public)
            self._add(
                "private-import",
                f"module {module.name!r} imports {target!r}, a private part of module "
                f"{owner.name!r}; import from its public API ({public}) instead",
                where, module.name, target,
            )  # fmt: skip
        upper, lower = self.rank.get(module.name), self.rank.get(owner.name)
        if upper is not None and lower is not None and upper > lower:
            self._add(
                "module-layer-violation",
                f"module {module.name!r} (layer {upper + 1}) imports module {owner.name!r} of a "
                f"higher layer ({lower + 1}); lower layers may not use higher ones",
                where, module.name, owner.name,
            )  # fmt: skip


def _reachable(edges: tuple[tuple[str, str], ...]) -> dict[str, set[str]]:
    """For each layer, every layer below it (the chains are transitive)."""
    below: dict[str, set[str]] = defaultdict(set)
    for upper, lower in edges:
        below[upper].add(lower)
    changed = True
    while changed:
        changed = False
        for upper in list(below):
            extra = set().union(*(below.get(lower, set()) for lower in below[upper]))
            if not extra <= below[upper]:
                below[upper] |= extra
                changed = True
    return below


def _cycles(project: Project, findings: Findings) -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for (source, target), edge in findings.edges.items():
        if not edge.event_only:
            graph[source].add(target)
    declared_at = {m.name: m.declared_at for m in project.modules}
    for module in project.modules:
        graph[module.name].update(module.depends_on)
    findings.cycles = elementary_cycles(graph)
    for cycle in findings.cycles:
        path = " -> ".join(cycle)
        first = findings.edges.get((cycle[0], cycle[1]))
        where = first.where if first else (*_split(declared_at[cycle[0]]), 1)
        findings.violations.append(
            Violation(
                "dependency-cycle",
                f"modules depend on each other in a cycle: {path}; break it by inverting one "
                "dependency behind a port, or by reacting to an event (listens_to) instead",
                *where, cycle[0], path,
            )
        )  # fmt: skip


def _unused(project: Project, findings: Findings) -> None:
    for module in project.modules:
        for dependency in module.depends_on:
            if (module.name, dependency) not in findings.edges:
                findings.violations.append(
                    Violation(
                        "unused-dependency",
                        f"module {module.name!r} declares depends_on {dependency!r} but never "
                        "imports it; remove it from depends_on",
                        *_split(module.declared_at), 1, module.name, dependency,
                    )
                )  # fmt: skip


def _split(declared_at: str) -> tuple[str, int]:
    path, _, line = declared_at.rpartition(":")
    return (path, int(line)) if path and line.isdigit() else (declared_at, 1)

"""The rules: each import of each file, judged against the module declarations."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from dolmen.check._cycles import elementary_cycles
from dolmen.check._imports import Plain
from dolmen.check._messages import Hit, statement_message
from dolmen.check._model import RULES, ModuleSpec, Violation
from dolmen.check._project import Project
from dolmen.check._resolve import resolve

DECLARATION = "module"
"""The file declaring a module; the composition root outside the modules may import it."""


class SourceFile:
    """One file of the codebase and the imports found in it."""

    __slots__ = ("dotted", "imports", "is_package", "path")

    def __init__(
        self, path: str, dotted: str, is_package: bool, imports: tuple[Plain, ...]
    ) -> None:
        self.path = path
        self.dotted = dotted
        self.is_package = is_package
        self.imports = imports
        """Each import as a :class:`~dolmen.check._imports.RawImport` or its plain tuple."""

    def __repr__(self) -> str:
        return f"SourceFile({self.path!r}, {self.dotted!r}, {self.is_package!r}, {self.imports!r})"


class Edge(NamedTuple):
    """Module ``source`` imports module ``target``, first at ``where``."""

    source: str
    target: str
    where: tuple[str, int, int]
    event_only: bool


class Findings:
    """What the rules found: violations and the module graph they found them on."""

    __slots__ = ("cycles", "edges", "violations")

    def __init__(
        self,
        violations: list[Violation] | None = None,
        edges: dict[tuple[str, str], Edge] | None = None,
        cycles: list[list[str]] | None = None,
    ) -> None:
        self.violations = [] if violations is None else violations
        self.edges = {} if edges is None else edges
        self.cycles = [] if cycles is None else cycles

    def __repr__(self) -> str:
        return f"Findings({self.violations!r}, {self.edges!r}, {self.cycles!r})"


FileFindings = tuple[tuple[tuple[Any, ...], ...], tuple[tuple[Any, ...], ...]]
"""What the rules found in one file, as plain tuples: its violations (the fields of
:class:`Violation`) and the module edges it makes, each first found where
((source, target, path, line, col, event_only))."""


def check_files(
    project: Project,
    files: Iterable[SourceFile | tuple[str, FileFindings]],
    known: set[str],
    into: dict[str, FileFindings] | None = None,
) -> Findings:
    """Apply every rule to every import (``files`` is read once), then the module-level rules.

    Each import statement breaks each rule at most once: the names it imports are judged one
    by one, and the hits of one statement are merged into one violation per rule. A file
    given as (path, what the rules found in it before) is not judged again. When ``into``
    is given, what the rules find in each file is added to it, by path.
    """
    findings = Findings()
    judge = _Judge(project, known, findings)
    edges = findings.edges
    skip_type_checking = not project.settings.type_checking_imports
    absolute: dict[tuple[str, str], tuple[str, ModuleSpec | None]] = {}
    """(module, name) as written -> (target, its module): the same in every file."""
    relative: dict[tuple[str, str, str], tuple[str, ModuleSpec | None]] = {}
    """The same for relative imports, by the package they are written in."""
    owner_of = judge.owner_of
    for source in files:
        if isinstance(source, tuple):  # judged before: its findings are reused
            path, (violations, made) = source
            findings.violations += [Violation(*v) for v in violations]
            for source_name, target, *where, event_only in made:
                if (source_name, target) not in edges:
                    at = (str(where[0]), int(where[1]), int(where[2]))
                    edges[source_name, target] = Edge(source_name, target, at, bool(event_only))
            if into is not None:
                into[path] = (violations, made)
            continue
        first = len(findings.violations)
        judge.made = {}
        importer = project.module_of(source.dotted)
        base = source.dotted if source.is_package else source.dotted.rpartition(".")[0]
        line, col = 0, -1
        for raw in source.imports:
            if raw[4] and skip_type_checking:  # under TYPE_CHECKING
                continue
            if raw[2] != line or raw[3] != col:  # the next statement
                if judge.hits:
                    judge.flush()
                line, col = raw[2], raw[3]
            module = raw[0]
            if module[:1] == ".":
                key = (base, module, raw[1])
                found = relative.get(key)
                if found is None:
                    target = resolve(raw, source.dotted, source.is_package, known)
                    found = relative[key] = (target, owner_of(target))
                target, owner = found
            else:
                found = absolute.get((module, raw[1]))
                if found is None:
                    target = resolve(raw, source.dotted, source.is_package, known)
                    found = absolute[module, raw[1]] = (target, owner_of(target))
                target, owner = found
            if owner is None:
                needed = importer is not None and judge.third_party
            elif importer is None:
                needed = judge.outside
            else:
                needed = importer is not owner or judge.inner
            if needed:  # a rule that is on may judge it
                judge.one(source, raw, importer, target, owner)
        if judge.hits:
            judge.flush()
        if into is not None:
            into[source.path] = (
                tuple(tuple(v) for v in findings.violations[first:]),
                tuple(
                    (*edge, *where, event_only) for edge, (where, event_only) in judge.made.items()
                ),
            )
    if project.settings.rule_on("dependency-cycle"):  # finding every cycle can take a while
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
        self.hits: dict[str, list[Hit]] = {}
        """The current statement's hits, by rule."""
        self.made: dict[tuple[str, str], tuple[tuple[str, int, int], bool]] = {}
        """The current file's module edges, each where it is first made."""
        self.off = {rule for rule in RULES if not self.settings.rule_on(rule)}
        """Rules left out by ``select``/``ignore``: their hits get no message, nothing is kept."""
        self.where = ("", 0, 0)
        self.context: dict[str, str] = {}
        on = {rule for rule in RULES if rule not in self.off}
        self.third_party = "forbidden-import" in on and any(self.settings.forbidden.values())
        self.outside = "outside-import" in on and self.settings.outside_modules != "ignore"
        self.inner = "layer-violation" in on
        self.undeclared = "undeclared-dependency" in on
        self.private = "private-import" in on
        self.ranked = "module-layer-violation" in on and bool(self.rank)
        """Which judgements a rule that is on needs (the others are skipped, not just muted)."""

    def flush(self) -> None:
        """One violation per rule the current statement breaks, naming every offending name."""
        for rule, hits in self.hits.items():
            if rule in self.off:
                continue
            key = ", ".join(dict.fromkeys(hit.key for hit in hits))
            message = statement_message(hits, self.context)
            self.findings.violations.append(
                Violation(rule, message, *self.where, hits[0].module, key)
            )
        self.hits = {}

    def owner_of(self, target: str) -> ModuleSpec | None:
        """The module ``target`` belongs to, looked up once per target."""
        owners = self.owners
        if target in owners:
            return owners[target]
        owner = owners[target] = self.project.module_of(target)
        return owner

    def one(
        self,
        source: SourceFile,
        raw: Plain,
        importer: ModuleSpec | None,
        target: str,
        owner: ModuleSpec | None,
    ) -> None:
        """Judge one imported name (``importer`` or ``owner``, or both, is a module)."""
        self.where = (source.path, raw[2], raw[3] + 1)
        name = raw[1]
        if owner is None:
            if (
                self.third_party
                and importer is not None
                and target.split(".", 1)[0] not in self.tops
            ):
                self._third_party(importer, source.dotted, target, name)
            return
        if importer is None:
            if self.outside:
                self._outside(source.dotted, owner, target, name)
        elif importer is owner:
            if self.inner:
                self._inner_layers(importer, source.dotted, target, name)
        else:
            self._across(importer, owner, target, name)

    def _add(self, hit: Hit) -> None:
        self.hits.setdefault(hit.rule, []).append(hit)

    def _third_party(self, module: ModuleSpec, importer: str, target: str, name: str) -> None:
        layer = module.layer_of(importer)
        for package in self.settings.forbidden.get(layer, ()):
            if target == package or target.startswith(f"{package}."):
                self.context["layer"] = layer
                self._add(Hit("forbidden-import", module.name, target, target, name, None, package))

    def _outside(self, importer: str, owner: ModuleSpec, target: str, name: str) -> None:
        policy = self.settings.outside_modules
        declaration = owner.layer_of(target) == DECLARATION
        if policy == "ignore" or (policy == "public" and (owner.is_public(target) or declaration)):
            return
        if policy == "forbid" and declaration:
            return
        self.context["importer"] = importer
        self._add(Hit("outside-import", "(outside modules)", target, target, name, owner))

    def _inner_layers(self, module: ModuleSpec, importer: str, target: str, name: str) -> None:
        upper, lower = module.layer_of(importer), module.layer_of(target)
        if upper == lower or upper not in self.layer_names or lower not in self.layer_names:
            return
        if lower not in self.allowed.get(upper, set()):
            may = ", ".join(sorted(self.allowed.get(upper, set()))) or "no other layer"
            self.context.update(layer=upper, may=may)
            key = f"{upper}->{lower}:{target}"
            self._add(Hit("layer-violation", module.name, key, target, name, module, lower))

    def _across(self, module: ModuleSpec, owner: ModuleSpec, target: str, name: str) -> None:
        declared = owner.name in module.depends_on
        event_only = not declared and owner.name in module.listens_to
        edge = (module.name, owner.name)
        if edge not in self.made:
            self.made[edge] = (self.where, event_only)
            if edge not in self.findings.edges:
                self.findings.edges[edge] = Edge(module.name, owner.name, self.where, event_only)
        if self.undeclared and not declared and not event_only:
            self._add(Hit("undeclared-dependency", module.name, owner.name, target, name, owner))
        if self.private and not owner.is_public(target):
            self._add(Hit("private-import", module.name, target, target, name, owner))
        if not self.ranked:
            return
        upper, lower = self.rank.get(module.name), self.rank.get(owner.name)
        if upper is not None and lower is not None and upper > lower:
            self.context["rank"] = str(upper + 1)
            self._add(
                Hit("module-layer-violation", module.name, owner.name, target, name, owner,
                    str(lower + 1))
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
        located = [_edge_at(findings, declared_at, a, b) for a, b in itertools.pairwise(cycle)]
        edges = "; ".join(
            f"{a} -> {b} at {place}"
            for (a, b), (place, _) in zip(itertools.pairwise(cycle), located, strict=True)
        )
        findings.violations.append(
            Violation(
                "dependency-cycle",
                f"modules depend on each other in a cycle: {path} ({edges}); break it by "
                "inverting one of these dependencies behind a port, or by reacting to an event "
                "(listens_to) instead",
                *located[0][1], cycle[0], path,
            )
        )  # fmt: skip


def _edge_at(
    findings: Findings, declared_at: dict[str, str], source: str, target: str
) -> tuple[str, tuple[str, int, int]]:
    """Where ``source`` uses ``target``: its first import, else its depends_on declaration."""
    edge = findings.edges.get((source, target))
    if edge is not None:
        path, line, _ = edge.where
        return f"{path}:{line}", edge.where
    path, line = _split(declared_at[source])
    return f"{path}:{line} (depends_on of {source!r})", (path, line, 1)


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

"""Run a check over a codebase: files, cache, rules, suppressions, baseline."""

from __future__ import annotations

import contextlib
import marshal
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dolmen.check._baseline import read_baseline, split_by_baseline
from dolmen.check._cache import (
    IMPORTS_FILE,
    ImportCache,
    ImportEntries,
    Prefetch,
    write_atomically,
)
from dolmen.check._event_schemas import RULE as EVENT_SCHEMA
from dolmen.check._event_schemas import read_events_lock, start_schema_check
from dolmen.check._file_store import FILES_FILE, FileEntry, FileStore, file_context
from dolmen.check._files import CACHE_VERSION, Folder, settled, warn_discarded
from dolmen.check._imports import UnreadableFile
from dolmen.check._model import CheckSettings, Violation
from dolmen.check._project import Listed, Project, load_project
from dolmen.check._resolve import with_parents
from dolmen.check._rules import Edge, FileFindings, Findings, SourceFile, check_files
from dolmen.check._suppressions import (
    Comments,
    apply_suppressions,
    unknown_rules,
    unused_suppressions,
)
from dolmen.check._syntax import PYTHON, Suppression
from dolmen.check.exceptions import CheckConfigError

if TYPE_CHECKING:
    from dolmen.check._answers import Listing


class Report:
    """The outcome of one check.

    ``listed``: every file checked (path relative to the root, dotted name); ``stats``: the
    (mtime_ns, size) of each, taken before it was read; ``folders``: every folder listed,
    with its modification time taken before it was listed; ``events_lock``: the bytes of
    the events lock the check compared the events with (None: no lock).
    """

    __slots__ = (
        *("baselined", "cache_hits", "events_lock", "files", "findings", "folders", "gone"),
        *("listed", "project", "seconds", "stats", "suppressed", "violations"),
    )

    def __init__(
        self,
        project: Project,
        violations: list[Violation],
        baselined: list[Violation] | None = None,
        suppressed: list[Violation] | None = None,
        gone: list[dict[str, str]] | None = None,
        findings: Findings | None = None,
        files: int = 0,
        cache_hits: int = 0,
        seconds: float = 0.0,
        listed: list[tuple[str, str]] | None = None,
        stats: list[tuple[int, int]] | None = None,
        folders: list[Folder] | None = None,
        events_lock: bytes | None = None,
    ) -> None:
        self.project = project
        self.violations = violations
        self.baselined = baselined or []
        self.suppressed = suppressed or []
        self.gone = gone or []
        self.findings = findings
        self.files = files
        self.cache_hits = cache_hits
        self.seconds = seconds
        self.listed = listed or []
        self.stats = stats or []
        self.folders = folders or []
        self.events_lock = events_lock

    def __repr__(self) -> str:
        return f"Report({self.project!r}, {self.violations!r}, files={self.files})"


def run_check(
    root: str | os.PathLike[str],
    *,
    use_cache: bool = True,
    use_baseline: bool = True,
    listing: Listing | None = None,
) -> Report:
    """Check the codebase at ``root``; raises CheckConfigError for a broken configuration.

    With the cache, a run over files that have not changed since the last one (same
    paths, modification times and sizes, same settings, same events lock) reuses that
    run's findings. ``listing``, the last run's files when no folder changed since, spares
    listing them again.
    """
    started = time.perf_counter()
    folders: list[Folder] = []
    known = None
    tool = None
    if listing is not None and use_cache:
        known = (listing.listed, listing.stats, listing.folders, listing.skipped)
        tool = listing.tool
    prefetch: list[Prefetch] = []
    try:
        return _run(
            root, use_cache, use_baseline, listing, (known, tool), folders, prefetch, started
        )
    finally:
        for scanning in prefetch:
            scanning.close()


def _run(
    root: str | os.PathLike[str],
    use_cache: bool,
    use_baseline: bool,
    listing: Listing | None,
    last: tuple[Listed | None, dict[str, Any] | None],
    folders: list[Folder],
    prefetch: list[Prefetch],
    started: float,
) -> Report:
    def listed_now(root: str, settings: CheckSettings, files: list[tuple[str, str]]) -> None:
        """A cold check (no cache yet) starts scanning the files in children at once."""
        if use_cache:
            cache_dir = os.path.join(root, settings.cache_dir)
            cached = (os.path.join(cache_dir, name) for name in (IMPORTS_FILE, FILES_FILE))
            if any(map(os.path.exists, cached)):
                return  # the caches decide which files to read
        if Prefetch.worth(len(files)):
            paths = [os.path.join(root, relative) for relative, _ in files]
            # No process to spare (OSError): the files are scanned when the rules ask.
            with contextlib.suppress(OSError):
                prefetch.append(Prefetch(paths, settings.rule_on("parse-error")))

    known, tool = last
    project, listed, stats = load_project(
        root, folders, use_cache=use_cache, listing=known, on_listed=listed_now, tool=tool
    )
    settings = project.settings
    cache_dir = os.path.join(project.folder, settings.cache_dir) if use_cache else None
    lock = read_events_lock(project)
    key = _fingerprint(project, listed, stats, lock)
    remembered = _remembered(cache_dir, key)
    if remembered is not None:
        findings, kept, suppressed = remembered
        hits = len(listed)
    else:
        imports = listing.imports if listing is not None else None
        scanning = prefetch[0] if prefetch else None
        findings, kept, suppressed, hits = _check(
            project, listed, stats, cache_dir, lock, imports, scanning
        )
        # Every raw violation is in kept or suppressed once chosen; keep the graph only.
        findings.violations = []
        if cache_dir is not None and settled(mtime for mtime, _ in stats):
            plain = _plain_results(findings, kept, suppressed)
            results = marshal.dumps((CACHE_VERSION, key, plain))
            write_atomically(os.path.join(cache_dir, RESULTS_FILE), results)
    new, baselined, gone = kept, list[Violation](), list[dict[str, str]]()
    if use_baseline:
        new, baselined, gone = _split_by_baseline(project, kept)
    return Report(
        project,
        sorted(new, key=_order),
        baselined,
        suppressed,
        gone,
        findings,
        len(listed),
        hits,
        time.perf_counter() - started,
        listed,
        stats,
        folders,
        lock,
    )


RESULTS_FILE = "check-results.marshal"
Remembered = tuple[Findings, list[Violation], list[Violation]]


def _check(
    project: Project,
    listed: list[tuple[str, str]],
    stats: list[tuple[int, int]],
    cache_dir: str | None,
    lock: bytes | None,
    imports: ImportEntries | None = None,
    prefetch: Prefetch | None = None,
) -> tuple[Findings, list[Violation], list[Violation], int]:
    selected = _selected(EVENT_SCHEMA, project.settings)
    schemas = start_schema_check(project, lock) if selected else None
    try:
        findings, unreadable, comments, hits = _check_imports(
            project, listed, stats, cache_dir, imports, prefetch
        )
        events = schemas.violations(listed) if schemas is not None else []
    finally:
        if schemas is not None:
            schemas.close()
    problems = unknown_rules(comments)
    if problems:
        raise CheckConfigError(problems)
    raw = findings.violations + unreadable + _skipped(project) + events
    chosen = [v for v in raw if _selected(v.rule, project.settings)]
    scanned = {relative for relative, _ in listed}.difference(v.path for v in unreadable)
    kept, suppressed, used = apply_suppressions(chosen, comments, project.folder, scanned)
    modules = {v.path: v.module for v in unreadable}  # a module name for each commented file
    for relative, dotted in listed:
        if relative in comments:
            module = project.module_of(dotted)
            modules[relative] = module.name if module else ""
    unused = unused_suppressions(comments, used, project.settings, modules)
    more, quiet, _ = apply_suppressions(unused, comments, project.folder, scanned)
    return findings, kept + more, suppressed + quiet, hits


def _check_imports(
    project: Project,
    listed: list[tuple[str, str]],
    stats: list[tuple[int, int]],
    cache_dir: str | None,
    imports: ImportEntries | None = None,
    prefetch: Prefetch | None = None,
) -> tuple[Findings, list[Violation], Comments, int]:
    """Every rule but ``event-schema``, and the suppression comments of each file.

    Files that cannot be read or parsed are ``parse-error`` violations. What the rules found
    in each file is kept (``check-files.marshal``): a file unchanged since (same time and
    size, same settings, modules and list of files) is not read or judged again, so a run
    after an edit judges the edited files only.
    """
    root = project.folder
    context = file_context(project, listed)
    store = FileStore(cache_dir, context)
    reused: list[FileEntry | None] = []
    stale: list[tuple[str, int, int]] = []
    for (relative, _), (mtime, size) in zip(listed, stats, strict=True):
        entry = store.get(relative)
        if entry is None or entry[0] != mtime or entry[1] != size:
            stale.append((os.path.join(root, relative), mtime, size))
            entry = None
        reused.append(entry)
    cache = None
    if stale:
        judge = project.settings.rule_on("parse-error")
        cache = ImportCache(cache_dir, judge_syntax=judge, entries=imports, prefetch=prefetch)
    unreadable: list[Violation] = []
    comments: dict[str, tuple[Suppression, ...]] = {}
    parse: dict[str, tuple[Any, ...]] = {}

    def files() -> Iterator[SourceFile | tuple[str, FileFindings]]:
        scanned = iter(cache.scanned(stale)) if cache is not None else iter(())
        for (relative, dotted), entry in zip(listed, reused, strict=True):
            if entry is not None:
                if entry[3]:
                    unreadable.append(Violation(*entry[3]))
                if entry[4]:
                    comments[relative] = entry[4]
                yield relative, entry[2]
                continue
            imports, syntax, found = next(scanned)
            problem = None
            if isinstance(imports, UnreadableFile):
                problem = _unreadable(project, relative, dotted, imports)
                imports = ()
            elif syntax:
                problem = _syntax_error(project, relative, dotted, *syntax)
            if problem is not None:
                unreadable.append(problem)
                parse[relative] = tuple(problem)
            if found:
                comments[relative] = found
            yield SourceFile(relative, dotted, relative.endswith("__init__.py"), imports)

    known = with_parents({dotted for _, dotted in listed})
    judged: dict[str, FileFindings] = {}
    findings = check_files(project, files(), known, judged)
    if cache is not None:
        cache.save({os.path.join(root, relative) for relative, _ in listed})
    store.save(listed, stats, reused, judged, parse, comments)
    hits = len(listed) - len(stale) + (cache.hits if cache is not None else 0)
    return findings, unreadable, comments, hits


def _split_by_baseline(
    project: Project, kept: list[Violation]
) -> tuple[list[Violation], list[Violation], list[dict[str, str]]]:
    """(new, known, gone) against the baseline file; a baseline that cannot be read is an error."""
    path = os.path.join(project.folder, project.settings.baseline)
    try:
        return split_by_baseline(kept, read_baseline(path))
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        problem = f"{type(error).__name__}: {error}" if isinstance(error, KeyError) else error
        raise CheckConfigError(
            [
                f"the baseline cannot be read ({problem}); restore it from version control "
                "or write it again with `dolmen check --write-baseline`"
            ],
            os.path.relpath(path, project.folder),
        ) from None


def _skipped(project: Project) -> list[Violation]:
    """A ``parse-error`` for each file or folder that could not be looked at."""
    violations = []
    for relative, dotted, reason in project.skipped:
        module = project.module_of(dotted) if dotted else None
        violations.append(
            Violation("parse-error", f"{reason}; fix or remove it so that it can be checked",
                      relative, 1, 1, module.name if module else "", relative)
        )  # fmt: skip
    return violations


def _unreadable(project: Project, relative: str, dotted: str, error: UnreadableFile) -> Violation:
    module = project.module_of(dotted)
    return Violation(
        "parse-error",
        f"cannot read this file as Python ({error.reason}); fix it so its imports can be checked",
        relative, max(error.line, 1), 1, module.name if module else "", relative,
    )  # fmt: skip


def _syntax_error(project: Project, relative: str, dotted: str, line: int, error: str) -> Violation:
    module = project.module_of(dotted)
    return Violation(
        "parse-error",
        f"{PYTHON}, which runs the check, cannot parse this file ({error}); fix it (code "
        "written for a newer Python needs dolmen check run by that Python). Its imports are "
        "checked all the same",
        relative, max(line, 1), 1, module.name if module else "", relative,
    )  # fmt: skip


def _fingerprint(
    project: Project,
    listed: list[tuple[str, str]],
    stats: list[tuple[int, int]],
    lock: bytes | None,
) -> bytes:
    """What a run's findings depend on: settings, modules, app, events lock, every file.

    Kept whole rather than hashed: comparing it costs less than loading a hash library.
    """
    inputs = (project.settings, project.modules, project.app, project.app_dir, project.skipped)
    files = "".join(
        f"{relative}\0{mtime}\0{size}\n"
        for (relative, _), (mtime, size) in zip(listed, stats, strict=True)
    )
    lock_part = b"-" if lock is None else b"+%d\0%s" % (len(lock), lock)
    return b"\0".join((repr(inputs).encode(), lock_part, files.encode()))


def _remembered(cache_dir: str | None, key: bytes) -> Remembered | None:
    """The last run's results, when its key is ``key``; a file that cannot be read is dropped."""
    if cache_dir is None:
        return None
    path = os.path.join(cache_dir, RESULTS_FILE)
    try:
        with open(path, "rb") as file:
            stored = file.read()
    except OSError:
        return None
    try:
        version, stored_key, plain = marshal.loads(stored)
        if version != CACHE_VERSION or stored_key != key:
            return None
        return _results_from(plain)
    except (EOFError, ValueError, TypeError) as error:
        warn_discarded(path, error)
        return None


def _plain_results(
    findings: Findings, kept: list[Violation], suppressed: list[Violation]
) -> tuple[Any, ...]:
    """The results as tuples of strings and numbers, for marshal."""
    edges = tuple((e.source, e.target, e.where, e.event_only) for e in findings.edges.values())
    cycles = tuple(tuple(cycle) for cycle in findings.cycles)
    return (edges, cycles, tuple(map(tuple, kept)), tuple(map(tuple, suppressed)))


def _results_from(plain: tuple[Any, ...]) -> Remembered:
    edges, cycles, kept, suppressed = plain
    findings = Findings(
        edges={(e[0], e[1]): Edge(e[0], e[1], tuple(e[2]), bool(e[3])) for e in edges},
        cycles=[list(cycle) for cycle in cycles],
    )
    return findings, [Violation(*v) for v in kept], [Violation(*v) for v in suppressed]


def _selected(rule: str, settings: CheckSettings) -> bool:
    """Whether ``rule`` is on: in ``select`` (or no select given) and not in ``ignore``."""
    return settings.rule_on(rule)


def _order(violation: Violation) -> tuple[str, str, int, int, str]:
    return (violation.module, violation.path, violation.line, violation.col, violation.rule)

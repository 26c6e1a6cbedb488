"""Remembered answers: a warm ``dolmen check`` on an unchanged tree, answered at once.

After a full check, the command stores exactly what it printed (standard output, standard
error, exit status) under a key made of everything that output depends on: the Dolmen
version, the folder, the output format, the bytes of ``pyproject.toml``, of the baseline
file and of the events lock, and the path, modification time and size of every Python file
under the source roots. The next ``dolmen check [PATH] [--format F]`` checks that no folder
changed, stats the files, computes the key and, when it matches, prints the stored answer
without loading the rules or the CLI library.

After an edit, a few files have new times or sizes. Each one is read again and scanned;
when none of them has other imports (at the same lines), another syntax verdict or other
suppression comments than when the answer was computed, and none declares a module, the
answer still holds and is printed again (an edit in a function body, in a docstring).
Anything unusual (other options, an unreadable ``pyproject.toml``, no stored answer) falls
through to the full command, which is always right.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from dolmen._version import __version__
from dolmen.check._files import (
    CACHE_VERSION,
    DEFAULT_CACHE_DIR,
    Folder,
    excluded_paths,
    folder_unchanged,
    settled,
    stat_files,
)

FORMATS = ("text", "json", "sarif", "github")
"""The output formats whose answers are remembered."""


def answer_key(
    root: str,
    output_format: str,
    pyproject: bytes,
    baseline: bytes | None,
    events_lock: bytes | None,
    listed: Sequence[tuple[str, str]],
    stats: Sequence[tuple[int, int]],
) -> bytes:
    """The identity of one check's inputs, in full (no hash): equal keys give equal output."""
    files = "\0".join(
        f"{relative}\0{mtime}\0{size}"
        for (relative, _), (mtime, size) in zip(listed, stats, strict=True)
    )
    return answer_inputs(root, output_format, pyproject, baseline, events_lock) + files.encode()


def answer_inputs(
    root: str,
    output_format: str,
    pyproject: bytes,
    baseline: bytes | None,
    events_lock: bytes | None,
) -> bytes:
    """The start of :func:`answer_key`: everything but the files (their sizes make it unique)."""
    optional = (baseline, events_lock)
    sizes = tuple(-1 if part is None else len(part) for part in optional)
    head = repr((CACHE_VERSION, __version__, root, output_format, len(pyproject), sizes)).encode()
    return b"\0".join((head, pyproject, *(part or b"" for part in optional), b""))


def answer_file(root: str, cache_dir: str, output_format: str) -> str:
    """Where the answer for ``output_format`` is kept."""
    return os.path.join(root, cache_dir, f"check-answer-{output_format}.marshal")


Settings = dict[str, Any]
"""What the answer reads of the settings: ``exclude``, ``baseline``, ``events-lock``,
``cache-dir``, ``select``, ``ignore`` (as in ``[tool.dolmen.check]``) and ``app``."""


class Listing(NamedTuple):
    """The files of the last run, still there (no folder changed), for a check after an edit.

    Handed to the full check, which then lists no folder and stats no file again;
    ``imports`` is the import cache's content when it was read to compare the edited files.
    """

    listed: list[tuple[str, str]]
    stats: list[tuple[int, int]]
    folders: list[Folder]
    skipped: tuple[tuple[str, str, str], ...]
    imports: Any
    """The import cache as read (:class:`dolmen.check._cache.ImportEntries`), or None."""
    tool: dict[str, Any] | None
    """``[tool.dolmen]`` as parsed from the same ``pyproject.toml`` by the last full run."""


def store(
    file: str,
    key: bytes,
    read: tuple[bytes, Settings],
    listing: tuple[list[Folder], list[tuple[str, str]], Sequence[tuple[int, int]], Any],
    declaring: Sequence[str],
    printed: tuple[str, str, int],
) -> None:
    """Keep the answer of a full check, ``printed`` as (stdout, stderr, exit status).

    ``read`` is ``pyproject.toml``'s bytes and the settings read from it (so that, while
    they are the same, the next run does not parse it), ``listing`` the folders listed,
    the files, their (mtime_ns, size) the answer was computed from and the files and
    folders that could not be looked at, and ``declaring`` the files that declare modules
    with ``Module(...)``.
    """
    pyproject, settings = read
    folders, listed, stats, skipped = listing
    stored = (CACHE_VERSION, key, pyproject, settings, folders, listed, list(stats),
              list(declaring), list(skipped), *printed)  # fmt: skip
    temporary = f"{file}.tmp"
    with open(temporary, "wb") as out:
        out.write(marshal.dumps(stored))
    os.replace(temporary, file)


def read_optional(path: str) -> bytes | None:
    """The bytes of ``path``, or None when there is no such file."""
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return None


def replay(argv: Sequence[str]) -> int | None:
    """Answer ``dolmen check`` with ``argv`` without the CLI library; None to leave it to the CLI.

    The remembered answer when it holds, else the check run at once (see
    :mod:`dolmen.check._command`), for the plain forms ``check [PATH] [--format F]``.
    """
    parsed = _parse(argv)
    if parsed is None:
        return None
    path, output_format = parsed
    code = _replayed(path, output_format)
    if isinstance(code, int):
        return code
    from dolmen.check._command import check_plainly

    return check_plainly(path, output_format, code)


def _replayed(path: str, output_format: str) -> int | Listing | None:
    """Print the remembered answer for this check; else what of it still holds, or None.

    The files are not listed again: while every folder listed last time keeps its
    modification time, no file was added, removed or renamed, so last time's list holds.
    A folder that had changed just before it was listed is listed again and compared.
    When files changed so that the answer may not hold, their list is returned for the
    check to run on.
    """
    root = os.path.realpath(path)
    try:
        pyproject = read_optional(os.path.join(root, "pyproject.toml"))
        if pyproject is None:
            return None
        file, stored = _stored(root, output_format, pyproject)
        if stored is None:
            return None
        _, key, _, table, folders, listed, stats, declaring, skipped, stdout, stderr, code = stored
        excluded = excluded_paths(root, table["exclude"])
        baseline = read_optional(os.path.join(root, table["baseline"]))
        lock = read_optional(os.path.join(root, table["events-lock"]))
        if not all(folder_unchanged(folder, excluded) for folder in folders):
            return None
        now = stat_files(root, listed)
        fresh = answer_key(root, output_format, pyproject, baseline, lock, listed, now)
        if fresh != key:
            imports: list[Any] = []
            inputs = answer_inputs(root, output_format, pyproject, baseline, lock)
            last = (listed, now, folders, tuple(map(tuple, skipped)))
            if not key.startswith(inputs) or not _same_after_edits(
                root, table, last, stats, declaring, imports
            ):
                read = imports[0] if imports else None
                parsed = table.get("tool")
                return Listing(listed, now, folders, tuple(map(tuple, skipped)), read, parsed)
            if settled(mtime for mtime, _ in now):
                printed = (stdout, stderr, code)
                listing = (folders, listed, now, skipped)
                store(file, fresh, (pyproject, table), listing, declaring, printed)
    except (KeyError, TypeError, ValueError, EOFError, OSError, UnicodeDecodeError):
        return None  # the full command reports whatever is wrong
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    return int(code)


def _stored(root: str, output_format: str, pyproject: bytes) -> tuple[str, Any]:
    """The answer file and what it holds, if it was computed with this ``pyproject.toml``.

    The answer is looked for in the default cache folder first: when it was computed with
    the same ``pyproject.toml``, its settings hold and the file is not parsed (its parser
    costs a tenth of a warm run); else ``[tool.dolmen.check] cache-dir`` says where it is.
    """
    default = answer_file(root, DEFAULT_CACHE_DIR, output_format)
    stored = _load(default)
    if stored is not None and stored[2] == pyproject:
        return default, stored
    import tomllib

    table = tomllib.loads(pyproject.decode())["tool"]["dolmen"]["check"]
    file = answer_file(root, table.get("cache-dir", DEFAULT_CACHE_DIR), output_format)
    stored = _load(file) if file != default else stored
    return file, stored if stored is not None and stored[2] == pyproject else None


def _load(file: str) -> Any:
    data = read_optional(file)
    if data is None:
        return None
    stored = marshal.loads(data)
    return stored if stored[0] == CACHE_VERSION else None


EDITS = 20
"""At most this many changed files are read again to see whether the last answer holds."""


def _same_after_edits(
    root: str,
    table: Settings,
    last: tuple[list[tuple[str, str]], list[tuple[int, int]], list[Folder], tuple[Any, ...]],
    stats: Sequence[tuple[int, int]],
    declaring: Sequence[str],
    imports: list[Any],
) -> bool:
    """Whether the files changed since the answer (``stats`` -> ``last``'s) leave it unchanged.

    ``last`` is the listing as it is now: files, their (mtime_ns, size), folders, skipped.
    Each changed file is scanned again and compared with the import cache's entry for it, if
    that entry is the one the answer was computed from (same time and size): the same
    imports at the same lines, syntax verdict and suppression comments give the same
    answer, unless the file declares (or declared) a module, or the ``event-schema`` rule
    imports the app (an edit may change an event). Files whose imports changed are judged
    by the rules (:mod:`dolmen.check._same_findings`): the same findings give the same
    answer too. The import cache, once read, is added to ``imports`` (only the parts
    holding the changed files are decoded).
    """
    listed, now = last[0], last[1]
    changed = [index for index, (old, new) in enumerate(zip(stats, now, strict=True)) if old != new]
    if not changed or len(changed) > EDITS or len(stats) != len(now):
        return False
    select, ignore = table["select"], table["ignore"]

    def on(rule: str) -> bool:  # CheckSettings.rule_on, without loading the settings
        return (not select or rule in select) and rule not in ignore

    if table["app"] is not None and on("event-schema"):
        return False
    from dolmen.check._cache import IMPORTS_FILE, ImportEntries, scan_quietly  # files changed

    entries = ImportEntries.read(os.path.join(root, table["cache-dir"], IMPORTS_FILE))
    if not entries.parts:
        return False
    imports.append(entries)

    judge = on("parse-error")
    edited: list[tuple[int, Any]] = []
    for index in changed:
        relative = listed[index][0]
        path = os.path.join(root, relative)
        entry = entries.get(path)
        if relative in declaring or entry is None or tuple(entry[:2]) != tuple(stats[index]):
            return False
        with open(path, "rb") as file:
            data = file.read()
        if b"Module" in data:
            return False  # it may declare a module now
        found = scanned, syntax, suppressions = scan_quietly(data, path, judge)
        entries.scanned_now[path] = (*now[index], judge, found)  # not scanned again
        if suppressions != entry[4] or (judge and syntax != entry[3]):
            return False
        if scanned != entry[2]:
            if _unreadable(scanned) or _unreadable(entry[2]):
                return False
            edited.append((index, scanned))
    if edited:
        from dolmen.check._same_findings import same_findings  # imports changed

        return same_findings(root, table.get("tool"), last, stats, edited)
    return True


def _unreadable(scanned: Any) -> bool:
    """Whether a scan says the file cannot be read (``(line, reason)``, not imports)."""
    return bool(scanned) and isinstance(scanned[0], int)


def _parse(argv: Sequence[str]) -> tuple[str, str] | None:
    """``check [PATH] [--format F]`` as (path, format); None for anything else."""
    if not argv or argv[0] != "check":
        return None
    path, output_format = None, "text"
    rest = list(argv[1:])
    while rest:
        word = rest.pop(0)
        if word == "--format" and rest:
            output_format = rest.pop(0)
        elif word.startswith("--format="):
            output_format = word.partition("=")[2]
        elif word.startswith("-") or path is not None:
            return None
        else:
            path = word
    if output_format not in FORMATS:
        return None
    return path or ".", output_format

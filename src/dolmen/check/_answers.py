"""Remembered answers: a warm ``dolmen check`` on an unchanged tree, answered at once.

After a full check, the command stores exactly what it printed (standard output, standard
error, exit status) under a key made of everything that output depends on: the Dolmen
version, the folder, the output format, the bytes of ``pyproject.toml``, of the baseline
file and of the events lock, and the path, modification time and size of every Python file
under the source roots. The next ``dolmen check [PATH] [--format F]`` checks that no folder
changed, stats the files, computes the key and, when it matches, prints the stored answer
without loading the rules or the CLI library.
Anything unusual (other options, an unreadable ``pyproject.toml``, no stored answer) falls
through to the full command, which is always right.
"""

from __future__ import annotations

import marshal
import os
import sys
import tomllib
from collections.abc import Sequence

from dolmen._version import __version__
from dolmen.check._files import (
    CACHE_VERSION,
    DEFAULT_BASELINE,
    DEFAULT_CACHE_DIR,
    DEFAULT_EVENTS_LOCK,
    Folder,
    excluded_paths,
    folder_unchanged,
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
    optional = (baseline, events_lock)
    sizes = tuple(-1 if part is None else len(part) for part in optional)
    head = repr((CACHE_VERSION, __version__, root, output_format, len(pyproject), sizes)).encode()
    return b"\0".join((head, pyproject, *(part or b"" for part in optional), files.encode()))


def answer_file(root: str, cache_dir: str, output_format: str) -> str:
    """Where the answer for ``output_format`` is kept."""
    return os.path.join(root, cache_dir, f"check-answer-{output_format}.marshal")


def store(
    file: str,
    key: bytes,
    folders: list[Folder],
    listed: list[tuple[str, str]],
    printed: tuple[str, str, int],
) -> None:
    """Keep the answer of a full check, ``printed`` as (stdout, stderr, exit status)."""
    temporary = f"{file}.tmp"
    with open(temporary, "wb") as out:
        out.write(marshal.dumps((CACHE_VERSION, key, folders, listed, *printed)))
    os.replace(temporary, file)


def read_optional(path: str) -> bytes | None:
    """The bytes of ``path``, or None when there is no such file."""
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return None


def replay(argv: Sequence[str]) -> int | None:
    """Print the remembered answer to ``dolmen check`` with ``argv``; None to run it for real.

    The files are not listed again: while every folder listed last time keeps its
    modification time, no file was added, removed or renamed, so last time's list holds.
    A folder that had changed just before it was listed is listed again and compared.
    """
    parsed = _parse(argv)
    if parsed is None:
        return None
    path, output_format = parsed
    root = os.path.realpath(path)
    try:
        pyproject = read_optional(os.path.join(root, "pyproject.toml"))
        if pyproject is None:
            return None
        table = tomllib.loads(pyproject.decode())["tool"]["dolmen"]["check"]
        excluded = excluded_paths(root, table.get("exclude", ()))
        baseline = read_optional(os.path.join(root, table.get("baseline", DEFAULT_BASELINE)))
        lock = read_optional(os.path.join(root, table.get("events-lock", DEFAULT_EVENTS_LOCK)))
        stored = read_optional(
            answer_file(root, table.get("cache-dir", DEFAULT_CACHE_DIR), output_format)
        )
        if stored is None:
            return None
        version, key, folders, listed, stdout, stderr, code = marshal.loads(stored)
        if version != CACHE_VERSION:
            return None
        if not all(folder_unchanged(folder, excluded) for folder in folders):
            return None
        fresh = answer_key(
            root, output_format, pyproject, baseline, lock, listed, stat_files(root, listed)
        )
    except (KeyError, TypeError, ValueError, EOFError, OSError, UnicodeDecodeError):
        return None  # the full command reports whatever is wrong
    if fresh != key:
        return None
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    return int(code)


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

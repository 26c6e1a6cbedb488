"""``dolmen check [PATH] [--format F]`` without the CLI library: what most runs are.

:func:`dolmen.check._answers.replay` answers an unchanged tree from the last run; when it
cannot, this runs the check itself, prints and remembers the answer, so a cold run or a run
after an edit does not load click either. Anything unusual (an error of the configuration
or of the check) is left to the full command, which reports it as the CLI does.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dolmen.check._answers import Listing
    from dolmen.check._runner import Report


def check_plainly(path: str, output_format: str, listing: Listing | None = None) -> int | None:
    """Check the codebase at ``path``, print the answer; None to leave it to the CLI.

    ``listing`` is the last run's list of files, when it still holds (see
    :func:`dolmen.check._answers.replay`).
    """
    if not os.path.isdir(path):
        return None  # the CLI says what is wrong with the path
    from dolmen.check import _files
    from dolmen.check._runner import run_check

    _files.cli_logging = True  # a discarded cache file is logged as the CLI logs
    try:
        report = run_check(path, listing=listing)
        stdout, stderr, code = answer(report, output_format)
        remember(report, output_format, (stdout, stderr, code))
    except Exception:  # the CLI runs it again (the caches make that quick) and reports it
        return None
    sys.stdout.write(stdout)
    sys.stdout.flush()
    sys.stderr.write(stderr)
    return code


def answer(report: Report, output_format: str) -> tuple[str, str, int]:
    """What ``dolmen check`` prints for ``report``: (stdout, stderr, exit status)."""
    from dolmen.check._output import render, summary

    stdout = render(report, output_format) + "\n"
    stderr = summary(report) + "\n" if output_format in ("json", "sarif") else ""
    return stdout, stderr, 1 if report.violations else 0


def remember(report: Report, output_format: str, printed: tuple[str, str, int]) -> None:
    """Keep this answer, so the same check on the same files is answered at once."""
    from dolmen.check._answers import answer_file, answer_key, read_optional, store
    from dolmen.check._files import settled

    if not settled(mtime for mtime, _ in report.stats):
        return  # a file changed just now: answer in full next time too
    root = report.project.folder
    settings = report.project.settings
    pyproject = read_optional(os.path.join(root, "pyproject.toml")) or b""
    table = {
        "exclude": list(settings.exclude), "baseline": settings.baseline,
        "events-lock": settings.events_lock, "cache-dir": settings.cache_dir,
        "select": list(settings.select), "ignore": list(settings.ignore),
        "app": report.project.app, "tool": _parsed(report.project.tool),
    }  # fmt: skip
    key = answer_key(
        root,
        output_format,
        pyproject,
        read_optional(os.path.join(root, settings.baseline)),
        report.events_lock,  # the lock this answer was computed from, not today's file
        report.listed,
        report.stats,
    )
    file = answer_file(root, settings.cache_dir, output_format)
    declaring = {m.declared_at.rpartition(":")[0] for m in report.project.modules}
    with contextlib.suppress(OSError):  # a read-only folder: answer every time in full
        listing = (report.folders, report.listed, report.stats, report.project.skipped)
        store(file, key, (pyproject, table), listing, sorted(declaring), printed)


def _parsed(tool: dict[str, Any] | None) -> dict[str, Any] | None:
    """``[tool.dolmen]`` if it can be kept as marshal data (TOML dates cannot)."""
    import marshal

    try:
        marshal.dumps(tool)
    except ValueError:
        return None
    return tool

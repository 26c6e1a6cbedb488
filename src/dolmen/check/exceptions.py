"""Errors of ``dolmen check`` itself (as opposed to violations it finds)."""

from __future__ import annotations


class CheckConfigError(ValueError):
    """The check's configuration is wrong, or there is nothing to check; exit status 2.

    A rule names a module or layer that does not exist, a module is declared twice, a
    value has the wrong type, a root folder is missing, no module is declared. ``file``
    names the file at fault (pyproject.toml, the baseline) when there is one.
    """

    def __init__(self, problems: list[str], file: str | None = None) -> None:
        self.problems = problems
        self.file = file
        where = f" in {file}" if file else ""
        if len(problems) == 1:
            message = f"configuration error{where}: {problems[0]}"
        else:
            listed = "".join(f"\n  - {p}" for p in problems)
            message = f"{len(problems)} configuration errors{where}:{listed}"
        super().__init__(message)

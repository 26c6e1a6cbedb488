"""The ``event-schema`` rule: the app's events against the events lock kept in the repository.

It is the one rule that needs the code imported (an event's JSON schema exists only once
pydantic has built its class), so it imports the app named by ``[tool.dolmen] app`` in a
child process: the check's own process keeps its ``sys.path`` and ``sys.modules`` clean (a
test or an editor integration may check several projects, or the same one after an edit),
and whatever the app does on import (print, exit, crash) cannot take the check down with it.
The child writes no bytecode (``-B``: checking leaves the source tree as it was) and does not
put its working folder on the import path (``-P``): only ``[tool.dolmen] app-dir`` is added.
It starts before the other rules run and is collected after them, so its start-up overlaps
their work.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from dolmen.check._model import Violation
from dolmen.check.exceptions import CheckConfigError

if TYPE_CHECKING:
    from dolmen.check._project import Project

RULE = "event-schema"
TIMEOUT_SECONDS = 120.0
_CHILD = (  # dolmen's own folder comes last: used only if the interpreter lacks dolmen
    "import sys; sys.path.append(sys.argv[6]); from dolmen.check._event_schemas import main; main()"
)


def read_events_lock(project: Project) -> bytes | None:
    """The bytes of the project's events lock, or None when it has none."""
    try:
        with open(os.path.join(project.folder, project.settings.events_lock), "rb") as file:
            return file.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CheckConfigError([f"cannot read {project.settings.events_lock}: {error}"]) from None


class SchemaCheck:
    """The app's events being compared with the lock, in a child process."""

    def __init__(self, project: Project, app: str, lock: bytes) -> None:
        import subprocess  # only when a lock exists: a check without one never pays for it
        import tempfile
        from pathlib import Path

        self.project, self.app, self.lock = project, app, lock
        self._folder = tempfile.TemporaryDirectory(prefix="dolmen-event-schema-")
        folder = Path(self._folder.name)
        (folder / "lock.json").write_bytes(lock)
        self._result, self._output = folder / "result.json", folder / "output.txt"
        app_dir = str((project.root / project.app_dir).resolve())
        dolmen_home = str(Path(__file__).resolve().parents[2])
        try:
            with self._output.open("wb") as output:
                self._process = subprocess.Popen(
                    [sys.executable, "-B", "-P", "-c", _CHILD, app, app_dir,
                     str(folder / "lock.json"), str(self._result), project.settings.events_lock,
                     dolmen_home],
                    cwd=project.root, stdin=subprocess.DEVNULL, stdout=output,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
        except OSError as error:
            self._folder.cleanup()
            raise CheckConfigError([f"cannot start {sys.executable}: {error}"]) from None

    def violations(self, listed: list[tuple[str, str]]) -> list[Violation]:
        """Wait for the child; its problems as violations. Raises CheckConfigError."""
        import subprocess

        try:
            status = self._process.wait(TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise CheckConfigError(
                [f"importing the app {self.app!r} to compare its events with "
                 f"{self.project.settings.events_lock} took over {TIMEOUT_SECONDS:.0f} s; "
                 "make importing it fast (nothing should connect or wait at import time)"]
            ) from None  # fmt: skip
        try:
            result = json.loads(self._result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            output = self._output.read_text(errors="replace")
            raise CheckConfigError(
                [f"importing the app {self.app!r} to compare its events with "
                 f"{self.project.settings.events_lock} failed (exit status {status}): "
                 f"{output.strip()[-2000:] or 'no output'}"]
            ) from None  # fmt: skip
        if "error" in result:
            raise CheckConfigError([str(result["error"])])
        dotted = {relative: name for relative, name in listed}
        return [self._violation(problem, dotted) for problem in result["problems"]]

    def close(self) -> None:
        """Stop the child if it still runs, and remove its files."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._folder.cleanup()

    def _violation(self, problem: dict[str, Any], dotted: dict[str, str]) -> Violation:
        """A problem at its event's class, or, for an event no class declares, in the lock."""
        event, root = str(problem["event"]), self.project.root
        if problem["file"] is not None:
            path, line = str(problem["file"]), int(problem["line"])
            relative = os.path.relpath(path, root)
            path = path if relative.startswith(os.pardir) else relative
        else:
            path, line = os.path.normpath(self.project.settings.events_lock), self._line_of(event)
        name = dotted.get(path)
        module = self.project.module_of(name) if name is not None else None
        owner = module.name if module is not None else event.partition(".")[0]
        return Violation(RULE, str(problem["message"]), path, line, 1, owner, event)

    def _line_of(self, event: str) -> int:
        """The line of the lock where ``event``'s entry starts (1 if it cannot be found)."""
        key = json.dumps(event) + ":"
        lines = self.lock.decode("utf-8", errors="replace").splitlines()
        return next((n for n, text in enumerate(lines, 1) if text.strip().startswith(key)), 1)


def start_schema_check(project: Project, lock: bytes | None) -> SchemaCheck | None:
    """Start comparing the app's events with ``lock``; None when the project has no lock.

    Raises CheckConfigError when there is a lock but no ``[tool.dolmen] app`` to compare.
    """
    if lock is None:
        return None
    if project.app is None:
        raise CheckConfigError(
            [f"{project.settings.events_lock} exists but [tool.dolmen] in pyproject.toml has no "
             "app = 'package.module:attribute': set it (and app-dir) so dolmen check can "
             "compare the app's events with the lock, or remove the lock"]
        )  # fmt: skip
    return SchemaCheck(project, project.app, lock)


def main() -> None:
    """In the child: import the app, compare its events with the lock, write the result."""
    app, app_dir, lock_file, result_file, lock_name = sys.argv[1:6]
    try:
        result: dict[str, Any] = {"problems": _problems(app, app_dir, lock_file, lock_name)}
    except _Failure as failure:
        result = {"error": str(failure)}
    with open(result_file, "w", encoding="utf-8") as file:
        json.dump(result, file)


class _Failure(Exception):
    """Why the child could not compare the app's events with the lock."""


def _problems(spec: str, app_dir: str, lock_file: str, lock_name: str) -> list[dict[str, Any]]:
    from pathlib import Path

    from dolmen.events.exceptions import EventDeclarationError, LockFileError
    from dolmen.events.lock import compare, event_classes, parse_lock

    try:
        lock = parse_lock(Path(lock_file).read_text(encoding="utf-8"), lock_name)
    except (LockFileError, UnicodeDecodeError) as error:
        raise _Failure(str(error)) from None
    app = _import_app(spec, app_dir)
    try:
        classes = event_classes(app.modules)
    except EventDeclarationError as error:
        raise _Failure(str(error)) from None
    except Exception as error:  # a module's api that cannot be imported
        raise _Failure(
            f"cannot list the events of the app {spec!r}: {type(error).__name__}: {error}"
        ) from None
    return [
        {"event": p.event, "message": p.message, "file": p.file, "line": p.line}
        for p in compare(lock, classes)
    ]


def _import_app(spec: str, app_dir: str) -> Any:
    """The App that ``spec`` (``package.module:attribute``) names, ``app_dir`` first on the path."""
    import importlib
    import traceback

    from dolmen.modules import App

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise _Failure(
            f"[tool.dolmen] app must read 'package.module:attribute' (e.g. 'shop.app:app'), "
            f"got {spec!r}"
        )
    sys.path.insert(0, app_dir)
    try:
        module = importlib.import_module(module_name)
        app = getattr(module, attribute)
    except (Exception, SystemExit) as error:
        frame = traceback.extract_tb(error.__traceback__)[-1:]
        where = f" at {frame[0].filename}:{frame[0].lineno}" if frame else ""
        raise _Failure(
            f"cannot import the app {spec!r} (app-dir {app_dir}) to compare its events with "
            f"the lock: {type(error).__name__}: {error}{where}"
        ) from None
    if not isinstance(app, App):
        raise _Failure(f"[tool.dolmen] app {spec!r} is a {type(app).__name__}, not a dolmen.App")
    return app

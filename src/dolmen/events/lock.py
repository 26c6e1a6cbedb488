"""The events lock: every event's JSON schema, kept in the repository, and what breaks it.

Stored events outlive the code that wrote them. ``dolmen events lock`` records each event's
name, version, JSON schema and upcasters in a lock file committed with the code;
``dolmen check`` compares the code with that file and fails on a change that would leave
stored events unreadable (a removed field, a changed type, a new required field) unless the
version was bumped and upcasters lead from the locked version to the new one.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeGuard

from dolmen.events._event import Event
from dolmen.events._schema_diff import Json, schema_changes
from dolmen.events.exceptions import EventDeclarationError, LockFileError

__all__ = [
    "LOCK_VERSION",
    "Declaring",
    "SchemaProblem",
    "Subscribing",
    "compare",
    "event_classes",
    "lock_document",
    "parse_lock",
    "read_lock",
    "render_lock",
    "stale",
    "write_lock",
]


class Subscribing(Protocol):
    """A subscription, as the lock reads it: the event type a handler takes."""

    @property
    def event_type(self) -> type[Event]:
        """The event class the handler takes."""
        ...


class Declaring(Protocol):
    """A module, as the lock reads it: its package and its handlers' subscriptions."""

    @property
    def package(self) -> str:
        """The dotted package of the module; its events are in ``<package>.api``."""
        ...

    @property
    def subscriptions(self) -> Sequence[Subscribing]:
        """The module's handlers, each with its event type."""
        ...


LOCK_VERSION = 1
"""The format of the lock file; a lock of another format is refused, never guessed at."""


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """An event whose code breaks the events stored under the lock's version of it.

    ``file`` and ``line`` point at the event's class (None and 1 when no class declares the
    event any more, or its source cannot be found).
    """

    event: str
    message: str
    file: str | None = None
    line: int = 1


def event_classes(modules: Iterable[Declaring]) -> list[type[Event]]:
    """Every event of ``modules`` (an app's: ``event_classes(app.modules)``), sorted by name.

    That is the event types its handlers subscribe to, and every ``Event`` subclass in each
    module's ``api`` (``<package>.api``, imported here). Raises EventDeclarationError when
    two different classes carry the same event name.
    """
    found: dict[str, type[Event]] = {}
    for module in modules:
        for event_type in _api_events(module.package):
            _add(found, event_type)
        for subscription in module.subscriptions:
            _add(found, subscription.event_type)
    return [found[name] for name in sorted(found)]


def lock_document(classes: Iterable[type[Event]]) -> Json:
    """The lock for ``classes``: ``{"lock_version": 1, "events": {name: entry}}``.

    Each entry holds the event's ``version``, its ``schema`` (``model_json_schema()``) and
    the versions it has upcasters from (``upcasters_from``).
    """
    found: dict[str, type[Event]] = {}
    for cls in classes:
        _add(found, cls)
    events = {
        name: {
            "version": cls.event_version,
            "schema": cls.model_json_schema(),
            "upcasters_from": sorted(cls.event_upcasters),
        }
        for name, cls in sorted(found.items())
    }
    return {"lock_version": LOCK_VERSION, "events": events}


def render_lock(document: Json) -> str:
    """The lock as written to its file: sorted keys, two-space indents, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_lock(path: str | os.PathLike[str], classes: Iterable[type[Event]]) -> None:
    """Write the lock of ``classes`` to ``path`` atomically (readers see the old or the new)."""
    target = Path(path)
    text = render_lock(lock_document(classes))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_lock(path: str | os.PathLike[str]) -> Json:
    """The lock at ``path``; raises LockFileError, naming the file, when it cannot be used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockFileError(f"{path} does not exist; write it with `dolmen events lock`") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LockFileError(f"cannot read {path}: {error}") from None
    return parse_lock(text, str(path))


def parse_lock(text: str, source: str) -> Json:
    """The lock in ``text`` (read from ``source``, named in errors); raises LockFileError."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise LockFileError(
            f"{source} is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); restore it from version control or write it again with "
            "`dolmen events lock`"
        ) from None
    if not isinstance(document, dict) or "lock_version" not in document:
        raise LockFileError(f"{source} is not an events lock (it has no lock_version)")
    if document["lock_version"] != LOCK_VERSION:
        raise LockFileError(
            f"{source} has lock_version {document['lock_version']!r}; this Dolmen reads "
            f"lock_version {LOCK_VERSION}: upgrade Dolmen, or write the lock again"
        )
    events = document.get("events")
    if not isinstance(events, dict):
        raise LockFileError(f"{source} is not an events lock: 'events' must be an object")
    for name, entry in events.items():
        if not _valid_entry(entry):
            raise LockFileError(
                f"{source}: the entry of event {name!r} must be an object with an integer "
                "'version' >= 1, a 'schema' object and an 'upcasters_from' list of integers"
            )
    return document


def stale(lock: Json, classes: Iterable[type[Event]]) -> bool:
    """Whether ``lock`` differs from the lock :func:`write_lock` would write for ``classes``."""
    return render_lock(lock) != render_lock(lock_document(classes))


def compare(lock: Json, classes: Iterable[type[Event]]) -> list[SchemaProblem]:
    """What in ``classes`` breaks the events stored under ``lock``, one problem per event.

    Breaking: an event of the lock no class declares; a lower version; at the locked
    version, a removed field, a changed type or a new required field; a newer version
    without an upcaster for every step from the locked one; a locked upcaster removed.
    Events not in the lock yet, and compatible changes, are no problem (run
    ``dolmen events lock`` to record them).
    """
    current = {cls.event_name: cls for cls in classes}
    problems = []
    for name, entry in sorted(lock["events"].items()):
        cls = current.get(name)
        if cls is None:
            problems.append(SchemaProblem(name, _gone(name)))
            continue
        message = _problem(entry, cls)
        if message is not None:
            problems.append(SchemaProblem(name, message, *_source_of(cls)))
    return problems


def _add(found: dict[str, type[Event]], cls: type[Event]) -> None:
    other = found.setdefault(cls.event_name, cls)
    if other is not cls:
        raise EventDeclarationError(
            f"two event classes are named {cls.event_name!r}: {other.__module__}."
            f"{other.__qualname__} and {cls.__module__}.{cls.__qualname__}; give one "
            "of them another name="
        )


def _api_events(package: str) -> Iterator[type[Event]]:
    """The Event subclasses in the namespace of ``<package>.api`` (none if it has no api)."""
    name = f"{package}.api"
    try:
        api = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and f"{name}.".startswith(f"{error.name}."):
            return  # no such api (or package); a missing import inside the api is raised
        raise
    for value in vars(api).values():
        if isinstance(value, type) and issubclass(value, Event) and value is not Event:
            yield value


def _valid_entry(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    version, upcasters = entry.get("version"), entry.get("upcasters_from")
    return (
        _is_int(version)
        and version >= 1
        and isinstance(entry.get("schema"), dict)
        and isinstance(upcasters, list)
        and all(_is_int(v) for v in upcasters)
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _source_of(cls: type[Event]) -> tuple[str | None, int]:
    """The file and line declaring ``cls``, if its source can be found."""
    try:
        file = inspect.getsourcefile(cls)
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None, 1
    return (os.path.abspath(file) if file else None), max(line, 1)


def _gone(name: str) -> str:
    return (
        f"event {name!r} is in the lock but no class declares it any more: stored and pending "
        "events of that type would become dead letters. Keep the class in its module's api "
        "(with a handler if someone still needs it); once no such event is stored, run "
        "`dolmen events lock` to drop it from the lock"
    )


def _problem(entry: Json, cls: type[Event]) -> str | None:
    """Why ``cls`` breaks the events stored under its lock ``entry``; None when it does not."""
    name, locked, version = cls.event_name, int(entry["version"]), cls.event_version
    if version < locked:
        return (
            f"event {name!r} is at version {version} but the lock has version {locked}: "
            f"events stored at version {locked} could not be read. Versions only go up: "
            f"restore version={locked}"
        )
    needed = set(range(locked, version)) | {v for v in entry["upcasters_from"] if v < version}
    missing = sorted(needed - set(cls.event_upcasters))
    upcasters = " and ".join(f"@{cls.__name__}.upcaster(from_version={v})" for v in missing)
    if version == locked:
        changes = schema_changes(entry["schema"], cls.model_json_schema())
        if changes:
            return (
                f"event {name!r} changed incompatibly at version {version} ("
                f"{'; '.join(changes)}): events stored at version {version} would no longer "
                f"load. Undo the change, or bump the version (version={version + 1}) and "
                f"register @{cls.__name__}.upcaster(from_version={version})"
                + (f" (and restore {upcasters})" if missing else "")
                + "; then run `dolmen events lock`"
            )
        if missing:
            return (
                f"event {name!r} lost upcasters the lock has: events stored at older "
                f"versions could not be read; restore {upcasters}"
            )
        return None
    if missing:
        return (
            f"event {name!r} is at version {version} but the lock has version {locked}, and "
            f"stored events cannot reach version {version}: register {upcasters}; then run "
            "`dolmen events lock`"
        )
    return None

"""Installing Dolmen's log pipeline in the process, and taking it out again.

Nothing happens at import time: the extension installs the pipeline when the app starts
(``configure``) and restores what it replaced when the app stops.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from dolmen.observability._context import LogContextFilter
from dolmen.observability._redaction import Redactor
from dolmen.observability._render import formatter

HANDLER_NAME = "dolmen"
"""The name of the root handler Dolmen installs; a root handler of that name is replaced
(the ``dolmen`` command's own, made before the app was known)."""


@dataclass(eq=False)
class Installed:
    """What :func:`install` changed, for :func:`uninstall` to put back."""

    handler: logging.Handler
    replaced: list[logging.Handler]
    level: int
    structlog_config: dict[str, Any] = field(default_factory=dict)


class LogHandler(logging.StreamHandler):  # type: ignore[type-arg]  # generic in typeshed only
    """Dolmen's handler: each record through its pipeline, one line each, to a stream.

    ``json`` says whether its lines are JSON; the access log then writes its lines
    directly (:meth:`write_line`), skipping the ``logging`` record when no other handler
    or filter would see it.
    """

    def __init__(self, stream: IO[str], *, json: bool, redactor: Redactor) -> None:
        super().__init__(stream)
        self.json = json
        self.redactor = redactor
        self._pending: list[str] = []

    def write_line(self, line: str) -> None:
        """Write one line already rendered (redacted here), as :meth:`emit` would.

        Called on the event loop: the lines wait until the loop has run what is ready, then
        go out in one write (one system call for every line of a busy moment, where
        standard error, line-buffered or unbuffered, would make one per line).
        """
        self._pending.append(self.redactor.text(line))
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self.write_pending)

    def write_pending(self) -> None:
        """Write the lines :meth:`write_line` keeps, in order, and flush the stream."""
        if not self._pending:
            return
        self.acquire()
        try:
            lines, self._pending = self._pending, []
            self.stream.write(self.terminator.join(lines) + self.terminator)
            self.flush()
        finally:
            self.release()

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record's line after the lines waiting, so that the order holds."""
        if self._pending:
            self.write_pending()
        super().emit(record)

    def close(self) -> None:
        """Write what waits, then close."""
        self.write_pending()
        super().close()


_installed: list[Installed] = []
"""The installs in force, oldest first (the last one's handler is on the root logger)."""


def log_handler(
    log_format: Literal["json", "console"],
    redactor: Redactor | None = None,
    stream: IO[str] | None = None,
) -> LogHandler:
    """A handler writing each record through Dolmen's pipeline to ``stream`` (stderr)."""
    stream = sys.stderr if stream is None else stream
    redactor = redactor or Redactor()
    handler = LogHandler(stream, json=log_format == "json", redactor=redactor)
    handler.set_name(HANDLER_NAME)
    handler.addFilter(LogContextFilter())
    colors = log_format == "console" and _is_terminal(stream)
    handler.setFormatter(formatter(log_format, redactor, colors=colors))
    return handler


def serving_handler(log_format: Literal["json", "console"] = "json") -> logging.Handler:
    """The root handler ``dolmen run`` gives each serving process, until the app starts.

    For ``logging.config.dictConfig`` (``"()": "dolmen.observability._setup.serving_handler"``):
    uvicorn's first lines are already in the app's format.
    """
    return log_handler(log_format)


def install(handler: logging.Handler, level: str) -> Installed:
    """Put ``handler`` on the root logger (replacing Dolmen's own) and route structlog to it."""
    import structlog

    root = logging.getLogger()
    replaced = [h for h in root.handlers if h.get_name() == HANDLER_NAME]
    for old in replaced:
        root.removeHandler(old)
    root.addHandler(handler)
    installed = Installed(handler, replaced, root.level, structlog.get_config())
    root.setLevel(level)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    _installed.append(installed)
    return installed


def uninstall(installed: Installed) -> None:
    """Undo :func:`install`: the handlers, level and structlog set-up as they were.

    Apps may start and stop in any order in one process (tests do): when a later install
    replaced this one, that one takes over what this one would have put back.
    """
    import structlog

    if installed not in _installed:
        return
    index = _installed.index(installed)
    del _installed[index]
    if index < len(_installed):
        later = _installed[index]
        later.replaced = [h for h in later.replaced if h is not installed.handler]
        later.replaced += installed.replaced
        later.level = installed.level
        later.structlog_config = installed.structlog_config
        return
    if isinstance(installed.handler, LogHandler):
        installed.handler.write_pending()
    root = logging.getLogger()
    root.removeHandler(installed.handler)
    for old in installed.replaced:
        root.addHandler(old)
    root.setLevel(installed.level)
    structlog.configure(**installed.structlog_config)


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False

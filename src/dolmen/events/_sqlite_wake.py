"""Wake-ups between the processes of an app on one SQLite file: the NOTIFY SQLite lacks.

Each dispatcher listens on a Unix datagram socket and leaves a marker file named after it
in a folder beside the database (``<database>-wake/``). A process that commits events
sends one byte to every socket named there, so the dispatchers of other processes claim
them at once instead of at their next poll. It is a hint, as PostgreSQL's ``NOTIFY`` is:
a hint that is not sent (a dispatcher that started a moment ago, a platform without Unix
sockets) costs one poll interval, never an event.

On Linux the sockets live in the abstract namespace (nothing on disk; they vanish with
their process); elsewhere the socket file is the marker itself. A marker whose process
died is removed by the first sender that finds nobody listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

FOLDER_SUFFIX = "-wake"
"""The folder beside the database holding one marker per listening dispatcher."""
_ABSTRACT = sys.platform == "linux"
_MAX_PATH = 100  # sun_path holds 104 to 108 bytes, by platform

logger = logging.getLogger("dolmen.events")


class WakeSockets:
    """Send and receive the "new events" hint of one SQLite database file."""

    def __init__(self, database_path: str) -> None:
        real = os.path.realpath(database_path)
        self.folder = Path(real + FOLDER_SUFFIX)
        self._prefix = "dolmen-wake/" + hashlib.sha256(real.encode()).hexdigest()[:24] + "/"
        self._listener: socket.socket | None = None
        self._marker: Path | None = None
        self._sender: socket.socket | None = None
        self._targets: list[tuple[Path, str | bytes]] = []
        self._seen: int | None = None
        """The folder's modification time when ``_targets`` was read."""

    def listen(self, wake: Callable[[], None]) -> bool:
        """Call ``wake`` (in the running loop) on each hint; False when it cannot listen."""
        if not hasattr(socket, "AF_UNIX") or self._listener is not None:
            return self._listener is not None
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        marker = self.folder / name
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.folder.mkdir(exist_ok=True)
            if _ABSTRACT:
                listener.bind(self._address(name))
                marker.touch()
            elif len(os.fsencode(marker)) <= _MAX_PATH:
                listener.bind(str(marker))
            else:
                raise OSError(f"the socket path {marker} is too long for a Unix socket")
            listener.setblocking(False)
            asyncio.get_running_loop().add_reader(listener.fileno(), self._drain, wake)
        except OSError:
            logger.warning(
                "cannot listen for wake-ups in %s; the dispatcher finds events published by "
                "other processes by polling", self.folder, exc_info=True,
            )  # fmt: skip
            listener.close()
            with contextlib.suppress(OSError):
                marker.unlink()
            return False
        self._listener, self._marker = listener, marker
        return True

    def _address(self, name: str) -> str | bytes:
        if _ABSTRACT:
            return b"\0" + (self._prefix + name).encode()
        return str(self.folder / name)

    def _drain(self, wake: Callable[[], None]) -> None:
        listener = self._listener
        if listener is None:
            return
        with contextlib.suppress(OSError):
            while listener.recv(64):
                pass
        wake()

    def notify(self) -> None:
        """Wake the dispatchers of the other processes (after a commit that wrote events)."""
        try:
            seen = os.stat(self.folder).st_mtime_ns
        except OSError:
            return  # no dispatcher has ever listened here
        if seen != self._seen:
            self._seen = seen
            self._targets = self._read_targets()
        if not self._targets:
            return
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        for marker, address in self._targets:
            try:
                self._sender.sendto(b"\1", address)
            except BlockingIOError:
                pass  # its queue is full: it has wake-ups waiting already
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    marker.unlink()  # its process is gone; the folder's change re-reads
            except OSError:
                logger.debug("could not wake %s", address, exc_info=True)

    def _read_targets(self) -> list[tuple[Path, str | bytes]]:
        try:
            names = os.listdir(self.folder)
        except OSError:
            return []
        own = self._marker.name if self._marker is not None else None
        return [(self.folder / n, self._address(n)) for n in names if n != own]

    def close(self) -> None:
        """Stop listening and sending; remove this process's marker."""
        if self._listener is not None:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
        if self._marker is not None:
            with contextlib.suppress(OSError):
                self._marker.unlink()
            self._marker = None
        if self._sender is not None:
            self._sender.close()
            self._sender = None

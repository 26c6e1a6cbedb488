"""A TCP proxy on 127.0.0.1 in front of a broker, which a test cuts and restores.

Cutting it closes its listening socket and every connection through it (the units see the
broker go away); restoring it listens again on the same port. The broker itself, shared by
every test, is never touched.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit


class BrokerProxy:
    """Forwards 127.0.0.1:``port`` to the broker at ``target_host``:``target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._holder: socket.socket | None = None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()

    def url_for(self, url: str) -> str:
        """``url`` (the broker's) through this proxy."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@" if credentials else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{self.port}"))

    def open(self) -> None:
        """Listen (again) and forward every connection accepted."""
        listener = self._bound()
        listener.listen(64)
        self._listener = listener
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.close()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and close every connection through the proxy. The port stays held
        by a socket that does not listen (a connection is refused), so that nothing else
        (a unit restarted meanwhile, on a free port) can take it before :meth:`open`."""
        listener, self._listener = self._listener, None
        if listener is not None:
            self._holder = self._bound()
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        """Cut the proxy for good and give its port back."""
        self.cut()
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.close()

    def _bound(self) -> socket.socket:
        """A socket bound to the proxy's port, beside the one holding it (SO_REUSEPORT)."""
        bound = socket.socket()
        try:
            bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            bound.bind(("127.0.0.1", self.port))
        except BaseException:
            bound.close()
            raise
        return bound

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def proxied(url: str) -> Iterator[BrokerProxy]:
    """A proxy in front of the broker at ``url``, open; cut on leaving."""
    parts = urlsplit(url)
    assert parts.hostname is not None, url
    assert parts.port is not None, url
    proxy = BrokerProxy(parts.hostname, parts.port)
    proxy.open()
    try:
        yield proxy
    finally:
        proxy.close()

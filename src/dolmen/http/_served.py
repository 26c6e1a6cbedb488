"""What the HTTP entrypoint needs of the application it serves, as protocols.

``dolmen.modules.App`` is one; naming only what is used keeps ``dolmen.http`` free of
any import of ``dolmen.modules`` (the app composes HTTP, not the other way round).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fastapi import APIRouter

    from dolmen.config import AppSettings


class ServedModule(Protocol):
    """A module as HTTP sees it: its name, URL prefix and routers."""

    @property
    def name(self) -> str: ...

    @property
    def prefix(self) -> str: ...

    @property
    def routers(self) -> Sequence[APIRouter]: ...


class RequestWork(Protocol):
    """The unit of work of one request: services by key, then commit or roll back."""

    async def get(self, key: Any, module: str | None = None) -> Any: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


class ServedApp(Protocol):
    """The application behind the FastAPI app (``dolmen.App``)."""

    @property
    def name(self) -> str: ...

    @property
    def modules(self) -> Sequence[ServedModule]: ...

    @property
    def error_map(self) -> Mapping[type[BaseException], int]: ...

    @property
    def started(self) -> bool: ...

    @property
    def settings(self) -> AppSettings: ...

    def begin(self, module: str | None = None, *, write: bool = True) -> RequestWork: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

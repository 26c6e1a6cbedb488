"""Where Dolmen leans on a library beyond its documented API, one test each.

Each test exercises the library the way Dolmen uses it, inside ``relies_on``: on a version
that behaves otherwise, it fails with one message naming the distribution, the version
installed, what Dolmen relies on, and the range pyproject.toml supports. The list, with the
reason for each, is in docs/dependencies.md. CI runs these on the newest versions and on the
lowest supported ones (scripts/test-lowest).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import re
import sqlite3
from collections.abc import Callable, Iterator, MutableMapping
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from packaging.requirements import Requirement
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from dolmen.http import Inject
from dolmen.http._asgi import DOCS_ASSETS
from dolmen.http._inject import injected_keys
from dolmen.persistence import Database, ModuleTables, _sqlite_driver, sqlstate


def supported(distribution: str) -> str:
    """The range of ``distribution`` Dolmen declares (its installed metadata)."""
    for line in requires("dolmen") or []:
        requirement = Requirement(line)
        if requirement.name.lower() == distribution.lower():
            bounds = sorted(map(str, requirement.specifier), key=lambda b: not b.startswith(">"))
            return ",".join(bounds) or "any version"
    return "(not a declared dependency)"


def incompatible(distribution: str, what: str, error: BaseException) -> str:
    """What a user reads when an installed version breaks a reliance."""
    try:
        found = version(distribution)
    except PackageNotFoundError:
        found = "(not installed)"
    return (
        f"{distribution} {found} is not compatible with this Dolmen: {what}, and here it "
        f"does not ({type(error).__name__}: {error}). Dolmen supports {distribution} "
        f"{supported(distribution)} (pyproject.toml): install a version in that range; "
        f"docs/dependencies.md lists what Dolmen relies on and why."
    )


@contextlib.contextmanager
def relies_on(distribution: str, what: str) -> Iterator[None]:
    """Turn any failure inside into :func:`incompatible`'s message."""
    try:
        yield
    except (Exception, pytest.fail.Exception) as error:
        pytest.fail(incompatible(distribution, what, error), pytrace=False)


def test_a_broken_reliance_names_the_library_its_version_and_what_broke() -> None:
    with (
        pytest.raises(pytest.fail.Exception) as failure,
        relies_on("sqlalchemy", "statements have a cache key"),
    ):
        raise AttributeError("'Select' object has no attribute '_generate_cache_key'")
    message = str(failure.value)
    assert message.startswith(f"sqlalchemy {version('sqlalchemy')} is not compatible")
    assert "statements have a cache key, and here it does not (AttributeError: " in message
    assert re.search(r"Dolmen supports sqlalchemy >=[0-9.]+,<[0-9.]+ \(pyproject.toml\)", message)


tables = ModuleTables("items")
items = tables.table(
    "items",
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
)


async def test_sqlalchemy_commits_and_rolls_back_through_the_dialect_of_the_engine(
    tmp_path: Path,
) -> None:
    calls: list[str] = []

    def recording(name: str, original: Callable[[Any], None]) -> Callable[[Any], None]:
        def call(dbapi_connection: Any) -> None:
            calls.append(name)
            original(dbapi_connection)

        return call

    with relies_on(
        "sqlalchemy",
        "an engine ends each transaction through its own dialect's do_commit or do_rollback, "
        "which Dolmen wraps on each SQLite engine to give the writers' turn back after the "
        "COMMIT or ROLLBACK has run (persistence/_sqlite.py)",
    ):
        engine = create_async_engine(
            f"sqlite+aiosqlite:///{tmp_path / 'app.db'}", pool_reset_on_return=None
        )
        dialect: Any = engine.sync_engine.dialect
        try:
            async with engine.connect():  # the first connection initializes the dialect
                pass
            dialect.do_commit = recording("commit", dialect.do_commit)
            dialect.do_rollback = recording("rollback", dialect.do_rollback)
            async with engine.connect() as connection:
                await connection.execute(text("CREATE TABLE t (x INTEGER)"))
                await connection.commit()
                await connection.execute(text("INSERT INTO t VALUES (1)"))
                await connection.rollback()
        finally:
            await engine.dispose()
        assert calls == ["commit", "rollback"]
        assert create_async_engine("sqlite+aiosqlite://").sync_engine.dialect is not dialect


async def test_sqlalchemy_keeps_the_listeners_of_an_option_engine_its_own(
    tmp_path: Path,
) -> None:
    with relies_on(
        "sqlalchemy",
        "the begin and rollback listeners set on an engine made by execution_options fire for "
        "its connections only, and the parent engine's connections carry no listener: Dolmen "
        "sets the SQLite writers' listeners on the write engine alone (persistence/_sqlite.py)",
    ):
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
        writes = engine.execution_options(dolmen_test_write=True)
        begun: list[bool] = []

        @event.listens_for(writes.sync_engine, "begin")
        def on_begin(connection: Any) -> None:
            begun.append(bool(connection.get_execution_options().get("dolmen_test_write")))

        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            async with writes.connect() as connection:
                await connection.execute(text("SELECT 1"))
            assert begun == [True]
            reads = engine.sync_engine
            assert (len(reads.dispatch.begin), len(reads.dispatch.rollback)) == (0, 0)
        finally:
            await engine.dispose()


async def test_sqlalchemys_aiosqlite_dialect_runs_on_dolmens_driver_connection(
    tmp_path: Path,
) -> None:
    with relies_on(
        "sqlalchemy",
        "the sqlite+aiosqlite dialect runs on the driver connection Dolmen hands it through "
        "async_creator (persistence/_sqlite_driver.py), calling only the methods aiosqlite's "
        "connection has (its isolation_level setter goes through connection._tx.put_nowait), "
        "and maps "
        "sqlite3's errors to its own",
    ):
        database = Database(f"sqlite:///{tmp_path / 'app.db'}", [tables])
        await database.open(create_tables=True)
        try:
            async with database.write_engine.begin() as connection:
                raw = await connection.get_raw_connection()
                assert isinstance(raw.driver_connection, _sqlite_driver.Connection)
                await connection.execute(insert(items), [{"name": f"n{i}"} for i in range(1500)])
            with pytest.raises(IntegrityError):
                async with database.write_engine.begin() as connection:
                    await connection.execute(insert(items).values(name="n1"))
            async with database.engine.connect() as connection:
                names = await connection.stream_scalars(select(items.c.name))
                assert len([name async for name in names]) == 1500  # past one prefetch
        finally:
            await database.close()


async def test_sqlalchemys_await_only_runs_a_coroutine_from_a_sync_event_listener() -> None:
    with relies_on(
        "sqlalchemy",
        "sqlalchemy.util.await_only, called in a synchronous event listener of an async "
        "engine, waits for a coroutine on the running event loop: SQLite writers wait for "
        "their turn so in the 'begin' listener (persistence/_sqlite.py)",
    ):
        from sqlalchemy.util import await_only

        engine = create_async_engine("sqlite+aiosqlite://")
        waited: list[str] = []

        async def turn() -> str:
            await asyncio.sleep(0)
            return "my turn"

        @event.listens_for(engine.sync_engine, "begin")
        def on_begin(_connection: Any) -> None:
            waited.append(await_only(turn()))

        try:
            async with engine.begin() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()
        assert waited == ["my turn"]


def test_sqlalchemy_statements_of_one_shape_share_a_cache_key() -> None:
    with relies_on(
        "sqlalchemy",
        "a statement's _generate_cache_key() gives a key (.key) that is the same for "
        "statements of one shape with other values, and differs between tables: Dolmen "
        "checks each shape once for tables of other modules (persistence/_guard.py)",
    ):
        first = select(items).where(items.c.id == 1)._generate_cache_key()
        second = select(items).where(items.c.id == 2)._generate_cache_key()
        other = select(tables.table("others", Column("id", Integer, primary_key=True)))
        third = other._generate_cache_key()
        written = insert(items).values(name="a")._generate_cache_key()
        assert first is not None
        assert second is not None
        assert third is not None
        assert written is not None
        assert first.key == second.key
        assert hash(first.key) == hash(second.key)
        assert third.key != first.key
        assert written.key != first.key


def test_sqlalchemy_compiles_statements_that_sqlite3_runs_as_they_are() -> None:
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

    rows = Table(
        "rows",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String),
        schema="module",
    )
    with relies_on(
        "sqlalchemy",
        "a statement compiled for SQLiteDialect_pysqlite(paramstyle='named'), its schema "
        "translated away, gives SQL (.string) and parameters (.construct_params()) that "
        "sqlite3 runs as they are: the outbox's hot statements on SQLite run so, in one trip "
        "to the driver's thread (events/_sqlite_outbox.py)",
    ):
        dialect = SQLiteDialect_pysqlite(paramstyle="named")
        dialect.default_schema_name = "main"  # as a connected dialect would have it

        def compiled(statement: Any, keys: list[str] | None = None) -> Any:
            return statement.compile(
                dialect=dialect,
                schema_translate_map={"module": None},
                render_schema_translate=True,
                column_keys=keys,
            )

        connection = sqlite3.connect(":memory:")
        try:
            connection.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, name TEXT)")
            connection.executemany(
                compiled(insert(rows), ["name"]).string, [{"name": "a"}, {"name": "b"}]
            )
            after = select(rows.c.name).where(rows.c.id > bindparam("after")).order_by(rows.c.id)
            take = compiled(after)
            found = connection.execute(take.string, take.construct_params({"after": 1}))
            assert found.fetchall() == [("b",)]
        finally:
            connection.close()


class Greeter:
    """A service key for the FastAPI tests."""


def greeter_of(greeter: Annotated[Greeter, Inject(Greeter)]) -> Greeter:
    """A dependency of a route that asks for a service (at module level: FastAPI resolves
    the annotations, strings here, in the module's namespace)."""
    return greeter


def test_fastapi_routes_keep_their_dependencies_in_dependant() -> None:
    router = APIRouter()

    @router.get("/direct")
    async def direct(greeter: Annotated[Greeter, Inject(Greeter)]) -> None: ...

    @router.get("/nested")
    async def nested(greeter: Annotated[Greeter, Depends(greeter_of)]) -> None: ...

    with relies_on(
        "fastapi",
        "an APIRoute keeps its dependency tree in route.dependant (each with .call and "
        ".dependencies): Dolmen reads the services Inject() asks for there, to check them "
        "when the app is built (http/_inject.py)",
    ):
        assert [call.call for call in router.routes[0].dependant.dependencies]  # type: ignore[attr-defined]
        assert list(injected_keys(router)) == [("/direct", Greeter), ("/nested", Greeter)]


def test_fastapis_add_api_route_options_are_attributes_of_the_route() -> None:
    router = APIRouter(prefix="/items", tags=["items"])

    @router.post("/{item_id}", status_code=201, summary="Add", deprecated=True)
    async def add(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    [route] = router.routes
    options = inspect.signature(APIRouter.add_api_route).parameters
    skipped = {"self", "path", "endpoint", "route_class_override"}
    with relies_on(
        "fastapi",
        "each option of APIRouter.add_api_route is kept on the APIRoute under the same name "
        "(its router's prefix, tags and dependencies merged in): Dolmen copies module routes "
        "onto the app with them, one match per request (http/_routes.py)",
    ):
        assert {name for name in options if name not in skipped} <= set(vars(route))
        assert (route.path, route.tags, route.status_code) == ("/items/{item_id}", ["items"], 201)  # type: ignore[attr-defined]


async def test_starlette_puts_the_matched_endpoint_in_the_scope() -> None:
    api = FastAPI()
    seen: list[object] = []

    @api.get("/hello")
    async def hello(request: Request) -> dict[str, str]:
        seen.append(request.scope.get("endpoint"))
        return {}

    with relies_on(
        "starlette",
        "the router puts the matched route's endpoint function in scope['endpoint'] before "
        "the dependencies run: Inject() finds the module serving a request by it "
        "(http/_inject.py)",
    ):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/hello")).status_code == 200
        assert seen == [hello]


async def test_fastapi_puts_the_matched_route_in_the_scope() -> None:
    api = FastAPI()
    seen: list[object] = []
    router = APIRouter()

    @router.get("/items/{item_id}")
    async def item(item_id: int, request: Request) -> dict[str, str]:
        seen.append(getattr(request.scope.get("route"), "path", None))
        return {}

    api.include_router(router, prefix="/shop")
    with relies_on(
        "fastapi",
        "the matched route is in scope['route'] with the path its router declared: the log "
        "line of a 500 names that template (http/_errors.py)",
    ):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/shop/items/3")).status_code == 200
        assert seen in (["/items/{item_id}"], ["/shop/items/{item_id}"])


async def test_fastapi_lets_an_http_exception_from_receive_through_body_parsing() -> None:
    api = FastAPI()

    @api.post("/echo")
    async def echo(body: dict[str, int]) -> dict[str, int]:
        return body

    async def too_large(scope: Any, receive: Any, send: Any) -> None:
        async def refusing() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                raise HTTPException(413, "too large")
            return message  # pragma: no cover

        await api(scope, refusing, send)

    with relies_on(
        "fastapi",
        "a Starlette HTTPException raised by receive() while FastAPI reads a body reaches "
        "the exception handlers as it is (other errors become a 400): the 413 of a body "
        "past [app] max_body_bytes is one (http/_body_limit.py)",
    ):
        transport = httpx.ASGITransport(app=too_large)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/echo", json={"a": 1})
        assert response.status_code == 413


def test_fastapis_openapi_refers_to_its_validation_error_schema() -> None:
    api = FastAPI()

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> None: ...

    with relies_on(
        "fastapi",
        "the 422 of each operation in the OpenAPI document refers to "
        "#/components/schemas/HTTPValidationError, which Dolmen replaces with its "
        "problem+json ValidationProblem (http/_openapi.py)",
    ):
        responses = api.openapi()["paths"]["/items/{item_id}"]["get"]["responses"]
        schema = responses["422"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/HTTPValidationError"}


async def test_fastapi_offline_serves_the_docs_pages_and_their_assets_itself() -> None:
    with relies_on(
        "fastapi-offline",
        "FastAPIOffline(static_url=...) replaces FastAPI's /docs and /redoc with pages whose "
        "scripts, styles and icon it serves under static_url (http/_asgi.py); it overrides "
        "FastAPI's own set-up of those pages, so a FastAPI release can break it",
    ):
        from fastapi_offline import FastAPIOffline

        api = FastAPIOffline(static_url=DOCS_ASSETS, title="t", version="1")
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for page in ("/docs", "/redoc"):
                html = (await client.get(page)).text
                assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
                assert any(asset.endswith(".js") for asset in assets), page
                for asset in assets:
                    assert asset.startswith(DOCS_ASSETS + "/"), asset
                    assert (await client.get(asset)).status_code == 200, asset


def test_uvicorns_logging_config_is_a_dict_config_to_extend() -> None:
    with relies_on(
        "uvicorn",
        "uvicorn.config.LOGGING_CONFIG is a logging.config.dictConfig dictionary with "
        "'formatters', 'handlers' and 'loggers', which `dolmen run` extends with a root "
        "logger for each worker process (cli/_loading.py)",
    ):
        from uvicorn.config import LOGGING_CONFIG

        from dolmen.cli._loading import serving_log_config

        assert LOGGING_CONFIG["version"] == 1
        assert {"formatters", "handlers", "loggers"} <= set(LOGGING_CONFIG)
        assert {"uvicorn", "uvicorn.error", "uvicorn.access"} <= set(LOGGING_CONFIG["loggers"])
        config = serving_log_config()
        assert config["root"]["handlers"] == ["dolmen"]
        assert config["loggers"] == {**LOGGING_CONFIG["loggers"], "alembic": {"level": "WARNING"}}


@pytest.mark.postgres
async def test_asyncpg_errors_carry_their_sqlstate(postgres_url: str) -> None:
    with relies_on(
        "asyncpg",
        "a PostgreSQL error reaches SQLAlchemy's DBAPIError with its SQLSTATE in "
        "orig.sqlstate (asyncpg) or orig.pgcode: 23505 is a 409, class 22 a 422 "
        "(persistence/_db_errors.py)",
    ):
        database = Database(postgres_url, [tables])
        await database.open(create_tables=True)
        try:
            with pytest.raises(IntegrityError) as duplicate:
                async with database.write_engine.begin() as connection:
                    await connection.execute(insert(items), [{"name": "a"}, {"name": "a"}])
            assert sqlstate(duplicate.value) == "23505"
        finally:
            await database.close()


@pytest.mark.postgres
async def test_sqlalchemy_compiles_statements_that_asyncpg_runs_on_a_lent_connection(
    postgres_url: str,
) -> None:
    from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

    with relies_on(
        "sqlalchemy",
        "a statement compiled for PGDialect_asyncpg gives SQL (.string) with $n parameters "
        "in .positiontup's order, its constants in .binds, that asyncpg runs as they are; "
        "and a pooled connection whose driver connection ran statements outside any "
        "transaction goes back to the pool usable: the outbox's hot statements on "
        "PostgreSQL run so (events/_pg_outbox.py, persistence/_held.py)",
    ):
        database = Database(postgres_url, [tables])
        await database.open(create_tables=True)
        try:
            dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
            add = insert(items).inline().compile(dialect=dialect, column_keys=["name"])
            named = select(items.c.id).where(items.c.name == bindparam("name"), items.c.id > 0)
            find = named.compile(dialect=dialect)
            order = list(find.positiontup or ())
            assert order == ["name", "id_1"]
            assert find.binds["id_1"].value == 0
            async with database.engine.connect() as connection:
                driver: Any = (await connection.get_raw_connection()).driver_connection
                await driver.executemany(add.string, [["a"], ["b"]])
                assert await driver.fetchval(find.string, "b", 0) == 2
                assert not driver.is_in_transaction()
            async with database.engine.begin() as connection:  # the pool's next user
                names = (await connection.execute(select(items.c.name))).scalars().all()
                assert names == ["a", "b"]
        finally:
            await database.close()


def test_an_alembic_operations_subclass_stands_in_as_op_for_the_revisions() -> None:
    from alembic import op
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    seen: list[str] = []

    class Watching(Operations):
        def _install_proxy(self) -> None:
            self._setups[type(self)] = self._setups[Operations]
            super()._install_proxy()

        def invoke(self, operation: Any) -> Any:
            seen.append(type(operation).__name__)
            return super().invoke(operation)

    engine = create_engine("sqlite://")
    with (
        relies_on("alembic", "an Operations subclass installed as alembic.op sees each operation"),
        engine.begin() as connection,
    ):
        operations = Watching(MigrationContext.configure(connection))
        operations._install_proxy()
        try:
            op.create_table("t", Column("id", Integer, primary_key=True))
            with op.batch_alter_table("t") as batch:
                batch.add_column(Column("x", Integer))
        finally:
            operations._remove_proxy()
        assert seen == ["CreateTableOp"]
        assert [c["name"] for c in inspect_columns(connection, "t")] == ["id", "x"]
    engine.dispose()


def inspect_columns(connection: Any, table: str) -> list[Any]:
    from sqlalchemy import inspect

    return list(inspect(connection).get_columns(table))


async def test_fastapi_leaves_its_own_telemetry_to_a_scope_that_carries_one() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.util._once import Once

    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    trace.set_tracer_provider(provider)
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"ping": "pong"}

    async def observed(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        scope["fastapi.telemetry"] = None  # what Dolmen's traced requests carry
        await app(scope, receive, send)

    try:
        with relies_on(
            "fastapi", "a request whose scope holds 'fastapi.telemetry' makes no FastAPI spans"
        ):
            transport = httpx.ASGITransport(app=observed)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/ping")).status_code == 200
            assert [s.name for s in exported.get_finished_spans()] == []
    finally:
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None


def test_opentelemetry_sdk_processors_and_otlp_take_a_readable_span_dolmen_builds() -> None:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from dolmen.observability import TraceBuffer
    from dolmen.observability._tracing_sdk import default_resource, readable
    from dolmen.observability._tracing_spans import DolmenTracerProvider

    provider = DolmenTracerProvider()
    provider.add_buffer(TraceBuffer())  # a running app's
    span = provider.get_tracer("t").start_span("GET /ping", attributes={"http.route": "/ping"})
    assert span.is_recording()
    span.end()
    with relies_on(
        "opentelemetry-sdk",
        "a ReadableSpan built from its constructor's arguments goes through span processors "
        "and the OTLP encoder",
    ):
        exported = InMemorySpanExporter()
        SimpleSpanProcessor(exported).on_end(readable(span, default_resource("t")))  # type: ignore[arg-type]
        [finished] = exported.get_finished_spans()
        assert finished.name == "GET /ping"
        assert finished.attributes == {"http.route": "/ping"}
        encoded = encode_spans([finished])
        assert encoded.resource_spans[0].scope_spans[0].spans[0].name == "GET /ping"


def test_opentelemetrys_global_tracer_provider_can_be_reset_for_a_test() -> None:
    from opentelemetry import trace
    from opentelemetry.trace import NoOpTracerProvider
    from opentelemetry.util._once import Once

    with relies_on(
        "opentelemetry-api",
        "trace._TRACER_PROVIDER_SET_ONCE and trace._TRACER_PROVIDER hold the global provider "
        "(Dolmen's tests and bench/trace_overhead.py reset them)",
    ):
        for provider in (NoOpTracerProvider(), NoOpTracerProvider()):
            trace._TRACER_PROVIDER_SET_ONCE = Once()
            trace._TRACER_PROVIDER = None
            trace.set_tracer_provider(provider)
            assert trace.get_tracer_provider() is provider
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None


async def test_httpcore_finds_sniffio_rather_than_failing_an_import_per_request() -> None:
    import sys

    from httpcore._synchronization import current_async_library

    with relies_on(
        "httpcore",
        "current_async_library() imports sniffio on each request, which Dolmen installs so "
        "that the import is a lookup, not a failed search of the import path",
    ):
        assert current_async_library() == "asyncio"
        assert "sniffio" in sys.modules


def test_prometheus_client_decides_its_value_class_once_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prometheus_client import values

    with relies_on(
        "prometheus-client",
        "`values.ValueClass` is `values.MutexValue` in a process that is not in multiprocess "
        "mode and another class once `PROMETHEUS_MULTIPROC_DIR` was set at import "
        "(`values.get_value_class()`): Dolmen asks it whether the workers share their values "
        "through files (observability/_metrics.py `multiprocess()`)",
    ):
        assert values.ValueClass is values.MutexValue
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
        chosen = values.get_value_class()  # type: ignore[no-untyped-call]  # not annotated there
        assert chosen is not values.MutexValue


async def test_aiohttp_s_connector_hands_out_idle_connections_through_get() -> None:
    import aiohttp

    from dolmen.units._aiohttp_transport import _Connector

    reused: list[bool] = []

    class Watched(_Connector):
        async def _get(self, key: Any, traces: Any) -> Any:
            connection = await super()._get(key, traces)
            reused.append(connection is not None)
            return connection

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:  # each request of the kept-alive connection, until the client closes
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        async with aiohttp.ClientSession(connector=Watched()) as session:
            with relies_on(
                "aiohttp",
                "a request takes an idle pooled connection from its connector's async "
                "_get(key, traces), which returns a Connection (its .protocol, .close()) or "
                "None: Dolmen's connector drops there one the other unit has closed "
                "(units/_aiohttp_transport.py)",
            ):
                for _ in range(2):
                    async with session.get(url) as response:
                        assert await response.read() == b"ok"
                assert reused == [False, True]  # the second request, on the first's connection
    finally:
        server.close()
        await server.wait_closed()


# aio-pika 9.4 (the lowest supported, with aiormq 6.8) leaves the cut socket's stream writer
# to the garbage collector, which warns; collected at the end of this test, not of a later one.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_aio_pika_clears_connected_when_the_connection_is_lost(rabbitmq_url: str) -> None:
    import aio_pika

    from tests.e2e.units.broker_proxy import proxied

    with proxied(rabbitmq_url) as proxy:
        connection = await aio_pika.connect(proxy.url_for(rabbitmq_url), timeout=5)
        try:
            with relies_on(
                "aio-pika",
                "a Connection's `connected` event is set while it is up and cleared once the "
                "broker's connection is lost (is_closed stays false): the RabbitMQ transport "
                "reconnects then, to send and to consume (units/_transports/_rabbitmq.py)",
            ):
                assert isinstance(connection.connected, asyncio.Event)
                assert connection.connected.is_set()
                proxy.cut()
                for _ in range(500):  # the reader notices within a few ms; bounded at 5 s
                    if not connection.connected.is_set():
                        break
                    await asyncio.sleep(0.01)
                assert not connection.connected.is_set()
        finally:
            with contextlib.suppress(Exception):
                await connection.close()
            gc.collect()


async def test_aiormq_publishes_consumes_and_acknowledges_through_aio_pikas_channel(
    rabbitmq_url: str,
) -> None:
    import aio_pika

    from dolmen.units._transports._rabbitmq import (
        _acknowledge,
        _confirmed,
        _publish,
        _put,
        _underlay,
    )

    queue_name = f"dolmen.contract.{id(object())}"
    connection = await aio_pika.connect(rabbitmq_url, timeout=5)
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(queue_name, auto_delete=False)
        with relies_on(
            "aio-pika",
            "a Channel's get_underlay_channel() is its aiormq channel, whose basic_publish("
            "wait=False) returns once the broker confirmed the message (a Basic.Ack), or "
            "the returned message when no queue took a mandatory one: the RabbitMQ "
            "transport's send (units/_transports/_rabbitmq.py)",
        ):
            underlay = await _underlay(channel)
            stored = await _publish(underlay, queue_name, b"{}", 5.0)
            missing = await _publish(underlay, f"{queue_name}.missing", b"{}", 5.0)
            assert _confirmed(stored)
            assert not _confirmed(missing)
            declared = await channel.declare_queue(queue_name, passive=True)
            assert declared.declaration_result.message_count == 1
        with relies_on(
            "aio-pika",
            "the aiormq channel's basic_consume calls a coroutine function with each "
            "DeliveredMessage (body, delivery_tag), and basic_ack(tag, multiple=True, "
            "wait=False) acknowledges it: the RabbitMQ transport's consumers",
        ):
            consuming = await connection.channel()
            delivered: asyncio.Queue[Any] = asyncio.Queue()
            underlay = await _underlay(consuming)
            await underlay.basic_consume(queue_name, _put(delivered, asyncio.Event()))
            message = await asyncio.wait_for(delivered.get(), 5)
            assert message.body == b"{}"
            await _acknowledge(underlay, message)
            await consuming.close()  # an unacknowledged message would go back to the queue
            declared = await channel.declare_queue(queue_name, passive=True)
            assert declared.declaration_result.message_count == 0
        with relies_on(
            "aio-pika",
            "the aiormq channel's consumers holds the tag of each consumer until the broker "
            "cancels it (its queue deleted): a RabbitMQ consumer checks it to consume again",
        ):
            cancelled = await _underlay(await connection.channel())
            ok = await cancelled.basic_consume(queue_name, _put(delivered, asyncio.Event()))
            tag = ok.consumer_tag
            assert tag in cancelled.consumers
            await queue.delete(if_unused=False, if_empty=False)
            for _ in range(500):  # the broker's Basic.Cancel comes within ms; bounded at 5 s
                if tag not in cancelled.consumers:
                    break
                await asyncio.sleep(0.01)
            assert tag not in cancelled.consumers
    finally:
        await connection.close()

"""Shared fixtures: service URLs from the environment, empty PostgreSQL databases, spans."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from sqlalchemy import make_url

from tests import postgres_databases
from tests.scheduling import longest_files_first

REQUIRE_SERVICES = os.environ.get("DOLMEN_TEST_REQUIRE_SERVICES") == "1"
SCHEMA_VARIABLE = "DOLMEN__APP__DATABASE_SCHEMA"
"""Tests start apps on fresh databases whose tables come from the modules' declarations, as in
development ([app] database_schema = "create"); the tests of migrations set it themselves."""


@pytest.fixture(autouse=True, scope="session")
def _tables_created_at_start() -> Iterator[None]:
    previous = os.environ.get(SCHEMA_VARIABLE)
    os.environ[SCHEMA_VARIABLE] = "create"
    yield
    if previous is None:
        del os.environ[SCHEMA_VARIABLE]
    else:
        os.environ[SCHEMA_VARIABLE] = previous


@pytest.hookimpl(trylast=True)  # after pytest's own ordering, which it keeps within a file
def pytest_configure(config: pytest.Config) -> None:
    """On redis-py 5.0 (the lowest supported, run by scripts/test-lowest), let an unraisable
    exception pass: a Redis connection it drops while a command is cancelled (a broker-lag
    sample's 2 s bound, a consumer stopped mid-read) is left to the garbage collector, which
    warns (unclosed socket, "loop is closed") in whichever later test collects it. The newest
    versions, in the main run, keep every such warning an error."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(part) for part in version("redis").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return
    if (major, minor) < (5, 1):
        config.addinivalue_line("filterwarnings", "ignore::pytest.PytestUnraisableExceptionWarning")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In pytest-xdist's processes (./scripts/test), the longest test files first."""
    if hasattr(config, "workerinput"):
        items[:] = longest_files_first(items)


def service_url(variable: str) -> str:
    """The URL in ``variable``; skip the test (or fail, in CI) when it is unset."""
    url = os.environ.get(variable)
    if not url:
        message = f"{variable} is not set; set it to run this test against the real service"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return url


@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "dolmen_test") -> Iterator[str]:
    """An empty PostgreSQL database on the test server, the caller's alone until it leaves;
    emptied then for the next caller, dropped at the end of the session
    (tests/postgres_databases.py)."""
    admin_url = make_url(service_url("DOLMEN_TEST_POSTGRES_URL"))
    with postgres_databases.of(admin_url, prefix).empty_database() as url:
        yield url


@contextlib.contextmanager
def fresh_postgres_databases(count: int, prefix: str = "dolmen_test") -> Iterator[list[str]]:
    """``count`` empty PostgreSQL databases (one per unit of a split app, say), the caller's
    alone until it leaves, as :func:`fresh_postgres_database` gives one."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(fresh_postgres_database(prefix)) for _ in range(count)]


def pytest_sessionfinish() -> None:
    """Drop the test databases this process made."""
    postgres_databases.drop_all()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of an empty PostgreSQL database, the test's alone."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def rabbitmq_url() -> str:
    """The RabbitMQ broker of the tests (DOLMEN_TEST_RABBITMQ_URL)."""
    return service_url("DOLMEN_TEST_RABBITMQ_URL")


@pytest.fixture
def nats_url() -> str:
    """The NATS server, with JetStream, of the tests (DOLMEN_TEST_NATS_URL)."""
    return service_url("DOLMEN_TEST_NATS_URL")


@pytest.fixture
def redis_url() -> str:
    """The Redis server of the tests (DOLMEN_TEST_REDIS_URL)."""
    return service_url("DOLMEN_TEST_REDIS_URL")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on a SQLite file and once on an empty PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def second_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Another database of the same kind as ``database_url`` (a second unit's, say)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """An SDK tracer provider of this process, exporting to memory (reset afterwards)."""

    def reset() -> None:  # OpenTelemetry's own tests reset these globals the same way
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None

    reset()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    reset()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Remove every DOLMEN_ variable so a test sees only what it sets (but the schema's)."""
    for name in list(os.environ):
        if name == SCHEMA_VARIABLE:
            continue
        if name.startswith("DOLMEN_") and not name.startswith("DOLMEN_TEST_"):
            monkeypatch.delenv(name)
    return monkeypatch

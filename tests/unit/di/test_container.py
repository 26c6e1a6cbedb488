"""The container: lifetimes, factories, clean-up, overrides, and who may resolve what."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol

import pytest

from dolmen.di import (
    Container,
    CrossModuleResolution,
    Interceptor,
    Lifetime,
    MissingProviderError,
    NotVisibleError,
    ProviderConfigurationError,
    ResolutionError,
    provide,
    provide_value,
)
from dolmen.di._seam import Build


class Clock:
    """An app-wide service."""


class Repository:
    """A unit-of-work service that needs the clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock


class Pricing(Protocol):
    """A public contract of module 'catalog'."""

    async def price(self, sku: str) -> int: ...


class FixedPricing:
    """Implements Pricing."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository

    async def price(self, sku: str) -> int:
        return len(sku)

    def describe(self) -> str:
        return "fixed"


class Checkout:
    """A service of module 'orders' that calls catalog's public Pricing."""

    def __init__(self, pricing: Pricing) -> None:
        self.pricing = pricing


def make_container(orders_sees: frozenset[str] = frozenset({"catalog"})) -> Container:
    container = Container({"catalog": frozenset(), "orders": orders_sees})
    container.register("catalog", provide(Clock, lifetime=Lifetime.APP))
    container.register("catalog", provide(Repository))
    container.register("catalog", provide(Pricing, FixedPricing, public=True))
    container.register("orders", provide(Checkout))
    if orders_sees:
        container.validate()
    return container


async def test_an_app_service_is_built_once_for_every_unit_of_work() -> None:
    container = make_container()
    first, second = container.scope(), container.scope()
    assert await first.get(Clock, "catalog") is await second.get(Clock, "catalog")


async def test_a_unit_of_work_service_is_shared_within_a_scope_and_new_in_the_next() -> None:
    container = make_container()
    scope = container.scope()
    repository: Repository = await scope.get(Repository, "catalog")
    assert await scope.get(Repository, "catalog") is repository
    assert await container.scope().get(Repository, "catalog") is not repository
    assert repository.clock is await scope.get(Clock, "catalog")


async def test_a_unit_of_work_service_outside_a_scope_is_refused() -> None:
    container = make_container()
    with pytest.raises(ResolutionError, match="per unit of work"):
        await container.resolve(Repository, "catalog", None)


class Token(str):
    """A value built asynchronously."""


async def make_token() -> Token:
    return Token("t-1")


async def test_async_factories_are_awaited() -> None:
    container = Container({"auth": frozenset()})
    container.register("auth", provide(Token, make_token))
    assert await container.scope().get(Token, "auth") == "t-1"


class Connection:
    """A resource with a release step."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log


LOG: list[str] = []


async def open_connection() -> AsyncIterator[Connection]:
    LOG.append("open connection")
    yield Connection("c", LOG)
    LOG.append("close connection")


class Cursor:
    """Depends on a connection; released first."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection


def open_cursor(connection: Connection) -> Iterator[Cursor]:
    LOG.append("open cursor")
    yield Cursor(connection)
    LOG.append("close cursor")


async def test_generator_factories_are_released_last_built_first_when_the_scope_closes() -> None:
    LOG.clear()
    container = Container({"db": frozenset()})
    container.register("db", provide(Connection, open_connection))
    container.register("db", provide(Cursor, open_cursor))
    scope = container.scope()
    cursor: Cursor = await scope.get(Cursor, "db")
    assert isinstance(cursor.connection, Connection)
    assert LOG == ["open connection", "open cursor"]
    await scope.aclose()
    assert LOG == ["open connection", "open cursor", "close cursor", "close connection"]


async def test_app_wide_generators_are_released_when_the_container_closes() -> None:
    LOG.clear()
    container = Container({"db": frozenset()})
    container.register("db", provide(Connection, open_connection, lifetime=Lifetime.APP))
    await container.resolve(Connection, "db", None)
    await container.scope().aclose()
    assert LOG == ["open connection"]
    await container.aclose()
    assert LOG == ["open connection", "close connection"]


async def test_an_override_replaces_the_service_inside_the_block_only() -> None:
    container = make_container()
    fake = FixedPricing(Repository(Clock()))
    with container.override(Pricing, fake):
        assert await container.scope().get(Pricing, "catalog") is fake
    assert await container.scope().get(Pricing, "catalog") is not fake


async def test_an_override_does_not_lift_the_visibility_rules() -> None:
    container = make_container()
    with container.override(Repository, object()), pytest.raises(NotVisibleError):
        await container.scope().get(Repository, "orders")


async def test_a_module_resolves_a_public_service_of_a_module_it_depends_on() -> None:
    container = make_container()
    checkout: Checkout = await container.scope().get(Checkout, "orders")
    assert await checkout.pricing.price("abc") == 3


async def test_a_private_service_of_another_module_is_refused_naming_both_modules() -> None:
    container = make_container()
    with pytest.raises(NotVisibleError) as error:
        await container.scope().get(Repository, "orders")
    message = str(error.value)
    assert "module 'orders'" in message
    assert "private to module 'catalog'" in message


async def test_a_public_service_without_a_declared_dependency_is_refused() -> None:
    container = make_container(orders_sees=frozenset())
    with pytest.raises(NotVisibleError) as error:
        await container.scope().get(Pricing, "orders")
    assert "add 'catalog' to depends_on of module 'orders'" in str(error.value)


def test_a_provider_needing_an_undeclared_dependency_fails_at_validation() -> None:
    container = Container({"catalog": frozenset(), "orders": frozenset()})
    container.register("catalog", provide(Clock, lifetime=Lifetime.APP))
    container.register("catalog", provide(Repository))
    container.register("catalog", provide(Pricing, FixedPricing, public=True))
    container.register("orders", provide(Checkout))
    with pytest.raises(ProviderConfigurationError, match="add 'catalog' to depends_on"):
        container.validate()


async def test_asking_for_a_type_nobody_provides_says_what_to_declare() -> None:
    container = make_container()
    with pytest.raises(MissingProviderError, match=r"declare provide\(int, \.\.\.\)"):
        await container.scope().get(int, "orders")


def test_one_type_provided_by_two_modules_is_refused() -> None:
    container = Container({"a": frozenset(), "b": frozenset()})
    container.register("a", provide(Clock))
    with pytest.raises(ProviderConfigurationError, match="provided twice"):
        container.register("b", provide(Clock))


def test_an_app_service_depending_on_a_unit_of_work_service_is_refused() -> None:
    class Cache:
        """Would capture one unit of work's repository forever."""

        def __init__(self, repository: Repository) -> None:
            self.repository = repository

    container = Container({"catalog": frozenset()})
    container.register("catalog", provide(Clock, lifetime=Lifetime.APP))
    container.register("catalog", provide(Repository))
    container.register("catalog", provide(Cache, lifetime=Lifetime.APP))
    with pytest.raises(ProviderConfigurationError, match=r"lifetime=Lifetime\.UNIT_OF_WORK"):
        container.validate()


class Egg:
    """Half of a cycle."""

    def __init__(self, chicken: Chicken) -> None:
        self.chicken = chicken


class Chicken:
    """The other half."""

    def __init__(self, egg: Egg) -> None:
        self.egg = egg


def test_services_depending_on_each_other_in_a_cycle_are_refused() -> None:
    container = Container({"farm": frozenset()})
    container.register("farm", provide(Egg))
    container.register("farm", provide(Chicken))
    with pytest.raises(ProviderConfigurationError, match="cycle"):
        container.validate()


def test_an_unannotated_parameter_is_refused_when_declared() -> None:
    def make(clock):  # type: ignore[no-untyped-def]
        return clock

    with pytest.raises(ProviderConfigurationError, match="no type annotation"):
        provide(Clock, make)


class Retries(int):
    """Nobody provides it."""


THREE = Retries(3)


class Client:
    """Has a default."""

    def __init__(self, clock: Clock, retries: Retries = THREE) -> None:
        self.retries = retries


async def test_parameters_with_defaults_keep_them_when_nothing_provides_the_type() -> None:
    container = Container({"a": frozenset()})
    container.register("a", provide(Clock, lifetime=Lifetime.APP))
    container.register("a", provide(Client))
    container.validate()
    assert (await container.scope().get(Client, "a")).retries == 3


async def test_provide_value_serves_an_existing_instance() -> None:
    clock = Clock()
    container = Container({"a": frozenset()})
    container.register("a", provide_value(Clock, clock))
    assert await container.resolve(Clock, "a", None) is clock


async def test_what_a_resolution_found_once_follows_later_registrations_and_overrides() -> None:
    # The container keeps how each module gets each key (and what each factory is given)
    # after the first time: later providers, overrides and refusals must still count.
    container = Container({"a": frozenset(), "b": frozenset({"a"})})
    container.register("a", provide(Clock, lifetime=Lifetime.APP))
    container.register("a", provide(Client))
    assert (await container.scope().get(Client, "a")).retries == 3
    with pytest.raises(MissingProviderError):
        await container.scope().get(Pricing, "b")
    container.register("a", provide_value(Retries, Retries(5)))  # now provided: given
    assert (await container.scope().get(Client, "a")).retries == 5
    with container.override(Retries, Retries(7)):
        assert (await container.scope().get(Client, "a")).retries == 7
    assert (await container.scope().get(Client, "a")).retries == 5
    container.register("a", provide(Pricing, FixedPricing, public=True))
    container.register("a", provide(Repository))
    assert await (await container.scope().get(Pricing, "b")).price("ab") == 2  # found now
    for _ in range(2):  # refused each time, never kept
        with pytest.raises(NotVisibleError):
            await container.scope().get(Repository, "b")


async def test_a_crossing_found_once_passes_through_interceptors_declared_later() -> None:
    container = make_container()
    assert type(await container.scope().get(Pricing, "orders")) is FixedPricing
    seen: list[str] = []

    async def hook(resolution: CrossModuleResolution, build: Build) -> object:
        seen.append(f"{resolution.caller}->{resolution.target}")
        return await build()

    container.declare_interceptors([Interceptor("spy", resolve=hook)])
    await container.scope().get(Pricing, "orders")
    await container.scope().get(Pricing, "catalog")  # its own: no crossing
    assert seen == ["orders->catalog"]

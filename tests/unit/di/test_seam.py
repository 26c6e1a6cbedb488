"""The cross-module seam: interceptors decide before anything is built, in a declared order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import pytest

from dolmen.di import (
    Container,
    CrossModuleResolution,
    Interceptor,
    InterceptorRole,
    Lifetime,
    ModuleCall,
    ProviderConfigurationError,
    ServiceProxy,
    provide,
)

Build = Callable[[], Awaitable[Any]]
Proceed = Callable[[], Awaitable[Any]]


class Pricing(Protocol):
    """A public contract of module 'catalog'."""

    async def price(self, sku: str) -> int: ...


class Repository:
    """Private to 'catalog'; counts how often it is built."""

    built = 0

    def __init__(self) -> None:
        Repository.built += 1


class FixedPricing:
    """Implements Pricing, on top of catalog's repository."""

    built = 0

    def __init__(self, repository: Repository) -> None:
        FixedPricing.built += 1
        self.repository = repository
        self.label = "fixed"

    async def price(self, sku: str) -> int:
        return len(sku)

    def describe(self) -> str:
        return "fixed pricing"


class RemotePricing:
    """What a split deployment hands out instead of catalog's own service."""

    async def price(self, sku: str) -> int:
        return 100


class Checkout:
    """A service of module 'orders' that calls catalog's public Pricing."""

    def __init__(self, pricing: Pricing) -> None:
        self.pricing = pricing


@pytest.fixture(autouse=True)
def _reset_counts() -> None:
    Repository.built = FixedPricing.built = 0


def make_container(*interceptors: Interceptor) -> Container:
    container = Container({"catalog": frozenset(), "orders": frozenset({"catalog"})}, interceptors)
    container.register("catalog", provide(Repository))
    container.register("catalog", provide(Pricing, FixedPricing, public=True))
    container.register("orders", provide(Checkout))
    container.validate()
    return container


async def test_a_replacing_hook_builds_nothing_of_the_other_module() -> None:
    async def remote(resolution: CrossModuleResolution, build: Build) -> Any:
        return RemotePricing()

    container = make_container(
        Interceptor("placement", resolve=remote, role=InterceptorRole.PLACEMENT)
    )
    checkout = await container.scope().get(Checkout, "orders")
    assert await checkout.pricing.price("abc") == 100
    assert (Repository.built, FixedPricing.built) == (0, 0)
    # Inside catalog nothing crosses a boundary: its own service is built as usual.
    assert await (await container.scope().get(Pricing, "catalog")).price("abc") == 3
    assert (Repository.built, FixedPricing.built) == (1, 1)


async def test_hooks_see_only_resolutions_that_cross_a_boundary() -> None:
    seen: list[CrossModuleResolution] = []

    async def remember(resolution: CrossModuleResolution, build: Build) -> Any:
        seen.append(resolution)
        return await build()

    scope = make_container(Interceptor("remember", resolve=remember)).scope()
    pricing = await scope.get(Pricing, "catalog")
    assert seen == []
    checkout = await scope.get(Checkout, "orders")
    assert seen == [CrossModuleResolution("orders", "catalog", Pricing)]
    assert checkout.pricing is pricing  # built once per unit of work, and not wrapped


async def test_without_interceptors_the_caller_gets_the_service_itself() -> None:
    scope = make_container().scope()
    checkout = await scope.get(Checkout, "orders")
    assert type(checkout.pricing) is FixedPricing
    assert checkout.pricing is await scope.get(Pricing, "catalog")


async def test_call_interceptors_run_around_every_cross_module_coroutine_call() -> None:
    calls: list[str] = []

    async def outer(call: ModuleCall, proceed: Proceed) -> Any:
        calls.append(f"outer {call.caller}->{call.target}.{call.method}{call.args}{call.kwargs}")
        result = await proceed()
        calls.append(f"outer got {result}")
        return result

    async def inner(call: ModuleCall, proceed: Proceed) -> Any:
        calls.append(f"inner {call.key.__name__}")
        return await proceed() * 10

    container = make_container(Interceptor("outer", call=outer), Interceptor("inner", call=inner))
    checkout = await container.scope().get(Checkout, "orders")
    assert await checkout.pricing.price(sku="abcd") == 40
    assert calls == [
        "outer orders->catalog.price(){'sku': 'abcd'}",
        "inner Pricing",
        "outer got 40",
    ]
    # Plain methods and attributes are the service's own, untouched.
    assert checkout.pricing.describe() == "fixed pricing"  # type: ignore[attr-defined]
    assert checkout.pricing.label == "fixed"  # type: ignore[attr-defined]
    assert calls == [
        "outer orders->catalog.price(){'sku': 'abcd'}",
        "inner Pricing",
        "outer got 40",
    ]


async def test_an_inactive_call_interceptor_leaves_the_caller_the_service_itself() -> None:
    switched_on = False
    calls: list[str] = []

    async def count(call: ModuleCall, proceed: Proceed) -> Any:
        calls.append(call.method)
        return await proceed()

    async def always(call: ModuleCall, proceed: Proceed) -> Any:
        calls.append(f"always {call.method}")
        return await proceed()

    metrics = Interceptor("metrics", call=count, active=lambda: switched_on)
    container = make_container(metrics)
    off = await container.scope().get(Checkout, "orders")
    assert type(off.pricing) is FixedPricing  # no proxy: the call costs a direct call
    assert await off.pricing.price("ab") == 2
    switched_on = True  # asked again at each resolution
    on = await container.scope().get(Checkout, "orders")
    assert isinstance(on.pricing, ServiceProxy)
    assert await on.pricing.price("abc") == 3
    assert calls == ["price"]
    # With another interceptor always on, only the active ones run.
    switched_on = False
    both = make_container(metrics, Interceptor("always", call=always, role=InterceptorRole.POLICY))
    checkout = await both.scope().get(Checkout, "orders")
    assert await checkout.pricing.price("abcd") == 4
    assert calls == ["price", "always price"]


async def test_the_chain_follows_the_roles_not_the_order_of_declaration() -> None:
    order: list[str] = []

    def hook(name: str) -> Callable[[CrossModuleResolution, Build], Awaitable[Any]]:
        async def resolve(resolution: CrossModuleResolution, build: Build) -> Any:
            order.append(f"{name} in")
            instance = await build()
            order.append(f"{name} out")
            return instance

        return resolve

    def around(name: str) -> Callable[[ModuleCall, Proceed], Awaitable[Any]]:
        async def call(call: ModuleCall, proceed: Proceed) -> Any:
            order.append(name)
            return await proceed()

        return call

    declared = [
        Interceptor("metrics", resolve=hook("metrics"), call=around("metrics")),
        Interceptor("auth", call=around("auth"), role=InterceptorRole.POLICY),
        Interceptor("place", resolve=hook("place"), role=InterceptorRole.PLACEMENT),
        Interceptor("tracing", call=around("tracing"), role=InterceptorRole.OBSERVABILITY),
    ]
    container = make_container(*declared)
    assert [i.name for i in container.interceptors] == ["metrics", "tracing", "auth", "place"]
    checkout = await container.scope().get(Checkout, "orders")
    await checkout.pricing.price("a")
    resolving = ["metrics in", "place in", "place out", "metrics out"]
    calling = ["metrics", "tracing", "auth"]
    assert order == [*resolving, *calling]


async def test_interceptors_declared_later_take_their_place_by_role() -> None:
    order: list[str] = []

    def around(name: str) -> Callable[[ModuleCall, Proceed], Awaitable[Any]]:
        async def call(call: ModuleCall, proceed: Proceed) -> Any:
            order.append(name)
            return await proceed()

        return call

    container = make_container(Interceptor("tracing", call=around("tracing")))
    container.declare_interceptors(
        [Interceptor("place", call=around("place"), role=InterceptorRole.PLACEMENT)]
    )
    await (await container.scope().get(Checkout, "orders")).pricing.price("a")
    assert order == ["tracing", "place"]


def test_an_interceptor_declared_twice_is_refused() -> None:
    async def passthrough(call: ModuleCall, proceed: Proceed) -> Any:
        return await proceed()

    async def another(call: ModuleCall, proceed: Proceed) -> Any:
        return await proceed()

    with pytest.raises(ProviderConfigurationError, match="'tracing' is declared twice"):
        make_container(
            Interceptor("tracing", call=passthrough), Interceptor("tracing", call=another)
        )
    container = make_container(Interceptor("tracing", call=passthrough))
    with pytest.raises(ProviderConfigurationError, match="'tracing' is declared twice"):
        container.declare_interceptors([Interceptor("tracing", call=passthrough)])
    with pytest.raises(ProviderConfigurationError, match="run the same function"):
        container.declare_interceptors([Interceptor("tracing-again", call=passthrough)])
    assert [i.name for i in container.interceptors] == ["tracing"]


def test_an_interceptor_says_what_it_does() -> None:
    with pytest.raises(ProviderConfigurationError, match="neither resolve= nor call="):
        Interceptor("nothing")
    with pytest.raises(ProviderConfigurationError, match="needs a name"):
        Interceptor("", call=lambda call, proceed: proceed())


async def test_the_proxy_makes_each_method_once_per_service_type() -> None:
    async def passthrough(call: ModuleCall, proceed: Proceed) -> Any:
        return await proceed()

    container = make_container(Interceptor("tracing", call=passthrough))
    first = (await container.scope().get(Checkout, "orders")).pricing
    second = (await container.scope().get(Checkout, "orders")).pricing
    assert isinstance(first, ServiceProxy)
    assert first is not second
    assert first.price.__func__ is second.price.__func__  # type: ignore[attr-defined]
    assert [await first.price("ab"), await second.price("abc")] == [2, 3]
    assert repr(first).startswith("<proxy for <")
    assert repr(first).endswith("seen from module 'orders'>")


async def test_a_coroutine_function_set_on_the_instance_is_intercepted_too() -> None:
    seen: list[str] = []

    async def remember(call: ModuleCall, proceed: Proceed) -> Any:
        seen.append(call.method)
        return await proceed()

    class Patched(FixedPricing):
        def __init__(self, repository: Repository) -> None:
            super().__init__(repository)

            async def price(sku: str) -> int:
                return 7

            self.price = price  # type: ignore[method-assign]

    container = Container({"catalog": frozenset(), "orders": frozenset({"catalog"})})
    container.declare_interceptors([Interceptor("remember", call=remember)])
    container.register("catalog", provide(Repository))
    container.register("catalog", provide(Pricing, Patched, public=True))
    container.register("orders", provide(Checkout))
    checkout = await container.scope().get(Checkout, "orders")
    assert await checkout.pricing.price("a") == 7
    assert seen == ["price"]


async def test_an_app_wide_service_is_built_once_however_many_hooks_pass_through() -> None:
    async def passthrough(resolution: CrossModuleResolution, build: Build) -> Any:
        return await build()

    async def another(resolution: CrossModuleResolution, build: Build) -> Any:
        return await build()

    container = Container(
        {"catalog": frozenset(), "orders": frozenset({"catalog"})},
        [Interceptor("a", resolve=passthrough), Interceptor("b", resolve=another)],
    )
    container.register("catalog", provide(Repository, lifetime=Lifetime.APP, public=True))
    first = await container.resolve(Repository, "orders", None)
    assert first is await container.resolve(Repository, "orders", None)
    assert Repository.built == 1


async def test_an_error_in_a_hook_reaches_the_caller() -> None:
    async def refuse(resolution: CrossModuleResolution, build: Build) -> Any:
        raise PermissionError(f"{resolution.caller} may not use {resolution.target}")

    scope = make_container(Interceptor("auth", resolve=refuse)).scope()
    with pytest.raises(PermissionError, match="orders may not use catalog"):
        await scope.get(Checkout, "orders")
    assert FixedPricing.built == 0

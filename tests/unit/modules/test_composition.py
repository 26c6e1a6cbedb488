"""Composing an App: the module graph is checked before anything runs."""

from __future__ import annotations

import pytest

from dolmen import App, Event, Lifetime, Module, provide
from dolmen.modules import DependencyCycleError, DuplicateModuleError, UnknownDependencyError
from dolmen.modules.exceptions import CompositionError


def test_modules_are_ordered_after_their_dependencies() -> None:
    app = App(
        "t",
        modules=[
            Module("orders", depends_on=["catalog", "billing"]),
            Module("billing", depends_on=["catalog"]),
            Module("catalog"),
        ],
    )
    assert [m.name for m in app.modules] == ["catalog", "billing", "orders"]


def test_an_unknown_dependency_names_both_modules_and_what_exists() -> None:
    with pytest.raises(UnknownDependencyError) as error:
        App("t", modules=[Module("orders", depends_on=["catalgo"]), Module("catalog")])
    message = str(error.value)
    assert "'orders'" in message
    assert "'catalgo'" in message
    assert "catalog, orders" in message


def test_an_unknown_listens_to_is_refused_too() -> None:
    with pytest.raises(UnknownDependencyError, match="listens_to='payments'"):
        App("t", modules=[Module("orders", listens_to=["payments"])])


def test_a_dependency_cycle_reports_its_whole_path() -> None:
    with pytest.raises(DependencyCycleError) as error:
        App(
            "t",
            modules=[
                Module("orders", depends_on=["billing"]),
                Module("billing", depends_on=["payments"]),
                Module("payments", depends_on=["orders"]),
                Module("catalog"),
            ],
        )
    cycle = error.value.cycle
    assert cycle[0] == cycle[-1]
    assert len(cycle) == 4
    assert set(cycle) == {"orders", "billing", "payments"}
    rotated = cycle[cycle.index("orders") :] + cycle[1 : cycle.index("orders") + 1]
    assert rotated == ["orders", "billing", "payments", "orders"]
    assert " -> ".join(cycle) in str(error.value)


def test_listens_to_may_point_back_without_making_a_cycle() -> None:
    app = App(
        "t",
        modules=[
            Module("billing", listens_to=["orders"]),
            Module("orders", listens_to=["billing"]),
        ],
    )
    assert {m.name for m in app.modules} == {"billing", "orders"}


def test_two_modules_with_one_name_are_refused() -> None:
    with pytest.raises(DuplicateModuleError, match="'orders'"):
        App("t", modules=[Module("orders"), Module("orders")])


def test_a_module_depending_on_itself_is_refused() -> None:
    with pytest.raises(UnknownDependencyError, match="itself"):
        App("t", modules=[Module("orders", depends_on=["orders"])])


@pytest.mark.parametrize("name", ["", "Orders", "9lives", "orders-2", "a.b"])
def test_a_module_name_must_be_usable_as_prefix_and_schema(name: str) -> None:
    with pytest.raises(CompositionError, match="not valid"):
        Module(name)


def test_a_module_knows_the_package_that_declares_it() -> None:
    assert Module("x").package == __name__.rpartition(".")[0]
    assert Module("x", package="shop.x").package == "shop.x"


class Shipped(Event, name="shipping.Shipped"):
    order_id: str


def test_handling_an_event_of_an_undeclared_module_is_refused() -> None:
    orders = Module("orders")

    @orders.on(Shipped)
    async def on_shipped(event: Shipped) -> None:
        """Handle it."""

    with pytest.raises(CompositionError, match="add 'shipping' to listens_to of module 'orders'"):
        App("t", modules=[orders, Module("shipping")])


def test_a_handler_must_be_a_coroutine_function() -> None:
    orders = Module("orders", listens_to=["shipping"])

    @orders.on(Shipped)
    def on_shipped(event: Shipped) -> None:
        """Handle it."""

    with pytest.raises(CompositionError, match="async def"):
        App("t", modules=[orders, Module("shipping")])


def test_one_exception_mapped_to_two_statuses_is_refused() -> None:
    with pytest.raises(CompositionError, match="map each exception once"):
        App(
            "t",
            modules=[Module("a", errors={KeyError: 404}), Module("b", errors={KeyError: 409})],
        )


async def test_start_up_hooks_run_in_dependency_order_and_shutdown_in_reverse(
    sqlite_url: str,
) -> None:
    calls: list[str] = []

    def hooks(name: str) -> dict[str, list[object]]:
        async def start() -> None:
            calls.append(f"start {name}")

        def stop() -> None:
            calls.append(f"stop {name}")

        return {"on_startup": [start], "on_shutdown": [stop]}

    app = App(
        "t",
        modules=[
            Module("orders", depends_on=["catalog"], **hooks("orders")),  # type: ignore[arg-type]
            Module("catalog", **hooks("catalog")),  # type: ignore[arg-type]
        ],
        config={"app": {"database_url": sqlite_url}},
    )
    async with app.running():
        assert calls == ["start catalog", "start orders"]
    assert calls == ["start catalog", "start orders", "stop orders", "stop catalog"]


class Clock:
    """A service a hook asks for."""


async def test_a_failing_start_up_hook_stops_the_modules_already_started(sqlite_url: str) -> None:
    calls: list[str] = []

    def stop_catalog(clock: Clock) -> None:
        calls.append(f"stop catalog with {type(clock).__name__}")

    def fail() -> None:
        raise RuntimeError("orders cannot start")

    app = App(
        "t",
        modules=[
            Module(
                "catalog",
                providers=[provide(Clock, lifetime=Lifetime.APP)],
                on_shutdown=[stop_catalog],
            ),
            Module("orders", depends_on=["catalog"], on_startup=[fail]),
        ],
        config={"app": {"database_url": sqlite_url}},
    )
    with pytest.raises(RuntimeError, match="orders cannot start"):
        await app.start()
    assert calls == ["stop catalog with Clock"]
    assert not app.started


def test_a_public_service_must_be_declared_in_the_modules_api() -> None:
    from shop.catalog.service import Catalog

    catalog = Module("catalog", package="shop.catalog", providers=[provide(Catalog, public=True)])
    with pytest.raises(CompositionError, match=r"declare the interface .* in 'shop\.catalog\.api'"):
        App("t", modules=[catalog])


def test_the_shop_exports_only_types_from_its_modules_apis() -> None:
    from shop.app import create_app
    from shop.catalog.api import CatalogService

    app = create_app()  # raises CompositionError if a public key lived outside an api
    assert app.container.owner_of(CatalogService) == "catalog"

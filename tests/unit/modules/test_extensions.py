"""Extensions at composition: their sections, their declarations, their routes and wrappers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from pydantic_settings import BaseSettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dolmen import App, Extension, Module
from dolmen.config import ConfigSection, ConfigurationError
from dolmen.di import Interceptor, InterceptorRole, ModuleCall
from dolmen.events import DeliveryContext, EventSettings
from dolmen.modules import CompositionError, DeliveryInterceptor


class MetricsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = "/metrics"
    buckets: dict[str, float] = {}


class Metrics(Extension):
    """An extension with a section, a route and a wrapper that tags responses."""

    def __init__(self, tag: str = "metrics", *, settings: bool = True) -> None:
        self.tag, self.settings = tag, settings

    def section(self) -> ConfigSection | None:
        if not self.settings:
            return None
        return ConfigSection("metrics", MetricsSettings, "the metrics extension's settings")

    def routers(self) -> Sequence[APIRouter]:
        router = APIRouter()

        @router.get(f"/{self.tag}", operation_id=self.tag)
        async def metrics() -> dict[str, str]:
            return {"from": self.tag}

        return [router]

    def wrap_asgi(self, asgi: ASGIApp) -> ASGIApp:
        return Tagging(asgi, self.tag)


class Tagging:
    """Adds its tag to the ``x-wrapped-by`` header of every response, in wrapping order."""

    def __init__(self, app: ASGIApp, tag: str) -> None:
        self.app, self.tag = app, tag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-wrapped-by", self.tag.encode())]
            await send(message)

        await self.app(scope, receive, tagged)


class Plain(Extension):
    """Overrides nothing: every default of the protocol."""


def app_with(*extensions: Extension, modules: Sequence[Module] = (), **config: Any) -> App:
    return App("t", modules=list(modules), extensions=extensions, config=config)


def test_an_extension_section_is_validated_with_the_app_configuration(tmp_path: Path) -> None:
    (tmp_path / "dolmen.toml").write_text('[metrics]\npath = "/m"\n')
    app = App("t", [Module("catalog")], extensions=[Metrics()], config_dir=tmp_path)
    settings = app.load_config(environ={}).section("metrics")
    assert settings == MetricsSettings(path="/m")
    assert list(app.settings_schema()) == ["app", "events", "observability", "units", "metrics"]
    (tmp_path / "dolmen.toml").write_text('[metrics]\npaht = "/m"\n')
    with pytest.raises(ConfigurationError) as error:
        app.load_config(environ={})
    assert [str(p) for p in error.value.problems] == [
        "metrics.paht: unknown key (dolmen.toml:2); did you mean 'metrics.path'?"
    ]


def test_sections_come_framework_first_then_extensions_then_modules() -> None:
    class CatalogSettings(BaseSettings):
        size: int = 1

    app = app_with(Metrics(), modules=[Module("catalog", settings=CatalogSettings)])
    assert list(app.settings_schema()) == [
        "app",
        "events",
        "observability",
        "units",
        "metrics",
        "catalog",
    ]
    assert app.settings_schema()["events"] is EventSettings


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("app", "the application's own settings"),
        ("events", "event delivery settings"),
        ("dolmen", "Dolmen's outbox tables"),
        ("metrics", "the metrics extension's settings"),
    ],
)
def test_a_module_may_not_take_a_section_or_reserved_name(name: str, reason: str) -> None:
    with pytest.raises(CompositionError) as error:
        app_with(Metrics(), modules=[Module(name)])
    assert str(error.value) == f"module name {name!r} is reserved ({reason}); rename the module"


def test_an_extension_may_not_take_a_section_already_declared() -> None:
    class Events(Extension):
        def section(self) -> ConfigSection:
            return ConfigSection("events", MetricsSettings, "another events section")

    with pytest.raises(CompositionError, match=r"section 'events' .* is declared twice"):
        app_with(Events())
    with pytest.raises(CompositionError, match=r"section 'metrics' .* is declared twice"):
        app_with(Metrics(), Metrics())


def test_an_extension_object_given_twice_is_refused() -> None:
    plain = Plain()
    with pytest.raises(CompositionError, match="is given twice"):
        app_with(plain, plain)


def test_an_object_that_is_not_an_extension_is_refused_with_the_way_out() -> None:
    class Almost:
        def routers(self) -> Sequence[APIRouter]:
            return ()

    with pytest.raises(CompositionError) as error:
        app_with(Almost())  # type: ignore[arg-type]
    message = str(error.value)
    assert "is not an extension: it has no section, interceptors, delivery_interceptors" in message
    assert message.endswith("subclass dolmen.Extension (every method has a default)")


def test_a_section_name_must_be_usable_in_files_and_variables() -> None:
    with pytest.raises(ValueError, match="not valid"):
        ConfigSection("Metrics", MetricsSettings, "x")
    with pytest.raises(TypeError, match="pydantic model class"):
        ConfigSection("metrics", dict, "x")  # type: ignore[arg-type]


async def trace(call: ModuleCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
    return await proceed()


async def place(call: ModuleCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
    return await proceed()


async def time_handler(delivery: DeliveryContext, proceed: Callable[[], Awaitable[None]]) -> None:
    await proceed()


TRACING = Interceptor("tracing", call=trace)
PLACEMENT = Interceptor("placement", call=place, role=InterceptorRole.PLACEMENT)


class Observability(Extension):
    def interceptors(self) -> Sequence[Interceptor]:
        return [TRACING]

    def delivery_interceptors(self) -> Sequence[DeliveryInterceptor]:
        return [time_handler]


class Placement(Extension):
    def interceptors(self) -> Sequence[Interceptor]:
        return [PLACEMENT]


def test_interceptors_are_declared_once_at_composition_in_extension_order() -> None:
    app = app_with(Observability(), Placement(), Plain())
    # Dolmen's own come first (module-call metrics, deployment units' placement): then the
    # given ones.
    observed, placed = app_with().interceptors
    assert (observed.name, placed.name) == ("dolmen.observability", "dolmen.units")
    assert app.interceptors[2:] == (TRACING, PLACEMENT)
    # Outermost first, by role: observability, then placement in declaration order.
    dolmen_observed, dolmen_placed = app.interceptors[:2]
    assert app.container.interceptors == (dolmen_observed, TRACING, dolmen_placed, PLACEMENT)
    reversed_app = app_with(Placement(), Observability())
    assert reversed_app.interceptors[2:] == (PLACEMENT, TRACING)
    dolmen_placed = reversed_app.interceptors[1]
    assert reversed_app.container.interceptors[1:] == (TRACING, dolmen_placed, PLACEMENT)
    # Dolmen's own observability first: the log context of each handler run.
    assert app.delivery_interceptors[1:] == (time_handler,)


async def test_extension_routes_are_mounted_and_the_first_wrapper_is_outermost() -> None:
    app = app_with(Metrics("outer"), Plain(), Metrics("inner", settings=False))
    transport = httpx.ASGITransport(app=app)  # the app itself: with the extensions' wrappers
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/outer")
        assert response.json() == {"from": "outer"}
        assert response.headers.get_list("x-wrapped-by") == ["inner", "outer"]
        assert (await client.get("/inner")).json() == {"from": "inner"}
        health = await client.get("/healthz")
        assert health.json() == {"status": "ok"}
        assert health.headers.get_list("x-wrapped-by") == ["inner", "outer"]
    spec = app.asgi().openapi()  # the FastAPI app: routes, no wrappers
    assert list(spec["paths"]) == ["/healthz", "/readyz", "/outer", "/inner"]


def test_every_app_has_observability_the_health_probes_and_units_first() -> None:
    from dolmen.http import HealthProbes
    from dolmen.observability import Observability as DolmenObservability
    from dolmen.units import Units

    plain = Plain()
    app = app_with(plain)
    assert isinstance(app.extensions[0], DolmenObservability)
    assert isinstance(app.extensions[1], HealthProbes)
    assert isinstance(app.extensions[2], Units)
    assert app.extensions[3:] == (plain,)


def test_units_given_replace_the_default_ones_after_the_health_probes() -> None:
    from dolmen.units import Units

    plain, mine = Plain(), Units()
    app = app_with(plain, mine)
    assert app.extensions[2] is mine
    assert [type(e) for e in app.extensions].count(Units) == 1
    assert app.extensions[3:] == (plain,)


def test_an_observability_given_replaces_the_default_one_and_goes_first() -> None:
    from dolmen.observability import Observability as DolmenObservability

    plain, mine = Plain(), DolmenObservability()
    app = app_with(plain, mine)
    assert app.extensions[0] is mine
    assert [type(e) for e in app.extensions].count(DolmenObservability) == 1
    assert app.extensions[3:] == (plain,)


class Placing(Extension):
    """Lets only ``names`` run in this process (None: no say)."""

    def __init__(self, names: Sequence[str] | None) -> None:
        self.names = names
        self.asked: list[Any] = []

    def local_modules(self, app: App, settings: Any) -> Sequence[str] | None:
        self.asked.append(settings)
        return self.names


SHOP = [Module("catalog"), Module("orders", depends_on=["catalog"]), Module("billing")]


def test_an_app_runs_the_modules_every_extension_lets_it_run() -> None:
    first, second = Placing(["catalog", "orders"]), Placing(["orders", "billing", "catalog"])
    app = app_with(first, Placing(None), second, modules=SHOP)

    assert [m.name for m in app.local_modules] == ["catalog", "orders"]  # dependency order
    assert first.asked == [None]  # its section's settings: it has none
    everywhere = app_with(Placing(None), modules=SHOP)
    assert everywhere.local_modules == everywhere.modules  # no say: every module runs here


def test_an_extension_placing_a_module_the_app_lacks_is_refused() -> None:
    app = app_with(Placing(["catalog", "shipping"]), modules=SHOP)

    with pytest.raises(CompositionError, match=r"places modules \['shipping'\] in this process"):
        app.local_modules  # noqa: B018 (placed on first use)


async def test_only_the_local_modules_routes_are_served() -> None:
    routes = APIRouter()

    @routes.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    modules = [Module("catalog", routers=[routes]), Module("billing", routers=[routes])]
    app = app_with(Placing(["billing"]), modules=modules)

    assert "/billing/ping" in app.asgi().openapi()["paths"]
    assert "/catalog/ping" not in app.asgi().openapi()["paths"]

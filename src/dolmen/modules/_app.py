"""``App``: the composition root that builds one application from its modules."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from dolmen.config import AppSettings, ConfigSection, LoadedConfig, load_config
from dolmen.di import (
    Interceptor,
    Parameter,
    ProviderConfigurationError,
    ResolutionError,
    parameters_of,
)
from dolmen.events import OUTBOX_TABLES, EventAdmin, EventBackend, EventSettings
from dolmen.migrations import prepare_schema
from dolmen.modules._checks import (
    check_public_keys,
    check_route_injections,
    collect_errors,
    collect_subscriptions,
)
from dolmen.modules._events import AppEvents
from dolmen.modules._extension import DeliveryInterceptor, Extension, missing_hooks
from dolmen.modules._gc import freeze_startup_objects
from dolmen.modules._graph import ordered_modules
from dolmen.modules._module import Module, Subscription
from dolmen.modules._placement import placed_modules
from dolmen.modules._sections import FRAMEWORK_SECTIONS, check_sections
from dolmen.modules._wiring import build_container
from dolmen.modules._work import Work
from dolmen.modules.exceptions import CompositionError
from dolmen.persistence import Database, UnitOfWork

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("dolmen.modules")


class App:
    """An application composed explicitly from its modules.

    ``App("shop", modules=[catalog, orders, billing])`` checks the module graph
    (unknown dependencies, cycles, duplicate names) and every provider at
    construction, so a mistake stops the start-up with a message naming the
    modules. Nothing connects or reads configuration until :meth:`start` (or
    the ASGI lifespan, when the app is served: an ``App`` is an ASGI app).

    ``interceptors`` run where one module obtains and calls another's services
    (:class:`dolmen.di.Interceptor`), with those the extensions declare.
    ``extensions`` plug in at fixed points of the start sequence (see
    :class:`~dolmen.modules.Extension`); observability, the health probes and the
    deployment units (:class:`dolmen.units.Units`) come first.
    Its events run on the outbox in its database, or on ``event_backend``
    (``EventBackend.in_memory()`` in tests).
    """

    def __init__(
        self,
        name: str,
        modules: Sequence[Module],
        *,
        config: Mapping[str, Any] | None = None,
        config_dir: str | Path | None = None,
        environment: str | None = None,
        extensions: Sequence[Extension] = (),
        event_backend: EventBackend | None = None,
        interceptors: Sequence[Interceptor] = (),
    ) -> None:
        self.name = name
        self.modules: list[Module] = ordered_modules(modules)
        from dolmen.http import HealthProbes  # on first use: FastAPI is a heavy import
        from dolmen.observability import Observability
        from dolmen.units import Units

        # Observability first (outermost: it sees and times everything), then the health
        # probes, then the deployment units; an Observability or Units given by the caller
        # replaces the default one.
        observability = [e for e in extensions if isinstance(e, Observability)][:1] or [
            Observability()
        ]
        units = [e for e in extensions if isinstance(e, Units)][:1] or [Units()]
        self.extensions: tuple[Extension, ...] = (
            *observability,
            HealthProbes(),
            *units,
            *(e for e in extensions if e not in observability and e not in units),
        )
        self._extension_sections = _extension_sections(self.extensions)
        check_sections(
            [*FRAMEWORK_SECTIONS, *(s for s in self._extension_sections if s is not None)],
            self.modules,
        )
        for module in self.modules:
            check_public_keys(module)
        self.config_dir = Path(config_dir) if config_dir is not None else None
        self.environment = environment
        self._code_config: dict[str, Any] = {k: dict(v) for k, v in (config or {}).items()}
        self._config: LoadedConfig | None = None
        self._placed: tuple[list[Module], frozenset[str]] | None = None
        self._served: list[str] | None = None  # the modules whose routes the ASGI app has
        self._serving = True
        # Declarations, read once like the modules': the App's own interceptors first, then
        # the extensions' in their order (the seam orders them by role, then by this order).
        self.interceptors: tuple[Interceptor, ...] = (
            *interceptors,
            *(interceptor for e in self.extensions for interceptor in e.interceptors()),
        )
        try:
            self.container = build_container(
                self.modules, lambda name: self.config.section(name), self.interceptors
            )
            self.subscriptions = collect_subscriptions(self.modules, self.container)
            check_route_injections(self.modules, self.container)
            self.container.validate()
        except (ProviderConfigurationError, ResolutionError) as error:
            raise CompositionError(str(error)) from error
        self.error_map = collect_errors(self.modules)
        self.delivery_interceptors: tuple[DeliveryInterceptor, ...] = tuple(
            interceptor for e in self.extensions for interceptor in e.delivery_interceptors()
        )
        # Read once: a handler's parameters are resolved on every event it receives.
        self._handler_parameters = {s: parameters_of(s.handler)[1:] for s in self.subscriptions}
        self.database: Database | None = None
        self._events: AppEvents | None = None
        self._fastapi: FastAPI | None = None
        self._asgi: ASGIApp | None = None
        self._event_backend = event_backend
        self.published_observers: list[Callable[[Sequence[str]], None]] = []
        """Told the types of the events each unit of work published, once it committed
        (observability counts them)."""
        """The ports events run on (None: the SQL outbox of the app's database, at start)."""

    # -- lifecycle ------------------------------------------------------------------

    def settings_schema(self) -> dict[str, type[BaseModel]]:
        """The settings class of each section: the framework's, the extensions', the modules'."""
        schema = {section.name: section.settings for section in FRAMEWORK_SECTIONS}
        for section in self._extension_sections:
            if section is not None:
                schema[section.name] = section.settings
        for module in self.modules:
            if module.settings is not None:
                schema[module.name] = module.settings
        return schema

    def load_config(
        self,
        *,
        environment: str | None = None,
        environ: Mapping[str, str] | None = None,
        include_process: bool = True,
    ) -> LoadedConfig:
        """Read and validate the configuration; raises ConfigurationError with every problem.

        ``environ`` defaults to the process environment: the one place Dolmen
        reads it.
        """
        return load_config(
            self.settings_schema(),
            config_dir=self.config_dir or Path.cwd(),
            environ=os.environ if environ is None else environ,
            environment=environment or self.environment,
            code=self._code_config,
            include_process=include_process,
        )

    @property
    def config(self) -> LoadedConfig:
        """The validated configuration (loaded on first use, or by :meth:`start`)."""
        if self._config is None:
            self._config = self.load_config()
        return self._config

    @property
    def local_modules(self) -> list[Module]:
        """The modules this process runs, in dependency order: every one, unless told.

        An extension may say which modules run here (:meth:`Extension.local_modules`;
        deployment units do, for ``dolmen run --unit``): then only their routes, tables,
        start-up and shutdown hooks and event handlers are this process's. The others'
        services stay reachable through the seam, where placement decides where they run.
        """
        return self._placement()[0]

    def _placement(self) -> tuple[list[Module], frozenset[str]]:
        """The modules this process runs, and their names (placed on first use)."""
        if self._placed is None:
            self._run_here(placed_modules(self, self.config, self._extension_sections))
            assert self._placed is not None  # just set
        return self._placed

    def _run_here(self, local: list[Module]) -> None:
        self._placed = (local, frozenset(m.name for m in local))

    @property
    def settings(self) -> AppSettings:
        """The application's own settings (section ``app``)."""
        settings = self.config.section("app")
        assert isinstance(settings, AppSettings)  # the schema puts AppSettings there
        return settings

    @property
    def serving(self) -> bool:
        """Whether the app's current (or last) start serves requests and events.

        False for a start that only checks or prepares the app (``start(serving=False)``,
        ``dolmen run``'s check before serving). Extensions read it in ``configure`` to leave
        out what only a serving process needs: the deployment units connect to their broker
        only when it is True.
        """
        return self._serving

    @property
    def started(self) -> bool:
        """Whether :meth:`start` has run and :meth:`stop` has not."""
        return self.database is not None

    async def start(self, *, dispatch: bool | None = None, serving: bool = True) -> None:
        """Start the app: the start sequence, in this order.

        1. Load and validate the configuration (every section, the extensions' too), and
           ask the extensions which modules run here (:attr:`local_modules`): the steps
           below concern only those.
        2. Each extension's ``configure(app, settings)``, in the order given.
        3. Open the database and check its schema against the migrations, as
           ``[app] database_schema`` says (or apply them, or create the tables).
        4. Each extension's ``on_database(database)``.
        5. The modules' start-up hooks, in dependency order.
        6. Deliver events, unless ``dispatch`` (default: ``[events] dispatch``) is false:
           tools that only inspect the outbox start the app that way.
        7. Each extension's ``start()``.
        8. Log ``app <name> started`` and freeze the objects alive then (``[app] gc_freeze``).

        If a step fails, what started is stopped again (see :meth:`stop`) and the error
        propagates. ``serving=False`` is for a start that only checks or prepares the app
        before a server starts it again (``dolmen run``'s check, the demo's seeding): it
        skips step 8, so each serving process logs one start and freezes what it serves with,
        and the extensions see :attr:`serving` False (the deployment units do not connect to
        their broker then).
        """
        if self.started:
            return
        self._serving = serving
        config = self._config = self.load_config()
        local = placed_modules(self, config, self._extension_sections)
        if self._served is not None and self._served != [m.name for m in local]:
            raise CompositionError(
                f"app {self.name!r} serves the routes of modules {self._served}, but its "
                f"configuration now runs {[m.name for m in local]} here; the modules a "
                "process runs cannot change once its routes are built: start a new process"
            )
        self._run_here(local)
        for extension, section in zip(self.extensions, self._extension_sections, strict=True):
            await extension.configure(self, config.section(section.name) if section else None)
        database = Database(
            self.settings.effective_database_url(self.name),
            [OUTBOX_TABLES, *(m.tables for m in local if m.tables is not None)],
            pool_size=self.settings.db_pool_size,
            max_overflow=self.settings.db_max_overflow,
        )
        await database.open()
        self.database = database
        modules: list[Module] = []
        extensions: list[Extension] = []
        dispatching = False
        try:
            await prepare_schema(database, local, self.settings.database_schema)
            for extension in self.extensions:
                await extension.on_database(database)
            settings = self._event_settings(dispatch)
            backend = self._event_backend or EventBackend.sql(database, settings)
            self._events = AppEvents(self, backend, settings)
            for module in local:
                for hook in module.on_startup:
                    await self._call_hook(module, hook)
                modules.append(module)
            await self._events.start()
            dispatching = True
            for extension in self.extensions:
                await extension.start()
                extensions.append(extension)
        except BaseException:
            await self._shutdown(modules, extensions, events=dispatching)
            raise
        if serving and self.settings.gc_freeze:
            freeze_startup_objects()
        if serving:
            logger.info("app %s started with modules %s", self.name, [m.name for m in local])

    def _event_settings(self, dispatch: bool | None) -> EventSettings:
        settings = self.config.section("events")
        assert isinstance(settings, EventSettings)  # FRAMEWORK_SECTIONS puts it there
        if dispatch is not None:
            settings = settings.model_copy(update={"dispatch": dispatch})
        return settings

    async def stop(self) -> None:
        """Stop the app: the start sequence undone, last step first.

        The extensions' ``stop()`` (last extension first), then event delivery: running
        handlers get ``[events] shutdown_grace_seconds`` to finish, and the deliveries of
        those still running are given back to the outbox. Then the modules' shutdown hooks
        in reverse dependency order, the app-wide services' clean-up, and the database.
        """
        if not self.started:
            return
        await self._shutdown(self.local_modules, self.extensions, events=True)

    @property
    def events(self) -> EventAdmin:
        """Dead letters and delivery statistics (the app must be started)."""
        return self._started_events().admin

    def _started_events(self) -> AppEvents:
        if self._events is None:
            raise RuntimeError(
                f"app {self.name!r} is not started; use 'async with app.running():' "
                "or serve it (its ASGI lifespan starts it)"
            )
        return self._events

    async def _shutdown(
        self, modules: Sequence[Module], extensions: Sequence[Extension], *, events: bool
    ) -> None:
        try:
            for extension in reversed(extensions):
                try:
                    await extension.stop()
                except Exception:
                    logger.exception("extension %s failed to stop", type(extension).__name__)
            if events and self._events is not None:
                await self._events.stop()
            for module in reversed(modules):
                for hook in reversed(module.on_shutdown):
                    try:
                        await self._call_hook(module, hook)
                    except Exception:
                        logger.exception("shutdown hook of module %s failed", module.name)
            await self.container.aclose()
        finally:
            if self.database is not None:
                await self.database.close()
            self.database = None
            self._events = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[App]:
        """``async with app.running():`` starts the app and stops it on exit."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    # -- units of work --------------------------------------------------------------

    def begin(
        self, module: str | None = None, *, write: bool = True, within: UnitOfWork | None = None
    ) -> Work:
        """Open a unit of work; the caller commits or rolls back, then closes it.

        ``within`` nests it in that unit of work's transaction, in a savepoint of its own
        (see :meth:`UnitOfWork.nested`).
        """
        events = self._started_events()
        assert self.database is not None  # started
        scope = self.container.scope()
        uow = within.nested() if within is not None else UnitOfWork(self.database, write=write)
        scope.state["uow"] = uow
        return Work(scope, uow, module, events.write, events.wake)

    @contextlib.asynccontextmanager
    async def unit_of_work(self, module: str, *, write: bool = True) -> AsyncIterator[Work]:
        """Run a command as ``module`` in one transaction: commit on success, roll back on error.

        ``async with app.unit_of_work("catalog") as work:
        service = await work.get(CatalogService)``
        """
        if module not in self._placement()[1]:  # (the modules here: some of the app's)
            if module not in {m.name for m in self.modules}:
                raise CompositionError(f"app {self.name!r} has no module {module!r}")
            raise CompositionError(
                f"module {module!r} does not run in this process of app {self.name!r}, which "
                f"runs {[m.name for m in self.local_modules]}; run the command in a process "
                "that runs it (see `dolmen units`)"
            )
        work = self.begin(module, write=write)
        try:
            yield work
            await work.commit()
        finally:
            await work.close()

    def handler_parameters(self, subscription: Subscription) -> tuple[Parameter, ...]:
        """The parameters of a handler after the event, read once."""
        return self._handler_parameters[subscription]

    async def drain_events(self, *, within: float = 30.0, retries: bool = False) -> None:
        """Wait until every event delivery due so far has run (those it publishes included).

        With ``retries``, also wait for retries scheduled later. Raises TimeoutError after
        ``within`` seconds. Needs the dispatcher (``[events] dispatch``, on by default).
        """
        events = self._started_events()
        if not events.settings.dispatch:
            raise RuntimeError("this app does not dispatch events ([events] dispatch = false)")
        await events.dispatcher.drain(within=within, retries=retries)

    async def _call_hook(self, module: Module, hook: Callable[..., Any]) -> None:
        kwargs: dict[str, Any] = {}
        for parameter in parameters_of(hook):
            if parameter.key is App:
                kwargs[parameter.name] = self  # to open units of work: app.unit_of_work(...)
                continue
            kwargs[parameter.name] = await self.container.resolve(parameter.key, module.name, None)
        result = hook(**kwargs)
        if inspect.isawaitable(result):
            await result

    # -- testing and serving ---------------------------------------------------------

    @contextlib.contextmanager
    def override(self, key: Any, instance: object) -> Iterator[None]:
        """Serve ``instance`` for the service ``key`` inside the ``with`` block."""
        with self.container.override(key, instance):
            yield

    def asgi(self) -> FastAPI:
        """The FastAPI application of this app (built once).

        It holds the modules' routes and the extensions' ``routers()``, without the
        extensions' ``wrap_asgi``: the app itself, served, has them.
        """
        if self._fastapi is None:
            from dolmen.http import create_fastapi

            local = self.local_modules  # first: the extensions' routers may depend on it
            routers = [router for e in self.extensions for router in e.routers()]
            self._fastapi = create_fastapi(self, routers, modules=local)
            self._served = [m.name for m in local]
        return self._fastapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the app over ASGI (``uvicorn shop.app:app`` works).

        Requests pass through the extensions' ``wrap_asgi``, the first extension's outermost.
        """
        if self._asgi is None:
            asgi: ASGIApp = self.asgi()
            for extension in reversed(self.extensions):
                asgi = extension.wrap_asgi(asgi)
            self._asgi = asgi
        await self._asgi(scope, receive, send)

    def __repr__(self) -> str:
        return f"App({self.name!r}, modules={[m.name for m in self.modules]!r})"


def _extension_sections(extensions: Sequence[Extension]) -> tuple[ConfigSection | None, ...]:
    """Each extension's section (read once), refusing an extension given twice."""
    seen: set[int] = set()
    for extension in extensions:
        missing = missing_hooks(extension)
        if missing:
            raise CompositionError(
                f"{extension!r} is not an extension: it has no {', '.join(missing)}; "
                "subclass dolmen.Extension (every method has a default)"
            )
        if id(extension) in seen:
            raise CompositionError(
                f"extension {extension!r} is given twice; give each extension once"
            )
        seen.add(id(extension))
    return tuple(extension.section() for extension in extensions)

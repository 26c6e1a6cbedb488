"""Checks made when an app is composed: public keys, handlers, routes, error mapping."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Sequence

from dolmen.di import Container, ResolutionError, parameters_of
from dolmen.events import DeliveryContext
from dolmen.modules._module import Module, Subscription
from dolmen.modules.exceptions import CompositionError


def check_public_keys(module: Module) -> None:
    """A module with an ``api`` may export only types declared in it."""
    api = f"{module.package}.api"
    try:
        has_api = importlib.util.find_spec(api) is not None
    except (ImportError, ValueError):
        has_api = False
    if not has_api:
        return
    for provider in module.providers:
        declared_in = getattr(provider.key, "__module__", "")
        if provider.public and not (declared_in == api or declared_in.startswith(f"{api}.")):
            raise CompositionError(
                f"module {module.name!r} exports {provider.key_name} with public=True, but "
                f"that type is declared in {declared_in!r}, outside the module's public "
                f"contract; declare the interface (a Protocol or ABC) in {api!r} and provide "
                "the implementation for it"
            )


def collect_subscriptions(modules: Sequence[Module], container: Container) -> list[Subscription]:
    subscriptions = []
    for module in modules:
        allowed = {module.name, *module.depends_on, *module.listens_to}
        for subscription in module.subscriptions:
            event_type = subscription.event_type
            owner = event_type.owner_module()
            if owner not in allowed:
                raise CompositionError(
                    f"module {module.name!r} handles {event_type.event_name!r}, an event of "
                    f"module {owner!r}, but does not declare it; add {owner!r} to "
                    f"listens_to of module {module.name!r}"
                )
            if not inspect.iscoroutinefunction(subscription.handler):
                raise CompositionError(
                    f"handler {subscription.name} must be an 'async def' function"
                )
            for parameter in parameters_of(subscription.handler)[1:]:
                if parameter.key is not DeliveryContext:
                    container.validate_request(module.name, parameter.key)
            subscriptions.append(subscription)
    return subscriptions


def check_route_injections(modules: Sequence[Module], container: Container) -> None:
    """Every ``Inject(Key)`` in a module's routes must be a service that module may use."""
    from dolmen.http import injected_keys

    for module in modules:
        for router in module.routers:
            for path, key in injected_keys(router):
                try:
                    container.validate_request(module.name, key)
                except ResolutionError as error:
                    raise CompositionError(f"route {module.prefix}{path}: {error}") from error


def collect_errors(modules: Sequence[Module]) -> dict[type[BaseException], int]:
    errors: dict[type[BaseException], int] = {}
    for module in modules:
        for error, status in module.errors.items():
            if errors.get(error, status) != status:
                raise CompositionError(
                    f"{error.__name__} is mapped to HTTP {errors[error]} and, by module "
                    f"{module.name!r}, to {status}; map each exception once"
                )
            errors[error] = status
    return errors

"""Errors raised by the dependency-injection container."""

from __future__ import annotations


class ResolutionError(LookupError):
    """A service could not be provided."""


class MissingProviderError(ResolutionError):
    """No module provides the requested type."""


class NotVisibleError(ResolutionError):
    """A module asked for a service it is not allowed to use.

    Either the service is private to another module, or it is public but the
    asking module does not declare a dependency on the module that provides it.
    """


class ProviderConfigurationError(ValueError):
    """Providers are declared in a way that can never work (found at start-up)."""

"""Typed, module-aware dependency injection.

Services are keyed by type. A module resolves its own services and the public
services of the modules it depends on; cross-module resolutions pass through
the declared interceptors, the seam that placement and tracing hang on.
"""

from dolmen.di._container import Container
from dolmen.di._provider import Lifetime, Parameter, Provider, parameters_of, provide, provide_value
from dolmen.di._scope import ServiceScope
from dolmen.di._seam import (
    CallInterceptor,
    CrossModuleHook,
    CrossModuleResolution,
    Interceptor,
    InterceptorRole,
    ModuleCall,
    ServiceProxy,
)
from dolmen.di.exceptions import (
    MissingProviderError,
    NotVisibleError,
    ProviderConfigurationError,
    ResolutionError,
)

__all__ = [
    "CallInterceptor",
    "Container",
    "CrossModuleHook",
    "CrossModuleResolution",
    "Interceptor",
    "InterceptorRole",
    "Lifetime",
    "MissingProviderError",
    "ModuleCall",
    "NotVisibleError",
    "Parameter",
    "Provider",
    "ProviderConfigurationError",
    "ResolutionError",
    "ServiceProxy",
    "ServiceScope",
    "parameters_of",
    "provide",
    "provide_value",
]

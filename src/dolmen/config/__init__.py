"""Configuration as code: typed settings per module, layered sources, start-up validation."""

from dolmen.config._fields import Secret
from dolmen.config._loader import LoadedConfig, Setting, load_config
from dolmen.config._masking import mask_credentials
from dolmen.config._problems import Problem
from dolmen.config._section import ConfigSection
from dolmen.config._settings import AppSettings
from dolmen.config._sources import Source, SourceKind
from dolmen.config.exceptions import ConfigurationError

__all__ = [
    "AppSettings",
    "ConfigSection",
    "ConfigurationError",
    "LoadedConfig",
    "Problem",
    "Secret",
    "Setting",
    "Source",
    "SourceKind",
    "load_config",
    "mask_credentials",
]

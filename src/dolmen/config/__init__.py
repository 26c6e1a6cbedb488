"""Typed, validated configuration for the application and each module."""

from dolmen.config._settings import AppSettings, env_prefix, load_module_settings

__all__ = ["AppSettings", "env_prefix", "load_module_settings"]

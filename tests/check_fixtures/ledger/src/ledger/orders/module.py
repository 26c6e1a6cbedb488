"""The orders module."""

from dolmen import Module

module = Module("orders")

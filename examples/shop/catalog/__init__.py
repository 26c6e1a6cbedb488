"""Catalog: products, their prices and their stock. Public contract: ``catalog.api``."""

"""The catalog service.

import acme.orders.service  (in a docstring: not an import)
"""
import importlib


class Catalog:
    def plugin(self):
        return importlib.import_module("acme.billing.gateway")

"""The example shop: a small modular monolith built with Dolmen.

Modules: ``catalog`` (products and stock), ``orders`` (placing orders),
``billing`` (charging them) and ``notifications`` (telling customers).
Start with ``app.py``, the composition root.
"""

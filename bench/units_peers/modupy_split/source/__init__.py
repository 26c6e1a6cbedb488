"""The publishing module: it has no listener; bench/units_peers/modupy_units.py publishes."""

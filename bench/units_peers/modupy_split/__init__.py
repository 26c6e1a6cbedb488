"""bench/units.py's modupy application: ``source`` publishes, ``sink`` (its own process) listens."""

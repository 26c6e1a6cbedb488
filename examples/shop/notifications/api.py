"""The notifications module's public contract.

It offers nothing to other modules yet: it only reacts to their events.
"""

__all__: list[str] = []

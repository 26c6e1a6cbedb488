"""The catalog's domain: plain Python, no framework."""

"""The notifications domain: plain Python, no framework."""

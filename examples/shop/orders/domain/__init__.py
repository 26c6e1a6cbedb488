"""The orders domain: plain Python, no framework."""

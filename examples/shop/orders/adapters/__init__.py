"""The orders module's adapters."""

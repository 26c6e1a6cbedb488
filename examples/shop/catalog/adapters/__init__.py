"""The catalog's adapters: how its ports are implemented."""

"""The notifications module's adapters."""

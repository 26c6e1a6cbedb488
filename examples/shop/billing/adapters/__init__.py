"""The billing module's adapters."""

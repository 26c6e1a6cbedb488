"""The billing domain: plain Python, no framework."""

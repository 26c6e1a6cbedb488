"""Orders: placing orders and following their payment. Public contract: ``orders.api``."""

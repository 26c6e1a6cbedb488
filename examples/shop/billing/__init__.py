"""Billing: charging orders through a payment gateway. Public contract: ``billing.api``."""

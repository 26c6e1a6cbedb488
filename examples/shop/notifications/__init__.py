"""Notifications: telling customers what happened. Public contract: ``notifications.api``."""

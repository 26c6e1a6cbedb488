"""How events cross from one unit's outbox to another's: the Transport port and its brokers."""

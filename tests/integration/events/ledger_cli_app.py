"""The ledger app for CLI tests: its database comes from LEDGER_DATABASE_URL."""

from __future__ import annotations

import os

from .ledger_app import Behaviour, make_app

app = make_app(os.environ["LEDGER_DATABASE_URL"], Behaviour())

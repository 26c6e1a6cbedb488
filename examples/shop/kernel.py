"""The shop's shared kernel: the bounds and text rules every module checks the same way.

A value the shop accepts must fit the column that stores it, on SQLite and on PostgreSQL, so
these bounds are checked at the edge (a 422 naming the field) and never discovered by the
database (a 500, or an event handler that fails until its event is dead). Plain Python and
pydantic only: the modules' domains may use it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

# Every amount of money is a Decimal in Python and a NUMERIC(12, 2) column on both databases.
# PostgreSQL keeps it exactly. SQLite has no decimal storage class: it keeps the value as a
# REAL (a double, exact to 15 significant digits) and SQLAlchemy reads it back rounded to the
# 2 places declared, so the 12 digits declared come back exactly as written. Integer cents
# would be exact too, but then the same SQL would read cents on one database and amounts on
# the other (and the columns would no longer say they hold money).
MONEY_DIGITS = 12
"""Every amount of money is stored as ``NUMERIC(12, 2)``: up to 9,999,999,999.99."""

MONEY_PLACES = 2
"""Amounts are kept to the cent."""

MAX_AMOUNT = Decimal("9999999999.99")
"""The largest amount a money column holds; no order may cost more."""

# The patterns spell out the characters they refuse instead of using \s: JSON Schema's \s
# (ECMAScript's, which clients and fuzzers follow) and the one pydantic enforces (Rust's
# regex crate) disagree on some characters, such as U+0085.
PRINTABLE = r"[^\x00-\x1f\x7f-\x9f]"
"""One character that is not a control character (PostgreSQL cannot store NUL in text)."""

_ADDRESS_PART = r"[^@\x00-\x20\x7f-\x9f]+"

Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=320,
        pattern=rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$",
        description="An e-mail address: no spaces or control characters.",
        examples=["ada@example.com"],
    ),
]
"""A customer's e-mail address, as orders store it and notifications look it up."""

"""Database errors that the request's values caused: 409 and 422 problems, never a 500.

They are the safety net behind an app's own validation: two requests racing to insert the
same key (the unique constraint is the judge), or a value the database cannot store (a
number out of the column's range, a text too long, a NUL character on PostgreSQL, an
unpaired surrogate). Apps should still validate at the edge, where they can name the field.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, StatementError

from dolmen.persistence import is_unique_violation, sqlstate

DATA_EXCEPTION_CLASS = "22"
"""PostgreSQL's SQLSTATE class of values that cannot be stored or compared."""

_TEXT_DETAIL = (
    "a text contains a character the database cannot store (a NUL character, "
    "\\u0000, or an unpaired surrogate)"
)
_REASONS = {
    "22001": "a text is longer than the database can store",
    "22003": "a number is out of the range the database can store",
    "22021": _TEXT_DETAIL,
}
_CONFLICT = (
    "The request conflicts with data that already exists: a value that must be unique is "
    "taken. Nothing was changed; use another value, or change the existing resource."
)


@dataclass(frozen=True)
class Refusal:
    """What to answer for a database error the request caused, and what to log."""

    status: int
    detail: str
    cause: str


def refusal_for(error: BaseException) -> Refusal | None:
    """The 409 or 422 for a database error the request's values caused; None for any other."""
    if isinstance(error, DBAPIError):
        return _dbapi_refusal(error)
    if isinstance(error, StatementError) and isinstance(error.orig, OverflowError | UnicodeError):
        return _value_refusal(error.orig)  # a bind parameter could not be converted
    return None


def _dbapi_refusal(error: DBAPIError) -> Refusal | None:
    orig = error.orig
    cause = _first_line(orig)
    code = sqlstate(error)
    if is_unique_violation(error):
        return Refusal(409, _CONFLICT, cause)
    if code is not None and code.startswith(DATA_EXCEPTION_CLASS):
        reason = _REASONS.get(code) or _reason_from_causes(orig)
        return Refusal(422, _not_stored(reason), cause)
    if isinstance(orig, sqlite3.DataError):
        # Dolmen's SQLite driver raises it for an integer past 64 bits or an unpaired
        # surrogate (its cause says which), SQLite for a text or blob past its size limit.
        return Refusal(422, _not_stored(_reason_from_causes(orig)), cause)
    return None


def _value_refusal(error: BaseException) -> Refusal:
    return Refusal(422, _not_stored(_reason_from_causes(error)), _first_line(error))


def _reason_from_causes(error: BaseException | None) -> str | None:
    """The reason for a value the driver could not convert (asyncpg says it in its cause)."""
    while error is not None:
        if isinstance(error, OverflowError):
            return _REASONS["22003"]
        if isinstance(error, UnicodeError):
            return _TEXT_DETAIL
        error = error.__cause__ or error.__context__
    return None


def _not_stored(reason: str | None) -> str:
    what = (
        f"A value in the request could not be stored: {reason}."
        if reason
        else ("A value in the request could not be stored; the database refused it.")
    )
    return f"{what} Nothing was changed; correct the value and send the request again."


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

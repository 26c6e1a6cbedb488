"""What can go wrong with a call to another unit."""

from __future__ import annotations


class RemoteCallError(RuntimeError):
    """A call to a module in another unit failed for a reason other than the module's own.

    The module's declared errors (``UnknownProduct``) are raised as themselves, as in one
    process; this is everything else: the unit could not be reached, refused the call
    (authentication), crashed (its problem's ``detail`` and ``request_id`` are in the
    message), or answered something that does not fit the method's annotations.
    ``status`` is the HTTP status the other unit answered, when it answered.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RemoteCallTimeout(RemoteCallError, TimeoutError):
    """A call to another unit took longer than ``[units] call_timeout_seconds``.

    It may have run there (a timeout does not say): it was retried only if its method is
    marked ``@idempotent``.
    """


class RemoteCallsUnavailable(RemoteCallError):
    """A module's service in another unit was asked for, and this app cannot call it.

    The message says what is missing (the unit's url, the shared secret).
    """

"""What can go wrong with a call to another unit."""

from __future__ import annotations

from typing import ClassVar

from dolmen.http import ProblemError


class RemoteCallError(ProblemError, RuntimeError):
    """A call to a module in another unit failed for a reason other than the module's own.

    The module's declared errors (``UnknownProduct``) are raised as themselves, as in one
    process; this is everything else: the unit could not be reached, refused the call
    (authentication), crashed (its problem's ``detail`` and ``request_id`` are in the
    message), or answered something that does not fit the method's annotations.
    ``status`` is the HTTP status the other unit answered, when it answered.

    Raised through a request of this unit's HTTP API, it is a 502 problem (a 503 when the
    unit could not be reached, a 504 after a timeout), logged as a warning: see
    :class:`~dolmen.http.ProblemError`.
    """

    http_status: ClassVar[int] = 502

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def problem_detail(self) -> str:
        """For the client: another unit failed (its logs and this unit's say why)."""
        return (
            "Another part of the application, which this request calls, failed to answer it "
            "(the error was logged). Retry later, and quote the request_id if it persists."
        )


class RemoteUnitUnreachable(RemoteCallError):
    """The other unit could not be reached (refused, unreachable): the call never left.

    A 503 problem when raised through a request.
    """

    http_status: ClassVar[int] = 503

    def problem_detail(self) -> str:
        """For the client: try again later."""
        return (
            "Another part of the application, which this request needs, is unavailable; "
            "nothing was done. Retry later."
        )


class RemoteCallTimeout(RemoteCallError, TimeoutError):
    """A call to another unit took longer than ``[units] call_timeout_seconds``.

    It may have run there (a timeout does not say): it was retried only if its method is
    marked ``@idempotent``. A 504 problem when raised through a request.
    """

    http_status: ClassVar[int] = 504

    def problem_detail(self) -> str:
        """For the client: it may have taken effect."""
        return (
            "Another part of the application, which this request calls, did not answer in "
            "time; the request may have taken effect. Check before you retry."
        )


class RemoteCallsUnavailable(RemoteCallError):
    """A module's service in another unit was asked for, and this app cannot call it.

    The message says what is missing (the unit's url, the shared secret). A 503 problem
    when raised through a request.
    """

    http_status: ClassVar[int] = 503

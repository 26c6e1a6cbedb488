"""Errors that know how the HTTP entry answers them: a problem of their status, never a 500."""

from __future__ import annotations

import logging
from typing import ClassVar

from starlette.types import Scope

logger = logging.getLogger("dolmen.http")


class ProblemError(Exception):
    """An error raised through a request that has an HTTP answer of its own.

    For failures of something the request depends on, not of the code that served it:
    another deployment unit that failed (502), cannot be reached (503) or did not answer in
    time (504). Raised through a request and not handled, it is answered as a problem+json
    of :attr:`http_status` whose ``detail`` is :meth:`problem_detail` (for the client: it names
    no internal address) with the ``request_id``, and logged once as a warning with its
    message (for the operator), without a traceback. Subclass it (with the built-in
    exception that fits) and set ``http_status``.
    """

    http_status: ClassVar[int] = 502

    def problem_detail(self) -> str:
        """What the client reads; the default says only that a dependency failed."""
        return (
            "A service this request depends on failed; nothing is known of the result. "
            "Retry later, and quote the request_id if it persists."
        )


def log_problem_error(scope: Scope, route: str, request_id: str, error: ProblemError) -> None:
    """The one log record of a :class:`ProblemError` answered with its status."""
    method = scope.get("method", "?")
    logger.warning(
        "%s %s answered %d: %s (request id %s)",
        method,
        route,
        error.http_status,
        error,
        request_id,
        extra={"request_id": request_id, "method": method, "route": route},
    )

"""The callee's side of a call across units: internal endpoints for the local modules' services.

``POST /_units/call/{module}/{Service}/{method}`` checks the signature first (an
unsigned or badly signed call learns nothing, not even whether the service exists), then
runs the method in a unit of work of its own, as the target module: committed when it
returns, rolled back when it raises. It cannot share the caller's transaction, which lives
in another process. A declared error goes back as a problem that names it; anything else
is a crash, logged here once with the request id and answered 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from dolmen.http import problem
from dolmen.units._errors import ERROR_FIELD, DeclaredErrors
from dolmen.units._remote_client import CALL_PATH
from dolmen.units._signing import SignatureRefused, Verifier
from dolmen.units._wire import ContractError, contract_of, service_name

if TYPE_CHECKING:
    from dolmen.units._remote import CallingApp

logger = logging.getLogger("dolmen.units")


class CallServer:
    """Serves the public services of ``services`` ((module, key) pairs) to the other units."""

    def __init__(
        self,
        app: CallingApp,
        services: Iterable[tuple[str, Any]],
        verifier: Verifier | None,
        errors: Callable[[], DeclaredErrors],
    ) -> None:
        self.app = app
        self.services: dict[tuple[str, str], Any] = {}
        for module, key in services:
            self.services[module, service_name(key)] = key
        self.modules = sorted({module for module, _ in self.services})
        self.verifier = verifier
        self.errors = errors

    def router(self) -> APIRouter:
        """The one internal route, kept out of the OpenAPI document."""
        router = APIRouter(include_in_schema=False)
        router.add_api_route(
            CALL_PATH + "/{module}/{service}/{method}",
            self.handle,
            methods=["POST"],
            include_in_schema=False,
        )
        return router

    async def handle(self, request: Request) -> Response:
        """Check the call's signature, then run it in a unit of work of the target module."""
        body = await request.body()
        refused = self._refusal(request.scope["path"], request.headers, body)
        if refused is not None:
            return refused
        params: Mapping[str, str] = request.path_params
        module, name, method_name = params["module"], params["service"], params["method"]
        key = self.services.get((module, name))
        if key is None:
            return problem(
                404,
                f"no public service {name!r} of module {module!r} here: this unit serves "
                f"{', '.join(map(repr, self.modules)) or 'no module'}",
            )
        try:
            method = contract_of(key).methods.get(method_name)
        except ContractError as error:
            return problem(404, str(error))
        if method is None:
            return problem(404, f"{name} of module {module!r} has no method {method_name!r}")
        if not self.app.started:
            return problem(503, "this unit is starting or stopping; call again")
        try:
            arguments = method.decode_arguments(body)
        except ValidationError as error:
            return problem(
                422,
                f"the arguments of {name}.{method_name} are not valid; see 'errors'",
                errors=json.loads(error.json(include_url=False, include_input=False)),
            )
        return await self._run(module, key, method_name, method.encode_result, arguments)

    def _refusal(self, path: str, headers: Mapping[str, str], body: bytes) -> Response | None:
        """The 401 or 403 problem for a call not signed right; None for a signed one."""
        if self.verifier is None:
            return problem(
                403, "this unit takes no calls from other units: its [units] secret is not set"
            )
        try:
            self.verifier.verify("POST", path, headers, body)
        except SignatureRefused as refused:
            logger.warning("refused a call to %s: %s", path, refused)
            return problem(401, str(refused))
        return None

    async def _run(
        self,
        module: str,
        key: Any,
        method: str,
        encode: Callable[[Any], bytes],
        arguments: dict[str, Any],
    ) -> Response:
        try:
            async with self.app.unit_of_work(module) as work:
                service = await work.get(key)
                body = encode(await getattr(service, method)(**arguments))
        except Exception as error:
            errors = self.errors()
            declared = errors.declared(error)
            if declared is None:
                raise  # a crash: the HTTP entry logs it once and answers 500 with its id
            return problem(
                errors.status.get(declared, 400),
                str(error) or None,
                **{ERROR_FIELD: errors.encode(error, declared)},
            )
        return Response(body, media_type="application/json")

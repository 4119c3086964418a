"""Errors as values with codes (docs/api.md), raised once and rendered in one place.

Every error body is {"success": false, "message", "error"} (+ "errors" for validation); never a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.responses import JSONResponse
from insights.store import StoreUnavailable
from schemas.answers import ERROR_CODES
from schemas.events import FieldError

log = logging.getLogger(__name__)

CODES = ERROR_CODES  # status -> code, one place (the OpenAPI document uses it too)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = CODES.get(status, "server_error")
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.retry_after = retry_after


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="insights"'})


def validation_failed(field: str, message: str) -> ApiError:
    return ApiError(422, message, errors=[FieldError(field=field, message=message)])


def unavailable(message: str, retry_after: int = 5) -> ApiError:
    return ApiError(503, message, headers={"Retry-After": str(retry_after)}, retry_after=retry_after)


def error_response(error: ApiError) -> Response:
    body: dict[str, object] = {"success": False, "message": error.message, "error": error.code}
    if error.errors is not None:
        body["errors"] = list(error.errors)
    if error.retry_after is not None:
        body["retry_after"] = error.retry_after
    # An error describes one moment (a limit, an outage): no cache may keep it.
    headers = {"Cache-Control": "no-store"} | error.headers
    return JSONResponse(body, status_code=error.status, headers=headers)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "No such endpoint.", 405: "This method is not allowed here."}
    message = messages.get(exc.status_code, "The request could not be served.")
    return error_response(ApiError(exc.status_code, message, headers=dict(exc.headers or {})))


async def handle_store_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("ClickHouse unavailable on %s: %s", request.url.path, exc.__cause__)
    return error_response(unavailable("The analytics store is unavailable right now; please retry."))


CLIENT_CLOSED_REQUEST = 499  # nginx's status for it: only the logs and metrics ever see it


async def handle_client_gone(request: Request, exc: Exception) -> Response:
    """The connection closed before the body arrived (the client left, or the server cut it at its
    body deadline, insights/http_server.py): nobody is left to answer, and nothing went wrong here."""
    return Response(status_code=CLIENT_CLOSED_REQUEST)


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    StoreUnavailable: handle_store_unavailable,
    ClientDisconnect: handle_client_gone,
}


class ServerErrorMiddleware:
    """Renders any unexpected exception as the 500 of the error contract. It sits inside the request
    id and security headers middleware (Starlette's own handler of last resort sits outside every
    middleware), so a 500 carries them like any other answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:  # part of an answer is out: the server can only cut the connection
                raise
            error = ApiError(500, "Something went wrong on our side; please try again.")
            await error_response(error)(scope, receive, send)

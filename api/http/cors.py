"""Cross-origin access for browsers (INSIGHTS_CORS_ORIGINS): Starlette's CORS middleware, whose refused
preflights answer in the API's own error shape (403 `forbidden`) instead of a plain-text 400.

A preflight needs no token: browsers send none with it. It names no data, and answers only whether the
browser may send the real request, which then needs its token like any other.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from api.http.errors import ApiError, error_response


class CorsMiddleware(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        # Starlette says "Disallowed CORS origin, method": what was refused, in its words.
        refused = bytes(answer.body).decode().removeprefix("Disallowed CORS ")
        message = f"This cross-origin request is refused: {refused} not allowed."
        return error_response(ApiError(403, message))

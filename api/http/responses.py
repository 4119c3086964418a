"""JSON responses encoded with msgspec, and the success envelope."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

_encoder = msgspec.json.Encoder()


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


def success(data: Any, status_code: int = 200, *, max_age: int | None = None) -> JSONResponse:
    """`max_age` lets browsers, and the API's own cache (api/read/response_cache.py), keep the answer that
    long."""
    headers = {"Cache-Control": f"private, max-age={max_age}"} if max_age is not None else None
    return JSONResponse({"success": True, "data": data}, status_code=status_code, headers=headers)

"""Security headers on every response: no sniffing, no framing, no referrer, a strict content policy.

JSON answers may load nothing; HTML pages (the docs, the dashboard) may load their own files only.
A handler that sets one of these headers itself keeps its value.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
    b"cross-origin-resource-policy": b"same-origin",
}
JSON_POLICY = b"default-src 'none'; frame-ancestors 'none'"
PAGE_POLICY = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# Built once: the headers to add to a JSON answer, and to an HTML page.
_ADDED = {
    policy: tuple((COMMON | {b"content-security-policy": policy}).items())
    for policy in (JSON_POLICY, PAGE_POLICY)
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name for name, _ in headers}
                content_type = next((v for k, v in headers if k == b"content-type"), b"")
                policy = PAGE_POLICY if content_type.startswith(b"text/html") else JSON_POLICY
                headers += [(name, value) for name, value in _ADDED[policy] if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

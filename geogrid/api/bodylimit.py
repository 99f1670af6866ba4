"""An ASGI middleware that refuses request bodies above a size limit with 413.

It trusts neither ``Content-Length`` nor its absence: a chunked body is counted as it
streams, and the request is cut off once it passes the limit.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

__all__ = ["BodySizeLimit"]


class BodySizeLimit:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send) -> None:
        body = json.dumps({
            "detail": f"request body larger than {self.max_bytes} bytes; send less at once "
                      "(or raise GEOGRID_API_MAX_BODY_BYTES)",
            "code": "payload_too_large",
            "message": {"key": "request.too_large", "params": {"max_bytes": self.max_bytes}},
        }).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    return await self._reject(send)
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)


class _TooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body parser lets it through."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"request body larger than {max_bytes} bytes; send less at once "
                              "(or raise GEOGRID_API_MAX_BODY_BYTES)")

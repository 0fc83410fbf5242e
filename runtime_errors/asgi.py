"""ASGI guards that act before Django reads a request body."""

import json

from .reports import MAX_BODY_BYTES

# Bodies are measured where services send them, before decompression too.
LIMITED_PREFIXES = ("/api/v1/ingest/",)


class BodySizeLimit:
    """Answer 413 for an ingest body over the limit, from Content-Length or
    while it arrives, so that an oversized body is never buffered whole."""

    def __init__(self, app, *, limit=MAX_BODY_BYTES, prefixes=LIMITED_PREFIXES):
        self.app = app
        self.limit = limit
        self.prefixes = prefixes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self._applies(scope["path"]):
            return await self.app(scope, receive, send)

        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            return await self._refuse(send)

        received = 0
        too_large = False

        async def limited_receive():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    too_large = True
                    raise BodyTooLarge()
            return message

        try:
            return await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            if too_large:
                return await self._refuse(send)
            raise

    def _applies(self, path):
        return any(path.startswith(prefix) for prefix in self.prefixes)

    async def _refuse(self, send):
        body = json.dumps(
            {"detail": f"The body is larger than {self.limit} bytes."}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """Raised inside the app's receive when the body passes the limit."""


def _content_length(scope):
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

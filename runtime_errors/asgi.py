"""ASGI guards that act before Django reads a request body."""

import json
import logging
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from channels.security.websocket import WebsocketDenier
from daphne import http_protocol
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http.request import validate_host

from .reports import MAX_BODY_BYTES

logger = logging.getLogger(__name__)

# Bodies are measured where services send them, before decompression too.
LIMITED_PREFIXES = ("/api/v1/ingest/",)


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain and the view run
    synchronously, in one thread hop a request.

    Every view here is synchronous. The stock handler runs the chain in
    async mode, which adapts each synchronous middleware hook with its own
    hop between the event loop and a thread: about twenty a request, most of
    a small request's time.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


class RawBodyWebRequest(http_protocol.WebRequest):
    """Daphne's request without Twisted's own parsing of form bodies.

    Twisted parses every multipart body before daphne passes it on, and
    answers one it cannot parse with a bare 400 that the application never
    sees; daphne hands the raw body on and never reads the parsed form.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)


def leave_bodies_to_the_application():
    """Make daphne hand every request body to the application unparsed."""
    http_protocol.WebRequest = RawBodyWebRequest


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


class ReceivedContentLength:
    """Give a request sent without Content-Length (a chunked body) the
    length of the body as received.

    The server hands the body over dechunked, but Django and DRF read a
    missing Content-Length as no body at all. Django's handler receives the
    whole body before it builds the request from the scope, so the header
    added once the last part has arrived is the one the request sees.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        headers = scope.get("headers", [])
        if scope["type"] != "http" or any(n == b"content-length" for n, _ in headers):
            return await self.app(scope, receive, send)

        headers = list(headers)
        scope = {**scope, "headers": headers}
        received = 0

        async def measured_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    headers.append((b"content-length", str(received).encode()))
            return message

        return await self.app(scope, measured_receive, send)


class SameOriginWebsocket:
    """Refuse a websocket whose Origin is not the very host and port it
    connects to, and whose host is not allowed, at the handshake.

    Channels' own validator compares host names only, so that a page served
    from another port of the same host could open a staff socket with the
    staff member's cookie.
    """

    def __init__(self, app):
        self.app = app
        self.denier = WebsocketDenier.as_asgi()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not _same_origin(scope):
            logger.warning(
                "Refused a websocket from %s: its Origin is not this host.",
                (scope.get("client") or ("unknown",))[0],
            )
            return await self.denier(scope, receive, send)
        return await self.app(scope, receive, send)


_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _same_origin(scope):
    headers = dict(scope.get("headers", []))
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host", b"").decode("latin-1")
    if not origin or not host:
        return False
    try:
        source = urlsplit(origin)
        target = urlsplit(f"//{host}")
        source_port = source.port or _DEFAULT_PORTS.get(source.scheme)
        # A Host without a port names the default one; behind a proxy that
        # ends TLS that is 443, though the socket itself arrives as plain ws.
        target_port = target.port or source_port
    except ValueError:
        return False
    if source.scheme not in ("http", "https") or not source.hostname:
        return False
    if source_port != _DEFAULT_PORTS[source.scheme] and target.port is None:
        return False
    same = (source.hostname, source_port) == (target.hostname, target_port)
    return same and validate_host(target.hostname, settings.ALLOWED_HOSTS)

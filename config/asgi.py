"""ASGI entry point: HTTP through Django, the staff socket through Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402 - needs Django
from django.conf import settings  # noqa: E402
from servestatic import ServeStaticASGI  # noqa: E402

from runtime_errors.asgi import (  # noqa: E402
    BodySizeLimit,
    OneHopASGIHandler,
    ReceivedContentLength,
    SameOriginWebsocket,
    leave_bodies_to_the_application,
)
from runtime_errors.middleware import staff_socket_auth  # noqa: E402
from runtime_errors.routing import websocket_urlpatterns  # noqa: E402

# Daphne builds its requests after it has imported this module.
leave_bodies_to_the_application()

# Static files are answered before Django, without a thread hop at all.
http_application = ServeStaticASGI(
    OneHopASGIHandler(),
    root=settings.STATIC_ROOT,
    prefix=settings.STATIC_URL,
    autorefresh=settings.DEBUG,
)

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(ReceivedContentLength(http_application)),
        "websocket": SameOriginWebsocket(
            staff_socket_auth(URLRouter(websocket_urlpatterns))
        ),
    }
)

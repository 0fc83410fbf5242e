"""ASGI entry point: HTTP through Django, the staff socket through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402 - needs Django

from runtime_errors.asgi import BodySizeLimit, SameOriginWebsocket  # noqa: E402
from runtime_errors.middleware import staff_socket_auth  # noqa: E402
from runtime_errors.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app),
        "websocket": SameOriginWebsocket(
            staff_socket_auth(URLRouter(websocket_urlpatterns))
        ),
    }
)

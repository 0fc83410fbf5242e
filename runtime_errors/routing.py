from django.urls import path

from .consumers import StaffAlertConsumer

websocket_urlpatterns = [
    path("ws/staff/runtime-errors/", StaffAlertConsumer.as_asgi()),
]

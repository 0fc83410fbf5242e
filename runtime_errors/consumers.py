"""The staff alert socket."""

import asyncio
import contextlib
import logging
import time
from importlib import import_module

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model

from .middleware import (
    DATABASE_UNAVAILABLE,
    DEGRADED_DETAIL,
    RETRY_AFTER_SECONDS,
)
from .push import STAFF_GROUP, stack_message

logger = logging.getLogger(__name__)

REFUSED = 4403
MAX_CLIENT_FRAME = 4096
SESSION_CHECK_SECONDS = 5
DEGRADED = 4503

# Without the database neither the stack nor the count is known: null says
# so, and the client keeps what it shows and says the journal is degraded.
DEGRADED_MESSAGE = {
    "type": "journal.degraded",
    "detail": DEGRADED_DETAIL,
    "retry_after": RETRY_AFTER_SECONDS,
    "active_count": None,
    "stack": None,
}


class StaffAlertConsumer(AsyncJsonWebsocketConsumer):
    """Send staff the alert stack on connect and every change after it."""

    joined = False
    renewal = None
    session_checked_at = 0.0

    async def connect(self):
        """Called on the handshake: refuse anyone who is not staff."""
        if self.scope.get("journal_degraded"):
            # Accepted only to say why it closes: the message holds no data.
            await self.accept()
            await self._close_degraded()
            return

        user = self.scope.get("user")
        if not (user and user.is_active and user.is_staff):
            logger.warning(
                "Refused a staff alert socket from %s: not a staff session.",
                _client_of(self.scope),
            )
            await self.close(code=REFUSED)
            return

        await self.channel_layer.group_add(STAFF_GROUP, self.channel_name)
        self.joined = True
        self.session_checked_at = time.monotonic()
        self.renewal = asyncio.create_task(self._renew_membership())
        await self.accept()
        await self._send_snapshot()

    async def disconnect(self, code):
        """Called when the socket closes, whether or not it was accepted."""
        if self.renewal is not None:
            self.renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.renewal
            self.renewal = None
        if self.joined:
            self.joined = False
            await self.channel_layer.group_discard(STAFF_GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Called on a client frame: anything but a JSON text frame is
        ignored, so that a bad frame cannot close the socket with an error."""
        if text_data is None or len(text_data) > MAX_CLIENT_FRAME:
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        """Called on a client message: only a resync request is understood."""
        if isinstance(content, dict) and content.get("type") == "resync":
            await self._send_snapshot()

    async def _renew_membership(self):
        # Channel layers drop group members after their group expiry, so a
        # socket open longer than that would stop hearing pushes.
        expiry = getattr(self.channel_layer, "group_expiry", 86400)
        while True:
            await asyncio.sleep(max(0.5, expiry / 3))
            try:
                await self.channel_layer.group_add(STAFF_GROUP, self.channel_name)
            except Exception:
                logger.warning("Could not renew a staff socket's group membership.")

    async def runtime_error_created(self, message):
        await self._forward(message)

    async def runtime_error_updated(self, message):
        await self._forward(message)

    async def runtime_error_viewed(self, message):
        await self._forward(message)

    async def runtime_error_deleted(self, message):
        await self._forward(message)

    async def _forward(self, message):
        # A socket outlives its handshake: a staff member who logs out, or
        # loses staff rights, must stop receiving errors on sockets already
        # open. The session is read again at most every SESSION_CHECK_SECONDS.
        now = time.monotonic()
        if now - self.session_checked_at >= SESSION_CHECK_SECONDS:
            self.session_checked_at = now
            if not await _still_staff(self.scope):
                logger.warning(
                    "Closed a staff alert socket from %s: its session ended.",
                    _client_of(self.scope),
                )
                await self.close(code=REFUSED)
                return
        await self.send_json(message)

    async def _send_snapshot(self):
        try:
            snapshot = await _snapshot()
        except DATABASE_UNAVAILABLE as error:
            logger.error(
                "The database is unavailable for a staff socket: %s",
                type(error).__name__,
            )
            await self._close_degraded()
            return
        await self.send_json(snapshot)

    async def _close_degraded(self):
        await self.send_json(DEGRADED_MESSAGE)
        await self.close(code=DEGRADED)


@database_sync_to_async
def _still_staff(scope):
    """Tell whether the socket's session still belongs to an active staff
    user, reading the session store afresh."""
    session = scope.get("session")
    if session is None or not session.session_key:
        return False
    try:
        fresh = import_module(settings.SESSION_ENGINE).SessionStore(session.session_key)
        user_id = fresh.get(SESSION_KEY)
        if user_id is None:
            return False
        user = get_user_model().objects.filter(pk=user_id).first()
    except DATABASE_UNAVAILABLE:
        # An outage is not a logout; the push path reports it elsewhere.
        return True
    return bool(user and user.is_active and user.is_staff)


@database_sync_to_async
def _snapshot():
    return stack_message("snapshot")


def _client_of(scope):
    client = scope.get("client") or ("unknown", 0)
    return client[0]

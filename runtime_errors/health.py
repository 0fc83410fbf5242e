"""Health checks for load balancers: the database and the channel layer."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

logger = logging.getLogger(__name__)

CHECK_SECONDS = 2.0


def check_database():
    """Return None when the database answers a query, else the error's name."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return type(error).__name__
    return None


def check_channel_layer():
    """Return None when a message makes a round trip through the channel
    layer, else the error's name."""
    try:
        async_to_sync(_round_trip)()
    except Exception as error:
        return type(error).__name__
    return None


async def _round_trip():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    async with asyncio.timeout(CHECK_SECONDS):
        await layer.send(channel, {"type": "health.check"})
        await layer.receive(channel)


def health_report():
    """Return (healthy, checks) with "ok" or the failure per dependency."""
    failures = {
        "database": check_database(),
        "channel_layer": check_channel_layer(),
    }
    for name, failure in failures.items():
        if failure:
            logger.warning("Health check: %s failed (%s).", name, failure)
    checks = {name: failure or "ok" for name, failure in failures.items()}
    return all(failure is None for failure in failures.values()), checks

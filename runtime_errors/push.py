"""The push path: tell staff sockets what changed, after the commit.

Every message carries the whole current alert stack and the active count, so
that a client can render from the last message alone. A push that fails (the
channel layer is down) is logged and dropped: the report is stored, and
clients catch up from the feed.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .models import RuntimeError
from .selectors import runtime_error_feed
from .serializers import serialize_errors

logger = logging.getLogger(__name__)

STAFF_GROUP = "staff.runtime_errors"


def stack_message(message_type, **fields):
    """Return a message of this type with the current stack and count."""
    active_count, newest = runtime_error_feed()
    return {
        "type": message_type,
        **fields,
        "active_count": active_count,
        "stack": serialize_errors(newest),
    }


def publish_ingested(*, created_ids, updated_ids):
    """Push one message per kind for what one ingest request changed."""
    if created_ids:
        _publish_errors("runtime_error.created", created_ids)
    if updated_ids:
        _publish_errors("runtime_error.updated", updated_ids)


def publish_viewed(*, ids):
    """Push the ids that one request marked viewed."""
    _send(lambda: stack_message("runtime_error.viewed", ids=list(ids)))


def _publish_errors(message_type, ids):
    def build():
        newest = (
            RuntimeError.objects.select_related("viewed_by")
            .filter(id__in=ids)
            .order_by("-last_seen_at", "-id")
            .first()
        )
        error = serialize_errors([newest])[0] if newest else None
        return stack_message(message_type, error=error, ids=list(ids))

    _send(build)


def _send(build):
    try:
        message = build()
        async_to_sync(get_channel_layer().group_send)(STAFF_GROUP, message)
    except Exception:
        logger.warning(
            "Push to staff sockets failed; clients will catch up from the feed.",
            exc_info=True,
        )

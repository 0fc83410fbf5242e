"""The push path: tell staff sockets what changed, after the commit.

Every message carries the whole current alert stack and the active count, so
that a client can render from the last message alone. A push that fails (the
channel layer or the cache is down) is logged and dropped: the report is
stored, and clients catch up from the feed.

`runtime_error.created` and `runtime_error.viewed` always go out. An error
that repeats many times a second would flood sockets with
`runtime_error.updated`, so each error gets at most one update per interval
(the `RUNTIME_ERRORS_UPDATE_INTERVAL` setting). The slots live in the shared
cache, so the bound holds across all server processes. A repeat that finds
its slot taken leaves a pending mark; whoever holds the mark sends a trailing
update when the next slot opens, built from the database at that moment, so
the final count is always delivered.
"""

import asyncio
import contextvars
import functools
import heapq
import logging
import math
import threading
import time

from asgiref.sync import SyncToAsync, async_to_sync
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connections

from .models import RuntimeError
from .selectors import NEWEST_FIRST, runtime_error_feed
from .serializers import serialize_errors

logger = logging.getLogger(__name__)

STAFF_GROUP = "staff.runtime_errors"
# A pending mark outlives a process that dies holding it only this long.
PENDING_SECONDS = 30


def stack_message(message_type, **fields):
    """Return a message of this type with the current stack and count."""
    active_count, newest = runtime_error_feed()
    return _message(message_type, active_count, serialize_errors(newest), **fields)


def _message(message_type, active_count, stack, **fields):
    # Every message carries the stack and the count, whatever else it holds.
    return {
        "type": message_type,
        **fields,
        "active_count": active_count,
        "stack": stack,
    }


def publish_ingested(*, created_ids, updated_ids):
    """Push one message per kind for what one ingest request changed."""
    if not _on_server_loop(_publish_ingested, created_ids, updated_ids):
        _publish_ingested(created_ids, updated_ids)


def publish_viewed(*, ids):
    """Push the ids that one request marked viewed."""
    _publish_gone("runtime_error.viewed", list(ids))


def publish_deleted(*, ids):
    """Push the ids of active errors that one request deleted."""
    _publish_gone("runtime_error.deleted", list(ids))


def _publish_gone(message_type, ids):
    if not _on_server_loop(_publish_ids, message_type, ids):
        _publish_ids(message_type, ids)


def _publish_ingested(created_ids, updated_ids):
    if created_ids:
        _publish_errors("runtime_error.created", created_ids)
    try:
        due = _updates_due(updated_ids)
    except Exception:
        logger.warning("Could not rate updates; pushing them all.", exc_info=True)
        due = updated_ids
    if due:
        _publish_errors("runtime_error.updated", due)


def _publish_ids(message_type, ids):
    _send(lambda: stack_message(message_type, ids=ids))


def _publish_errors(message_type, ids, *, active_only=False):
    def build():
        active_count, newest = runtime_error_feed()
        stack = serialize_errors(newest)
        error = _newest_of(ids, stack, active_only=active_only)
        if error is None and active_only:
            return None
        return _message(message_type, active_count, stack, error=error, ids=list(ids))

    _send(build)


def _newest_of(ids, stack, *, active_only):
    # The errors a request changed are usually all in the stack, which then
    # already holds the newest of them; otherwise some are older than the
    # stack, or viewed since the commit, and only the database can tell.
    wanted = set(ids)
    in_stack = [record for record in stack if record["id"] in wanted]
    if in_stack and len(in_stack) == len(wanted):
        return in_stack[0]

    errors = RuntimeError.objects.select_related("viewed_by").filter(id__in=ids)
    if active_only:
        errors = errors.filter(viewed_at__isnull=True)
    newest = errors.order_by(*NEWEST_FIRST).first()
    return serialize_errors([newest])[0] if newest else None


def _send(build):
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer) and _server_loop() is None:
        # Outside a server (a command, a script) an in-memory layer has no
        # socket to reach: the server that holds them is another process.
        return
    try:
        message = build()
        if message is not None:
            async_to_sync(layer.group_send)(STAFF_GROUP, message)
    except Exception:
        logger.warning(
            "Push to staff sockets failed; clients will catch up from the feed.",
            exc_info=True,
        )


def _updates_due(ids):
    due = []
    for error_id in ids:
        if _claim_slot(error_id):
            due.append(error_id)
        elif cache.add(_pending_key(error_id), 1, timeout=PENDING_SECONDS):
            _schedule_trailing(error_id, _next_slot_delay())
    return due


def _interval():
    return settings.RUNTIME_ERRORS_UPDATE_INTERVAL


def _claim_slot(error_id):
    # Slots are numbered on the wall clock, which server processes share;
    # the cache's add is atomic, so one process wins each slot.
    slot = math.floor(time.time() / _interval())
    key = f"runtime_errors:push:slot:{error_id}:{slot}"
    return cache.add(key, 1, timeout=max(2, math.ceil(2 * _interval())))


def _next_slot_delay():
    interval = _interval()
    return (math.floor(time.time() / interval) + 1) * interval - time.time()


def _pending_key(error_id):
    return f"runtime_errors:push:pending:{error_id}"


def _send_trailing(error_id):
    if not _claim_slot(error_id):
        _schedule_trailing(error_id, _next_slot_delay())
        return

    # The mark goes before the database is read: a repeat that still saw
    # the mark committed before this read and is counted in what it sends.
    cache.delete(_pending_key(error_id))
    _publish_errors("runtime_error.updated", [error_id], active_only=True)


def _schedule_trailing(error_id, delay):
    if not _on_server_loop(_send_trailing, error_id, delay=delay):
        _trailing.schedule(error_id, delay)


def _on_server_loop(function, *args, delay=0):
    """Run function(*args) after delay on the server's event loop, off the
    request that asked; return False when there is no server loop."""
    # Off the request: a request's answer does not wait for its push. On the
    # loop: the in-memory channel layer's queues belong to it and cannot be
    # fed from another thread's loop. Pushes share one executor thread, so
    # they go out in the order requests committed.
    loop = _server_loop()
    if loop is None:
        return False

    # A fresh context: this thread's would carry asgiref's executor of the
    # request that scheduled it, which is gone by the time the push runs.
    fresh = contextvars.Context()
    start = functools.partial(_start, function, args)
    loop.call_soon_threadsafe(
        functools.partial(loop.call_later, delay, start, context=fresh),
        context=fresh,
    )
    return True


def _server_loop():
    # asgiref records the loop that called sync_to_async in the thread that
    # runs the sync code; ingest's commit hooks run in such a thread.
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or not loop.is_running():
        return None
    return loop


_running = set()


def _start(function, args):
    task = asyncio.ensure_future(_run_logged(function, args))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _run_logged(function, args):
    try:
        await database_sync_to_async(function)(*args)
    except Exception:
        logger.warning(
            "Push to staff sockets failed; clients will catch up from the feed.",
            exc_info=True,
        )


class _TrailingUpdates:
    """A daemon thread that sends trailing updates when their slots open."""

    def __init__(self):
        self._condition = threading.Condition()
        self._due = []
        self._thread = None

    def schedule(self, error_id, delay):
        """Send the error's trailing update after delay seconds."""
        with self._condition:
            heapq.heappush(self._due, (time.monotonic() + delay, error_id))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="runtime-errors-push", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def _run(self):
        while True:
            error_id = self._next()
            try:
                _send_trailing(error_id)
            except Exception:
                logger.warning("A trailing update push failed.", exc_info=True)
            finally:
                connections.close_all()

    def _next(self):
        with self._condition:
            while True:
                wait = self._due[0][0] - time.monotonic() if self._due else None
                if wait is not None and wait <= 0:
                    return heapq.heappop(self._due)[1]
                self._condition.wait(wait)


_trailing = _TrailingUpdates()

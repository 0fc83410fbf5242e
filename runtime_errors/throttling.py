"""Ingest throttling: a budget per ingest key, shared by every process.

Each key gets a fixed window counter in the default cache, raised with one
atomic increment, so that server processes sharing a Redis cache share the
budget too. The rate is the `ingest` entry of DRF's throttle rates. When the
cache itself is unreachable the request is let through: losing reports
would be worse than a moment without a limit.
"""

import logging
import math
import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class IngestKeyRateThrottle(SimpleRateThrottle):
    """Limit requests per ingest key, not per client address."""

    scope = "ingest"
    cache_format = "throttle:ingest:%(key)s:%(window)d"

    def __init__(self):
        # Read on every request rather than at import, so that the rate
        # follows the settings.
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.wait_seconds = None

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None
        return str(request.auth.pk)

    def allow_request(self, request, view):
        """Count this request in its key's window; refuse past the rate."""
        ident = self.get_cache_key(request, view)
        if self.rate is None or ident is None:
            return True

        now = time.time()
        window = int(now // self.duration)
        key = self.cache_format % {"key": ident, "window": window}
        try:
            cache.add(key, 0, timeout=self.duration + 1)
            count = cache.incr(key)
        except Exception as error:
            logger.warning(
                "Ingest throttling is off for now: the cache failed (%s).",
                type(error).__name__,
            )
            return True

        if count <= self.num_requests:
            return True
        self.wait_seconds = (window + 1) * self.duration - now
        return False

    def wait(self):
        """Seconds until the key's window opens again, rounded up."""
        if self.wait_seconds is None:
            return None
        return max(1, math.ceil(self.wait_seconds))

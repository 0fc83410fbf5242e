"""Ingest stands when pushing to staff sockets fails."""

import pytest

from runtime_errors.models import RuntimeError

from .conftest import post_json, report

pytestmark = pytest.mark.django_db(transaction=True)

# Nothing listens on port 1: every push and every rating of updates fails.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_reports_are_stored_and_answered_when_redis_is_down(ingest_client, settings):
    working = post_json(ingest_client, report(message="before the outage"))
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [UNREACHABLE_REDIS]},
        }
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
        }
    }

    first = post_json(ingest_client, report())
    repeat = post_json(ingest_client, report())

    assert working.status_code == 201
    assert first.status_code == 201
    assert repeat.status_code == 201
    assert repeat.json()["occurrences"] == 2
    assert RuntimeError.objects.get(pk=first.json()["id"]).occurrences == 2

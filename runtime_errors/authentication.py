"""Ingest keys: `Authorization: Api-Key <key>` for the ingest API."""

import datetime as dt
import logging

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework_api_key.permissions import KeyParser

from .models import IngestKey

logger = logging.getLogger(__name__)

# Recording every use would add a write to every report; once a minute
# tells an admin whether a key is still in use just as well.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class IngestKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate a service by its ingest key; the key becomes request.auth."""

    keyword = "Api-Key"
    key_parser = KeyParser()

    def authenticate(self, request):
        key = self.key_parser.get(request)
        if not key:
            return None
        try:
            ingest_key = IngestKey.objects.get_from_key(key)
        except IngestKey.DoesNotExist:
            ingest_key = None
        if ingest_key is None or ingest_key.has_expired:
            logger.warning(
                "Refused an ingest request from %s: unknown, revoked or expired key.",
                request.META.get("REMOTE_ADDR", "unknown"),
            )
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired key.")
        record_use(ingest_key)
        return (None, ingest_key)

    def authenticate_header(self, request):
        return self.keyword


def record_use(ingest_key, *, now=None):
    """Note that a key was used, at most once per LAST_USED_RESOLUTION."""
    now = now or timezone.now()
    last = ingest_key.last_used_at
    if last is not None and now - last < LAST_USED_RESOLUTION:
        return
    IngestKey.objects.filter(pk=ingest_key.pk).update(last_used_at=now)
    ingest_key.last_used_at = now


class HasIngestKey(BasePermission):
    """Allow requests that authenticated with a valid ingest key."""

    def has_permission(self, request, view):
        return isinstance(request.auth, IngestKey)

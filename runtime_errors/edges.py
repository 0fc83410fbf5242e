"""Django middleware for the API's edges: paths without a slash, the access log."""

import logging
import re
import time
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpResponseBadRequest, JsonResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils.deprecation import MiddlewareMixin

from .redaction import redact_text
from .text import clean_text

access_logger = logging.getLogger("runtime_errors.access")

API_PREFIX = "/api/"
# A log line stays readable whatever a client puts in its URL.
MAX_LOGGED_TARGET = 500


class ApiTrailingSlashMiddleware:
    """Serve an API path given without its trailing slash as if it had one.

    Services often drop the slash; Django's APPEND_SLASH can only redirect,
    which a POST cannot follow, so the path is completed in place instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(API_PREFIX) and not path.endswith("/"):
            try:
                resolve(path + "/")
            except Resolver404:
                pass
            else:
                request.path_info = path + "/"
                request.path = request.path + "/"
        return self.get_response(request)


class ApiNotFoundMiddleware:
    """Answer every 404 under the API as JSON, as DRF answers its own.

    Django answers a path no route matches with its HTML page, and in debug
    with a page listing every URL pattern; the 404 handler is not consulted
    in debug, so the answer is replaced here instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return JsonResponse({"detail": "Not found."}, status=404)
        return response


class AccessLogMiddleware:
    """Log one line per request, with secrets in the query string redacted.

    It stands in for the server's own access log, which would write query
    strings (and the tokens some clients put there) verbatim.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        elapsed_ms = (time.monotonic() - started) * 1000
        query = request.META.get("QUERY_STRING", "")
        target = request.path[:MAX_LOGGED_TARGET] + (
            "?" + redact_text(unquote_plus(query[:MAX_LOGGED_TARGET])) if query else ""
        )
        access_logger.info(
            "%s %s %s %s %.1fms",
            request.META.get("REMOTE_ADDR", "-"),
            request.method,
            target,
            response.status_code,
            elapsed_ms,
        )
        return response


# A lone surrogate arrives percent-encoded as the three bytes UTF-8 would
# give it (%ED%A0%80); Django decodes those to three U+FFFD, ingest to one.
_ENCODED_SURROGATE = re.compile(r"%ED%[AB][0-9A-F]%[89AB][0-9A-F]", re.IGNORECASE)
_ENCODED_REPLACEMENT = "%EF%BF%BD"


class CleanQueryMiddleware(MiddlewareMixin):
    """Replace NUL and lone surrogates in query parameters with U+FFFD, as
    ingest does in reports, so that a filter finds what was stored and the
    database never sees NUL; refuse a query string with too many parameters
    before anything reads it."""

    def process_request(self, request):
        raw = request.META.get("QUERY_STRING", "")
        if "%" in raw and _ENCODED_SURROGATE.search(raw):
            request.META["QUERY_STRING"] = _ENCODED_SURROGATE.sub(
                _ENCODED_REPLACEMENT, raw
            )
            # The parsed query is cached on first use; it is read afresh.
            request.__dict__.pop("GET", None)

        try:
            query = request.GET
        except TooManyFieldsSent:
            # Django answers this with a 400 only outside debug: its debug
            # page reads the query string again and fails with a 500.
            return _too_many_parameters(request)

        if "%00" not in request.META.get("QUERY_STRING", ""):
            return None
        cleaned = QueryDict(mutable=True)
        for key, values in query.lists():
            cleaned.setlist(clean_text(key), [clean_text(value) for value in values])
        cleaned._mutable = False
        request.GET = cleaned


def _too_many_parameters(request):
    detail = (
        "The request could not be read: too many parameters "
        f"(at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})."
    )
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": detail}, status=400)
    return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")

"""Query parameters held to the same text rule as reports."""

from django.http import QueryDict
from django.utils.deprecation import MiddlewareMixin

from .text import clean_text


class CleanQueryMiddleware(MiddlewareMixin):
    """Replace NUL in query parameters with U+FFFD, as ingest does in reports,
    so that a filter finds what was stored and the database never sees NUL.

    Lone surrogates cannot arrive here: Django decodes a query string with
    replacement already.
    """

    def process_request(self, request):
        if "%00" not in request.META.get("QUERY_STRING", ""):
            return
        cleaned = QueryDict(mutable=True)
        for key, values in request.GET.lists():
            cleaned.setlist(clean_text(key), [clean_text(value) for value in values])
        cleaned._mutable = False
        request.GET = cleaned

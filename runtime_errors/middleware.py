"""What a request meets when the journal's database is away.

Wherever the outage is first noticed (a key lookup, a session, a view), the
answer is a 503 with `Retry-After`: JSON for the API, a plain page for staff
that needs no database to render. A client is never told that a report was
stored when it was not, and the next request tries the database again.
"""

import logging
import sys

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError, connection
from django.http import JsonResponse
from django.template.response import SimpleTemplateResponse
from django.views.defaults import server_error as default_server_error

from .exceptions import RETRY_AFTER_SECONDS

logger = logging.getLogger(__name__)

DEGRADED_DETAIL = "The journal's database is unavailable; retry later."
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def is_database_unavailable(error):
    """Tell whether an exception means the database cannot be reached."""
    return isinstance(error, DATABASE_UNAVAILABLE) and not database_answers()


def database_answers():
    """Tell whether the database answers a trivial query right now.

    OperationalError also covers a bad query on a working database (SQLite
    raises it for an invalid regular expression); that is an ordinary error,
    not an outage to report.
    """
    # No connection means the failed query could not even open one; opening
    # another here would only wait out the pool's timeout a second time.
    return connection.connection is not None and connection.is_usable()


def degraded_response(request):
    """Return the 503 answer for this request, JSON or a page."""
    if request.path.startswith("/api/") or request.path == "/healthz":
        response = JsonResponse(
            {"detail": DEGRADED_DETAIL, "code": "database_unavailable"}, status=503
        )
    else:
        response = SimpleTemplateResponse(
            "runtime_errors/degraded.html",
            {"retry_after": RETRY_AFTER_SECONDS},
            status=503,
        )
        response.render()
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Answer 503 when a view, or the session it reads, finds the database
    unreachable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        logger.error(
            "The database is unavailable for %s: %s",
            request.path,
            type(exception).__name__,
        )
        return degraded_response(request)


def server_error(request):
    """Answer an uncaught error: a 503 when the database is away, else 500.

    An outage noticed inside another middleware (a session saved on the way
    out) never reaches process_exception; it arrives here.
    """
    if is_database_unavailable(sys.exc_info()[1]):
        return degraded_response(request)
    return default_server_error(request)


class DegradedAuthMiddleware(AuthMiddleware):
    """Channels' session authentication that marks the scope degraded,
    instead of failing the handshake, when the database is away."""

    async def resolve_scope(self, scope):
        try:
            await super().resolve_scope(scope)
        except DATABASE_UNAVAILABLE as error:
            logger.error(
                "The database is unavailable for a staff socket: %s",
                type(error).__name__,
            )
            scope["user"]._wrapped = AnonymousUser()
            scope["journal_degraded"] = True


def staff_socket_auth(inner):
    """Wrap the staff socket in cookie, session and degraded-aware auth."""
    return CookieMiddleware(SessionMiddleware(DegradedAuthMiddleware(inner)))

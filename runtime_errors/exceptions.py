"""API errors as JSON that names what is wrong, never a stack trace."""

import logging

from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
_SUSPICIOUS_DETAIL = (
    "The request could not be read: too many parameters, or a malformed body."
)


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The journal's database is unavailable; retry later."
    default_code = "database_unavailable"


def api_exception_handler(exc, context):
    """Answer every API error as JSON; unknown ones without details."""
    if isinstance(exc, Http404):
        # Django's message names the model class; the client needs no more
        # than that nothing is there.
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_messages_of(exc))
    if isinstance(exc, SuspiciousOperation):
        # A client's fault Django refuses to read on (too many fields, a
        # malformed multipart body): a 400, as Django answers outside DRF.
        exc = exceptions.ParseError(_SUSPICIOUS_DETAIL)
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("The database is unavailable: %s", type(exc).__name__)
        response = exception_handler(ServiceUnavailable(), context)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    response = exception_handler(exc, context)
    if response is not None:
        return response

    if isinstance(exc, DatabaseError):
        logger.exception("A database error failed an API request.")
    else:
        logger.exception("An unexpected error failed an API request.")
    return Response(
        {"detail": "Internal error; it has been logged."},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _messages_of(error):
    if hasattr(error, "message_dict"):
        return error.message_dict
    return {"detail": error.messages}

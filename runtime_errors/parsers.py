"""The ingest body parser: strict UTF-8 JSON, bounded in size and nesting."""

import json
import math

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from .reports import MAX_BODY_BYTES


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = f"The body is larger than {MAX_BODY_BYTES} bytes."
    default_code = "body_too_large"


NUMBER_REFUSED = "The body holds a number that is not finite or too long to read."


class _NotFinite(ValueError):
    """A number the databases' JSON cannot hold."""


def _refuse_constant(name):
    # NaN and Infinity are not JSON, though Python reads them.
    raise _NotFinite(f"The body holds {name}, which is not valid JSON.")


def _finite_float(text):
    # 1e999 is valid JSON that Python reads as infinity.
    number = float(text)
    if not math.isfinite(number):
        raise _NotFinite(NUMBER_REFUSED)
    return number


def _refuse_encoded_body(parser_context):
    # Compressed bodies would be read as text and refused as bad UTF-8,
    # which hides what the client should change.
    request = (parser_context or {}).get("request")
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "") if request else ""
    if encoding.strip().lower() not in ("", "identity"):
        shown = encoding.strip()[:50]
        raise exceptions.UnsupportedMediaType(
            shown,
            detail=f'Content-Encoding "{shown}" is not supported; '
            "send the body uncompressed.",
        )


class IngestJSONParser(JSONParser):
    """Parse a JSON body, answering what is wrong with it as a 400 or 413."""

    def parse(self, stream, media_type=None, parser_context=None):
        _refuse_encoded_body(parser_context)
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BODY_BYTES:
            raise BodyTooLarge()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise exceptions.ParseError(
                f"The body is not valid UTF-8 (byte {error.start})."
            ) from None
        try:
            return json.loads(
                text, parse_constant=_refuse_constant, parse_float=_finite_float
            )
        except RecursionError:
            raise exceptions.ParseError("The JSON body is nested too deeply.") from None
        except json.JSONDecodeError as error:
            raise exceptions.ParseError(
                f"The body is not valid JSON: {error}"
            ) from None
        except _NotFinite as error:
            raise exceptions.ParseError(str(error)) from None
        except ValueError:
            # Python's limit on digits in an integer, whose own message names
            # interpreter internals.
            raise exceptions.ParseError(NUMBER_REFUSED) from None

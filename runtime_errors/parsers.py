"""The ingest body parser: strict UTF-8 JSON, bounded in size and nesting."""

import json

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from .reports import MAX_BODY_BYTES


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = f"The body is larger than {MAX_BODY_BYTES} bytes."
    default_code = "body_too_large"


def _refuse_constant(name):
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not valid JSON")


class IngestJSONParser(JSONParser):
    """Parse a JSON body, answering what is wrong with it as a 400 or 413."""

    def parse(self, stream, media_type=None, parser_context=None):
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
            return json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise exceptions.ParseError("The JSON body is nested too deeply.") from None
        except ValueError as error:
            raise exceptions.ParseError(
                f"The body is not valid JSON: {error}"
            ) from None

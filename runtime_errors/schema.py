"""OpenAPI descriptions that drf-spectacular cannot infer on its own."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from .reports import MAX_BATCH


class IngestKeyScheme(OpenApiAuthenticationExtension):
    target_class = "runtime_errors.authentication.IngestKeyAuthentication"
    name = "ingestKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An ingest key, sent as `Authorization: Api-Key <key>`.",
        }


def bound_ingest_batches(result, generator, request, public):
    """Declare that the ingest body is required and how large a batch may
    be, which a list serializer cannot say."""
    body = result.get("components", {}).get("schemas", {}).get("IngestBody", {})
    for choice in body.get("oneOf", []):
        if choice.get("type") == "array":
            choice.update(minItems=1, maxItems=MAX_BATCH)
    for path in result.get("paths", {}).values():
        request_body = path.get("post", {}).get("requestBody", {})
        if "IngestBody" in str(request_body):
            request_body["required"] = True
    return result

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
    """Declare the size limits of a batch, which a list serializer cannot."""
    body = result.get("components", {}).get("schemas", {}).get("IngestBody", {})
    for choice in body.get("oneOf", []):
        if choice.get("type") == "array":
            choice.update(minItems=1, maxItems=MAX_BATCH)
    return result

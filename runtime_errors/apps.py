from django.apps import AppConfig


class RuntimeErrorsConfig(AppConfig):
    name = "runtime_errors"
    verbose_name = "Runtime errors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .capture import install_excepthooks

        install_excepthooks()

        # Registers the settings checks and the OpenAPI description of the
        # ingest key scheme.
        from . import links, redaction, schema  # noqa: F401

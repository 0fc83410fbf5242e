"""Admin for superusers: the journal and the ingest keys."""

from django.contrib import admin, messages
from django.template.defaultfilters import pluralize
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from . import services
from .models import IngestKey, RuntimeError
from .text import visible_controls

# The library's own key model is not used: ingest keys carry a Sentry key
# and their last use, and only they are accepted by the ingest API.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class ViewedFilter(admin.SimpleListFilter):
    title = "viewed"
    parameter_name = "viewed"

    def lookups(self, request, model_admin):
        return [("no", "Active"), ("yes", "Viewed")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(viewed_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(viewed_at__isnull=False)
        return queryset


@admin.register(RuntimeError)
class RuntimeErrorAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "level",
        "shown_source",
        "first_line",
        "occurrences",
        "last_seen_at",
        "run_id",
        "viewed_at",
    ]
    list_filter = ["level", "source", ViewedFilter]
    search_fields = ["message", "source", "run_id", "correlation_id", "fingerprint"]
    ordering = ["-last_seen_at", "-id"]
    date_hierarchy = "last_seen_at"
    actions = ["mark_viewed"]
    list_select_related = ["viewed_by"]
    readonly_fields = [
        field.name for field in RuntimeError._meta.get_fields() if field.concrete
    ]
    # What the list filters and the date hierarchy put in the query string.
    # Any other lookup reaches into the payload's JSON or the database's own
    # functions, which SQLite and PostgreSQL answer differently or not at all.
    allowed_lookups = frozenset(
        {
            "level__exact",
            "level__isnull",
            "source",
            "source__exact",
            "source__isnull",
            ViewedFilter.parameter_name,
            "last_seen_at__year",
            "last_seen_at__month",
            "last_seen_at__day",
        }
    )

    @admin.display(description="source", ordering="source")
    def shown_source(self, error):
        return visible_controls(error.source)

    @admin.display(description="message")
    def first_line(self, error):
        return visible_controls(error.first_line[:120])

    @admin.action(description="Mark selected errors viewed")
    def mark_viewed(self, request, queryset):
        ids = list(queryset.filter(viewed_at__isnull=True).values_list("id", flat=True))
        result = services.mark_viewed(ids=ids, user=request.user)
        count = len(result.viewed)
        self.message_user(
            request,
            f"Marked {count} error{pluralize(count)} viewed.",
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        services.delete_errors(ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        services.delete_errors(ids=list(queryset.values_list("id", flat=True)))

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.allowed_lookups and super().lookup_allowed(
            lookup, value, request
        )


@admin.register(IngestKey)
class IngestKeyAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "last_used_at", "sentry_public_key"]
    readonly_fields = [
        *APIKeyModelAdmin.readonly_fields,
        "last_used_at",
        "sentry_public_key",
    ]

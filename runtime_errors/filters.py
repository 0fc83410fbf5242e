"""The history's filters, shared by the staff API and the dashboard."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from .models import Level, RuntimeError
from .reports import iso_moment, parse_level

STATUS_CHOICES = [("active", "Active"), ("viewed", "Viewed"), ("all", "All")]


class UTCDateTimeField(forms.CharField):
    """An ISO 8601 date-time; without an offset it is read as UTC."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return iso_moment(value)
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None


class UTCDateTimeFilter(django_filters.Filter):
    field_class = UTCDateTimeField


class LevelsField(forms.MultipleChoiceField):
    """Levels read as ingest reads them: any case, aliases, logging numbers."""

    def to_python(self, value):
        levels = []
        # An empty `level=` is no filter, as for every other parameter.
        for level in filter(None, super().to_python(value)):
            try:
                levels.append(parse_level(level)[0])
            except ValueError:
                levels.append(level)
        return levels


class LevelFilter(django_filters.MultipleChoiceFilter):
    field_class = LevelsField


class RuntimeErrorFilter(django_filters.FilterSet):
    # No empty choice: it would be a second "Active", as status defaults to
    # active.
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES,
        method="filter_status",
        empty_label=None,
        label="Status",
    )
    level = LevelFilter(choices=Level.choices, widget=forms.CheckboxSelectMultiple)
    source = django_filters.CharFilter()
    stage = django_filters.CharFilter()
    run_id = django_filters.CharFilter()
    task_id = django_filters.CharFilter()
    correlation_id = django_filters.CharFilter()
    project = django_filters.CharFilter()
    namespace = django_filters.CharFilter()
    job = django_filters.CharFilter()
    fingerprint = django_filters.CharFilter()
    since = UTCDateTimeFilter(
        field_name="last_seen_at", lookup_expr="gte", label="Since (UTC)"
    )
    until = UTCDateTimeFilter(
        field_name="last_seen_at", lookup_expr="lt", label="Until (UTC)"
    )
    q = django_filters.CharFilter(
        field_name="message", lookup_expr="icontains", label="Message contains"
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("last_seen_at", "last_seen_at"),
            ("first_seen_at", "first_seen_at"),
            ("occurrences", "occurrences"),
            ("severity", "level"),
        ),
    )

    class Meta:
        model = RuntimeError
        fields = []

    def filter_queryset(self, queryset):
        # Status defaults to active, which a filter method alone cannot do:
        # django-filter skips methods for empty values.
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.filter(viewed_at__isnull=True)
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by(*queryset.query.order_by, "-id")
        return queryset

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(viewed_at__isnull=True)
        if value == "viewed":
            return queryset.filter(viewed_at__isnull=False)
        return queryset

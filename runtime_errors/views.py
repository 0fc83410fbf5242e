"""HTTP entry points: the ingest API, the staff API and the staff pages."""

import json
import logging
from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import charts, health, selectors, services
from .authentication import HasIngestKey, IngestKeyAuthentication
from .exceptions import RETRY_AFTER_SECONDS
from .filters import RuntimeErrorFilter
from .links import context_links
from .models import SEVERITY, Level
from .pagination import StrictPageNumberPagination
from .parsers import IngestJSONParser
from .reports import ReportsInvalid, parse_reports
from .serializers import (
    BulkViewedRequestSerializer,
    BulkViewedResultSerializer,
    FeedSerializer,
    IngestBatchResultSerializer,
    IngestReportSerializer,
    IngestResultSerializer,
    RuntimeErrorSerializer,
)
from .throttling import IngestKeyRateThrottle

logger = logging.getLogger(__name__)

_ERROR = OpenApiResponse(
    response=OpenApiTypes.OBJECT, description="A JSON object naming what is wrong."
)
DASHBOARD_PAGE_SIZE = 50


@extend_schema_view(
    post=extend_schema(
        request=PolymorphicProxySerializer(
            component_name="IngestBody",
            serializers=[
                IngestReportSerializer,
                IngestReportSerializer(many=True),
            ],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: PolymorphicProxySerializer(
                component_name="IngestAnswer",
                serializers=[IngestResultSerializer, IngestBatchResultSerializer],
                resource_type_field_name=None,
            ),
            400: _ERROR,
            401: _ERROR,
            403: _ERROR,
            413: _ERROR,
            415: _ERROR,
            429: _ERROR,
            503: _ERROR,
        },
    )
)
class IngestView(APIView):
    """Take one report or a batch of them from a service."""

    authentication_classes = [IngestKeyAuthentication]
    permission_classes = [HasIngestKey]
    throttle_classes = [IngestKeyRateThrottle]
    parser_classes = [IngestJSONParser]

    def post(self, request):
        data = request.data
        try:
            reports = parse_reports(data)
        except ReportsInvalid as invalid:
            logger.warning(
                "Rejected an ingest request from key %s: %s.",
                request.auth.prefix,
                ", ".join(sorted(invalid.errors)),
            )
            return Response(invalid.errors, status=status.HTTP_400_BAD_REQUEST)

        results = services.ingest_reports(reports=reports)

        answers = IngestResultSerializer(results, many=True).data
        if isinstance(data, list):
            return Response({"results": answers}, status=status.HTTP_201_CREATED)
        return Response(answers[0], status=status.HTTP_201_CREATED)


_STAFF_ERRORS = {400: _ERROR, 403: _ERROR, 503: _ERROR}
_ONE_ERROR = {200: RuntimeErrorSerializer, 403: _ERROR, 404: _ERROR, 503: _ERROR}
# An unsafe method's body is read, even where the action needs none of it.
_UNREADABLE_BODY = {400: _ERROR, 415: _ERROR}


@extend_schema_view(
    list=extend_schema(
        responses={200: RuntimeErrorSerializer(many=True), **_STAFF_ERRORS}
    ),
    retrieve=extend_schema(responses=_ONE_ERROR),
)
class RuntimeErrorViewSet(viewsets.ReadOnlyModelViewSet):
    """The journal as staff read it, and the viewed actions."""

    serializer_class = RuntimeErrorSerializer
    permission_classes = [IsAdminUser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = RuntimeErrorFilter
    pagination_class = StrictPageNumberPagination
    lookup_value_regex = r"\d{1,19}"

    def get_queryset(self):
        return selectors.runtime_error_list(status="all")

    def filter_queryset(self, queryset):
        # The history's filters (and its default of active errors) are for
        # the list; a record is found by id whatever its status.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(request=None, responses={**_ONE_ERROR, **_UNREADABLE_BODY})
    @action(detail=True, methods=["post"])
    def viewed(self, request, pk=None):
        """Mark one error viewed; the first viewer and time stay."""
        error = self.get_object()
        services.mark_viewed(ids=[error.pk], user=request.user)
        error.refresh_from_db()
        return Response(self.get_serializer(error).data)

    @extend_schema(
        operation_id="v1_staff_runtime_errors_bulk_viewed",
        request=BulkViewedRequestSerializer,
        responses={
            200: BulkViewedResultSerializer,
            **_STAFF_ERRORS,
            **_UNREADABLE_BODY,
        },
    )
    @action(detail=False, methods=["post"], url_path="viewed", url_name="bulk-viewed")
    def bulk_viewed(self, request):
        """Mark many errors viewed at once."""
        serializer = BulkViewedRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.mark_viewed(
            ids=serializer.validated_data["ids"], user=request.user
        )
        return Response(BulkViewedResultSerializer(result).data)

    @extend_schema(
        responses={200: FeedSerializer, 403: _ERROR, 503: _ERROR}, filters=False
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def feed(self, request):
        """The 5 newest active errors and how many are active."""
        active_count, newest = selectors.runtime_error_feed()
        return Response(
            {
                "active_count": active_count,
                "results": self.get_serializer(newest, many=True).data,
            }
        )


@staff_member_required
def dashboard(request):
    """The history with filters, counts by level, charts and a page of errors."""
    filterset = RuntimeErrorFilter(
        request.GET, queryset=selectors.runtime_error_list(status="all")
    )
    errors = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(errors, DASHBOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "runtime_errors/dashboard.html",
        {
            "filterset": filterset,
            "page": page,
            "counts": _counts_by_level(errors, request),
            "order_description": _order_description(filterset),
            "charts": charts.occurrence_charts(now=timezone.now()),
            "query_without_page": _query_without_page(request),
        },
    )


ORDER_DESCRIPTIONS = {
    "-last_seen_at": "newest first",
    "last_seen_at": "oldest first",
    "-first_seen_at": "first seen most recently first",
    "first_seen_at": "first seen longest ago first",
    "-occurrences": "most occurrences first",
    "occurrences": "fewest occurrences first",
    "-level": "most severe first",
    "level": "least severe first",
}


def _order_description(filterset):
    ordering = filterset.is_valid() and filterset.form.cleaned_data.get("ordering")
    first = ordering[0] if ordering else "-last_seen_at"
    return ORDER_DESCRIPTIONS.get(first, "in the chosen order")


def _query_without_page(request):
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _query_for_level(request, level):
    query = request.GET.copy()
    query.pop("page", None)
    query.setlist("level", [level])
    return query.urlencode()


def _counts_by_level(queryset, request):
    rows = (
        queryset.order_by()
        .values("level")
        .annotate(errors=Count("id"), occurrences=Sum("occurrences"))
    )
    by_level = {row["level"]: row for row in rows}
    return [
        {
            "level": level,
            "errors": by_level.get(level, {}).get("errors", 0),
            "occurrences": by_level.get(level, {}).get("occurrences") or 0,
            "query": _query_for_level(request, level),
        }
        for level in sorted(Level.values, key=lambda name: -SEVERITY[Level(name)])
    ]


@staff_member_required
def detail(request, pk):
    """One error with everything known about it."""
    error = get_object_or_404(selectors.runtime_error_list(status="all"), pk=pk)
    links = [
        (field, getattr(error, field), url)
        for field, url in context_links(error).items()
    ]
    payload_json = json.dumps(error.payload, indent=2, ensure_ascii=False)
    return render(
        request,
        "runtime_errors/detail.html",
        {
            "error": error,
            "links": links,
            "payload_json": payload_json,
            "same_source": _dashboard_query(source=error.source),
            "same_fingerprint": _dashboard_query(
                fingerprint=error.fingerprint, status="all"
            ),
        },
    )


def _dashboard_query(**filters):
    return f"{reverse('runtime_errors:dashboard')}?{urlencode(filters)}"


@csrf_exempt
@require_safe
def healthz(request):
    """Answer 200 when the database and the channel layer work, else 503."""
    healthy, checks = health.health_report()
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from runtime_errors.urls import api_urlpatterns
from runtime_errors.views import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="runtime_errors:dashboard")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/", include("runtime_errors.urls")),
    path("api/v1/", include((api_urlpatterns, "api"))),
    path("api/schema/", SpectacularJSONAPIView.as_view(), name="schema"),
    path(
        "api/schema/docs/",
        # The split view serves its start-up script as a file, so that the
        # page runs under the Content Security Policy without inline script.
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="api/docs.html"
        ),
        name="schema-docs",
    ),
]

handler500 = "runtime_errors.middleware.server_error"

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views

app_name = "runtime_errors"

router = SimpleRouter()
router.register("runtime-errors", views.RuntimeErrorViewSet, basename="runtime-error")

api_urlpatterns = [
    path("ingest/runtime-errors/", views.IngestView.as_view(), name="ingest"),
    path("staff/", include(router.urls)),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("runtime-errors/<int:pk>/", views.detail, name="detail"),
]

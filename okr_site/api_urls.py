"""The REST API under /api/v1/, its OpenAPI schema and its interactive docs."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from alignment import api as alignment_api
from checkins import api as checkins_api
from goals import api as goals_api

router = DefaultRouter()
for app_api in (alignment_api, goals_api, checkins_api):
    app_api.register(router)

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, and our template its styles:
    # nothing inline for the Content-Security-Policy to refuse.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
]

"""The site's URLs plus the request-overhead floor: a view that touches no database.
Used by the benchmark only (``override_settings(ROOT_URLCONF=...)``)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from okr_site.urls import urlpatterns as site_urlpatterns

NULL_PATH = "/bench/null/"


def null_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("{}", content_type="application/json")


urlpatterns = [path(NULL_PATH.strip("/") + "/", null_view), *site_urlpatterns]

"""The site's URLs plus two request-overhead floors: a view that touches no database,
and an API view that only authenticates (an API token: one query) and answers an empty
page, which every API list costs before reading any row. Used by the benchmark only
(``override_settings(ROOT_URLCONF=...)``)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from okr_site.urls import urlpatterns as site_urlpatterns

NULL_PATH = "/bench/null/"
API_NULL_PATH = "/bench/api-null/"


def null_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("{}", content_type="application/json")


class EmptyPage(APIView):
    """The API's settings (authentication, permission, throttling, rendering), no rows."""

    def get(self, request: Request) -> Response:
        return Response({"next": None, "previous": None, "results": []})


urlpatterns = [
    path(NULL_PATH.strip("/") + "/", null_view),
    path(API_NULL_PATH.strip("/") + "/", EmptyPage.as_view()),
    *site_urlpatterns,
]

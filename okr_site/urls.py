from django.contrib import admin
from django.urls import include, path

from okr_site import sso
from okr_site.health import healthz
from okr_site.portability.views import organisation_export

handler404 = "okr_site.api.not_found"

admin.site.site_header = "Waymark administration"
admin.site.site_title = "Waymark admin"
admin.site.index_title = "Organisation, goals and check-ins"

urlpatterns = [
    path("login/", sso.SignInView.as_view(), name="login"),
    path("logout/", sso.SignOutView.as_view(), name="logout"),
    # Single sign-on (OpenID Connect): 404 while it is not configured.
    path("oidc/authenticate/", sso.start, name="oidc_authentication_init"),
    path("oidc/callback/", sso.callback, name="oidc_authentication_callback"),
    path("admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
    path("export/organisation.json", organisation_export, name="organisation-export"),
    path("api/", include("okr_site.api_urls")),
    path("", include("goals.urls")),
    path("", include("alignment.urls")),
    path("", include("checkins.urls")),
]

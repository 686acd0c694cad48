"""Signing in: the password form and, when configured, single sign-on through OpenID
Connect (mozilla-django-oidc).

The library runs the authorization-code flow: the state, nonce and PKCE verifier it keeps
in the session are checked on the way back, and the ID token's signature is checked
against the provider's published keys. This module adds what the library leaves to its
users: where the provider's endpoints come from (settings, else the issuer's discovery
document), the ID token's audience and issuer, and who a verified identity signs in as:
the one active person with that verified e-mail address, never a deactivated one, and a
new person only when ``OIDC_CREATE_USERS`` is on. Why a sign-in was refused is shown on
the sign-in page.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

logger = logging.getLogger(__name__)

# Why the last single sign-on was refused, kept in the session for the sign-in page.
REFUSAL_SESSION_KEY = "sso_refusal"
DISCOVERY_CACHE_SECONDS = 60 * 60
# What a provider may answer with that means "this sign-in cannot go on": unreachable,
# an error status, a token that fails a check, a malformed document.
PROVIDER_FAILURES = (
    requests.RequestException,
    jwt.PyJWTError,
    SuspiciousOperation,
    KeyError,
    ValueError,
)


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read or does not fit the issuer."""


@dataclass(frozen=True)
class Provider:
    issuer: str  # empty when only explicit endpoints are configured: no issuer check
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str


def provider() -> Provider:
    """The provider's endpoints: those set in settings, the others from the issuer's
    discovery document, which is read once an hour (through the cache)."""
    explicit = {
        "authorization_endpoint": settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
        "token_endpoint": settings.OIDC_OP_TOKEN_ENDPOINT,
        "userinfo_endpoint": settings.OIDC_OP_USER_ENDPOINT,
        "jwks_uri": settings.OIDC_OP_JWKS_ENDPOINT,
    }
    if all(explicit.values()):
        return Provider(issuer=settings.OIDC_OP_ISSUER, **explicit)
    discovered = _discover(settings.OIDC_OP_ISSUER)
    return Provider(**{**discovered, **{name: url for name, url in explicit.items() if url}})


def _discover(issuer: str) -> dict[str, str]:
    key = "oidc-discovery:" + hashlib.sha256(issuer.encode()).hexdigest()
    found = cache.get(key)
    if found is not None:
        return found
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
        found = {name: document[name] for name in Provider.__dataclass_fields__}
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise ProviderUnavailable(f"{url}: {exc!r}") from exc
    # A trailing slash is the usual slip in configuration; any other difference means
    # the document speaks for another issuer.
    if str(found["issuer"]).rstrip("/") != issuer.rstrip("/"):
        raise ProviderUnavailable(f"{url} names the issuer {found['issuer']!r}")
    cache.set(key, found, DISCOVERY_CACHE_SECONDS)
    return found


def _refusal_page(request: HttpRequest, message: str) -> HttpResponse:
    request.session[REFUSAL_SESSION_KEY] = message
    return redirect("login")


def _generic_failure() -> str:
    return f"Signing in with {settings.OIDC_PROVIDER_NAME} did not work. Please try again."


def refused_after_provider_sign_in(request: HttpRequest, credentials: dict | None) -> bool:
    """django-axes' AXES_WHITELIST_CALLABLE. A person whom the provider signed in but
    Waymark refused (no account, deactivated, e-mail not verified) guessed nothing, so
    the refusal is not counted: colleagues behind one office address would otherwise
    lock each other out of single sign-on. A failed code exchange or a token failing a
    check is counted against the address like a wrong password."""
    return getattr(request, "sso_refusal", None) is not None


class OIDCBackend(OIDCAuthenticationBackend):
    """Signs in the person a verified OpenID Connect identity belongs to."""

    def __init__(self) -> None:
        # The library reads the endpoints here. Django also loads this backend on every
        # request of a person who signed in through it (get_user), so they are read only
        # when a callback is handled (authenticate).
        self.UserModel = get_user_model()

    def authenticate(self, request: HttpRequest | None, **kwargs: Any):
        # Only the callback view passes a nonce; a password sign-in reaches this
        # backend too and is not its business.
        if request is None or not kwargs.get("nonce") or not settings.OIDC_ENABLED:
            return None
        try:
            self.provider = provider()
            self.OIDC_OP_TOKEN_ENDPOINT = self.provider.token_endpoint
            self.OIDC_OP_USER_ENDPOINT = self.provider.userinfo_endpoint
            self.OIDC_OP_JWKS_ENDPOINT = self.provider.jwks_uri
            self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
            self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
            self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
            self.OIDC_RP_IDP_SIGN_KEY = None
            return super().authenticate(request, **kwargs)
        except (ProviderUnavailable, *PROVIDER_FAILURES) as exc:
            logger.warning("Single sign-on failed: %r", exc)
            # Django reports it as a failed sign-in, which django-axes counts.
            raise PermissionDenied from exc

    def get_user(self, user_id):
        # The library's get_user skips the is_active check: a deactivated person's
        # sessions must end at once, whichever way they signed in.
        return ModelBackend.get_user(self, user_id)

    def verify_token(self, token: str, **kwargs: Any) -> dict:
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token; a signed userinfo answer comes without one
            self._check_id_token(payload)
        return payload

    def _check_id_token(self, payload: dict) -> None:
        """What the library leaves out (OpenID Connect Core 3.1.3.7): the token is for
        this client and from this issuer, and says when it expires (the signature check
        has refused it if that time has passed)."""
        client_id = self.OIDC_RP_CLIENT_ID
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if client_id not in audiences or payload.get("azp", client_id) != client_id:
            raise SuspiciousOperation(f"The ID token is for {audience!r}, not this client.")
        if self.provider.issuer and payload.get("iss") != self.provider.issuer:
            raise SuspiciousOperation(f"The ID token comes from {payload.get('iss')!r}.")
        if "exp" not in payload:
            raise SuspiciousOperation("The ID token has no expiry.")

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict):
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about someone else.")
        name = settings.OIDC_PROVIDER_NAME
        email = str(claims.get("email") or "").strip()
        if not email:
            return self._refuse(
                f"{name} did not share your e-mail address with Waymark, so Waymark cannot "
                "tell who you are. Ask an administrator."
            )
        if not _email_verified(claims):
            return self._refuse(
                f"Your e-mail address {email} is not verified at {name}. Verify it there, "
                "then sign in again."
            )
        people = list(self.UserModel.objects.filter(email__iexact=email))
        active = [person for person in people if person.is_active]
        if len(active) == 1:
            return active[0]
        if active:
            return self._refuse(
                f"Several Waymark accounts use {email}. Ask an administrator to keep one."
            )
        if people:
            return self._refuse(
                f"The Waymark account of {email} is deactivated. Ask an administrator."
            )
        if not settings.OIDC_CREATE_USERS:
            return self._refuse(
                f"No Waymark account uses {email}. Ask an administrator to add you."
            )
        return self.create_user(claims)

    def create_user(self, claims: dict):
        """A new person with no usable password: they sign in through the provider."""
        email = str(claims["email"]).strip()
        person = self.UserModel(
            username=_free_username(self.UserModel, claims),
            email=email,
            first_name=str(claims.get("given_name") or "")[:150],
            last_name=str(claims.get("family_name") or "")[:150],
        )
        person.set_unusable_password()
        try:
            person.full_clean()
            with transaction.atomic():
                person.save()
        except (ValidationError, IntegrityError) as exc:
            # Another first sign-in of the same person (two tabs, a double click) may
            # have made the account since the look-up: theirs is the account then.
            made = list(self.UserModel.objects.filter(email__iexact=email, is_active=True))
            if len(made) == 1:
                return made[0]
            logger.warning("Single sign-on could not create %s: %s", email, exc)
            return self._refuse(
                f"A Waymark account could not be made from what "
                f"{settings.OIDC_PROVIDER_NAME} sent. Ask an administrator to add you."
            )
        logger.info("Single sign-on created the account %s for %s.", person.username, email)
        return person

    def _refuse(self, message: str) -> None:
        logger.info("Single sign-on refused: %s", message)
        self.request.sso_refusal = message
        return None


def _email_verified(claims: dict) -> bool:
    verified = claims.get("email_verified")
    # Some providers send the claim as a string.
    if verified is True or str(verified).lower() == "true":
        return True
    return verified is None and not settings.OIDC_REQUIRE_EMAIL_VERIFIED


def _free_username(model, claims: dict) -> str:
    """The provider's preferred username, else the e-mail address, reduced to what a
    username may hold, with ``-2``, ``-3``… when someone else has it already."""
    base = ""
    for claim in ("preferred_username", "email"):
        base = re.sub(r"[^\w.@+-]", "", str(claims.get(claim) or ""))[:140]
        if base:
            break
    username, number = base, 1
    while model.objects.filter(username__iexact=username).exists():
        number += 1
        username = f"{base}-{number}"
    return username


class SuperuserPasswordBackend(ModelBackend):
    """Password sign-in under ``OIDC_ONLY``: superusers only, so that the organisation
    can still get in when its provider is down or misconfigured."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and user.is_superuser


def _only_when_enabled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """While single sign-on is off, its pages do not exist."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


class StartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider, with a fresh state, nonce and PKCE challenge
    kept in the session. A link (GET): Chromium applies a form's ``form-action``
    policy to the redirect that follows a POST, which would refuse the provider."""

    def __init__(self, **kwargs: Any) -> None:
        # The library reads the endpoint here; it may need discovery, done in get().
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider().authorization_endpoint
        except ProviderUnavailable as exc:
            logger.warning("Single sign-on cannot start: %s", exc)
            return _refusal_page(
                request,
                f"{settings.OIDC_PROVIDER_NAME} cannot be reached just now. "
                "Please try again in a minute.",
            )
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: signs the person in (a new session),
    or back to the sign-in page saying why not."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.GET.get("error") and request.GET.get("state") not in request.session.get(
            "oidc_states", {}
        ):
            # Not the answer to a sign-in this browser started: the library would sign
            # the person out, so a forged link could.
            return self.login_failure()
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            # A state this browser never started, or already used: an old tab, a replay
            # or a forged link.
            logger.warning("Single sign-on callback refused: %s", exc)
            return self.login_failure()

    def login_failure(self) -> HttpResponse:
        message = getattr(self.request, "sso_refusal", None) or _generic_failure()
        return _refusal_page(self.request, message)


start = _only_when_enabled(StartView.as_view())
callback = _only_when_enabled(CallbackView.as_view())


class SignInView(auth_views.LoginView):
    """The sign-in page: the provider's button above the password form, or the button
    alone under ``OIDC_ONLY`` (the password form stays one link away for superusers)."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        enabled = settings.OIDC_ENABLED
        context["sso"] = {
            "enabled": enabled,
            "provider_name": settings.OIDC_PROVIDER_NAME,
            "only": enabled and settings.OIDC_ONLY,
            "refusal": self.request.session.pop(REFUSAL_SESSION_KEY, None) if enabled else None,
        }
        context["password_form_shown"] = (
            not context["sso"]["only"]
            or self.request.method == "POST"
            or self.request.GET.get("with") == "password"
        )
        return context


class SignOutView(auth_views.LogoutView):
    """Signing out ends the session and asks the browser to forget what this site left
    in it: its cache and its storage (the pages htmx would keep for the back button are
    not kept at all: ``historyCacheSize`` 0 in ``base.html``)."""

    def post(self, request, *args: Any, **kwargs: Any):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response

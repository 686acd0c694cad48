"""A ceiling on failed password sign-ins from one address, whatever the usernames.

django-axes locks a username at an address after a few failures, which an attacker
cannot turn against the person (the lock is theirs only at that address). That leaves
one address free to try a common password against every username (credential
stuffing): past ``SIGN_IN_FAILURES_PER_ADDRESS`` failures within the lock-out window,
every password sign-in from that address is refused before any password is checked.
The ceiling is high enough that an office behind one address does not reach it by
mistyping."""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied


def failures_key(address: str) -> str:
    """The cache key counting ``address``'s failed sign-ins."""
    return f"signin-failures:{address}"


def _key(request) -> str:
    return failures_key(get_client_ip_address(request))


def _failures(request) -> int:
    return cache.get(_key(request)) or 0


class AddressCeilingBackend:
    """First of the authentication backends: refuses, and so ends, a password sign-in
    from an address over the ceiling (Django then reports it as a failed sign-in). It
    signs nobody in, so it has no ``get_user``: a session never names it as the backend
    that holds its person."""

    def authenticate(self, request, username=None, password=None, **credentials):
        ceiling = settings.WAYMARK["SIGN_IN_FAILURES_PER_ADDRESS"]
        if password is not None and request is not None and _failures(request) >= ceiling:
            raise PermissionDenied
        return None


def count_failure(sender, credentials, request=None, **kwargs) -> None:
    """``user_login_failed``: one more failure for the address, counted for the window
    django-axes locks a username for."""
    if request is None:
        return
    key = _key(request)
    cache.add(key, 0, timeout=settings.AXES_COOLOFF_TIME.total_seconds())
    try:
        cache.incr(key)
    except ValueError:  # expired between the two calls: a new window starts
        cache.add(key, 1, timeout=settings.AXES_COOLOFF_TIME.total_seconds())

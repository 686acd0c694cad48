"""Signed links in nudges: check in without a password, or change one's reminders.

A link carries who it is for and what it allows, signed with the secret key; changing
any character breaks the signature, and it expires. It grants nothing else: every other
page still needs a login.

The token travels after the ``#`` of the link, which browsers never send to a server:
it stays out of access logs and Referer headers. The page's script posts it once, and
the visitor's session holds it from then on (``checkins.views.links``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

CHECKIN_SALT = "waymark.checkin-link"
PREFERENCES_SALT = "waymark.preferences-link"


class LinkInvalid(Exception):
    """The link was altered, made up, or has expired."""


@dataclass(frozen=True)
class CheckInGrant:
    user_id: int
    period: str
    key_result_ids: tuple[int, ...]


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def checkin_token(*, user_id: int, period: str, key_result_ids: list[int]) -> str:
    payload = {"u": user_id, "p": period, "k": sorted(key_result_ids)}
    return signing.dumps(payload, salt=CHECKIN_SALT, compress=True)


def checkin_url(*, user_id: int, period: str, key_result_ids: list[int]) -> str:
    token = checkin_token(user_id=user_id, period=period, key_result_ids=key_result_ids)
    return absolute(reverse("checkins:link")) + "#" + token


def read_checkin_token(token: str) -> CheckInGrant:
    """The grant in ``token``, or ``LinkInvalid``. Valid for a week after it was made."""
    max_age = dt.timedelta(days=settings.WAYMARK["CHECKIN_LINK_DAYS"])
    try:
        payload = signing.loads(token, salt=CHECKIN_SALT, max_age=max_age)
        return CheckInGrant(
            user_id=int(payload["u"]),
            period=str(payload["p"]),
            key_result_ids=tuple(int(pk) for pk in payload["k"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise LinkInvalid(str(error)) from error


def preferences_token(*, user_id: int) -> str:
    return signing.dumps({"u": user_id}, salt=PREFERENCES_SALT)


def preferences_url(*, user_id: int) -> str:
    return absolute(reverse("checkins:preferences-link")) + "#" + preferences_token(user_id=user_id)


def read_preferences_token(token: str) -> int:
    """The user id in ``token``, or ``LinkInvalid``; valid as long as e-mails are kept."""
    max_age = dt.timedelta(days=settings.WAYMARK["PREFERENCES_LINK_DAYS"])
    try:
        return int(signing.loads(token, salt=PREFERENCES_SALT, max_age=max_age)["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise LinkInvalid(str(error)) from error

"""Pages opened from a nudge without a password: check in through a signed link, and
change one's reminders. Also the signed-in version of the reminders page.

A signed link acts for one person and grants only what it names; the visitor is never
signed in by it, so every other page still asks for a login.

A link's token never appears in a URL the server sees: the e-mail puts it after the
``#``, the page's script (``static/js/signed-link.js``) posts it to the link's "open"
address, which keeps it in the visitor's session and sends them to the page. Each
request reads it again from there, so expiry and deactivation still apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from alignment.models import User
from checkins import links, services
from checkins.access import checkin_refusal
from checkins.forms import ReminderPreferencesForm
from checkins.views.weekly import checkin_entry, group_by_objective, weekly_update_form
from goals.models import KeyResult


def _link_refused(
    request: HttpRequest, error: links.LinkInvalid | None, *, next_url: str
) -> HttpResponse:
    """The friendly page for a link that expired (410) or was altered or made up (403);
    what exactly was wrong is not said."""
    expired = error is not None and isinstance(error.__cause__, signing.SignatureExpired)
    return render(
        request,
        "checkins/link_invalid.html",
        {"expired": expired, "next_url": next_url},
        status=410 if expired else 403,
    )


def _person(user_id: int) -> User | None:
    return User.objects.filter(pk=user_id, is_active=True).first()


@dataclass(frozen=True)
class LinkKind:
    """A kind of signed link: how its token is read, where the session keeps the one
    last opened, its page and "open" address, and where signing in leads instead."""

    read: Callable[[str], object]
    session_key: str
    page: str
    opener: str
    sign_in_next: str


CHECKIN_LINK = LinkKind(
    links.read_checkin_token,
    "checkins.link.checkin",
    page="checkins:link",
    opener="checkins:link-open",
    sign_in_next="checkins:weekly",
)
PREFERENCES_LINK = LinkKind(
    links.read_preferences_token,
    "checkins.link.preferences",
    page="checkins:preferences-link",
    opener="checkins:preferences-link-open",
    sign_in_next="checkins:preferences",
)


def _open(request: HttpRequest, kind: LinkKind) -> HttpResponse:
    """The token posted by the link's page, checked, kept in the session; then the page.
    A bad one gets the invalid-link page and replaces nothing already kept."""
    token = request.POST.get("token", "")
    try:
        kind.read(token)
    except links.LinkInvalid as error:
        return _link_refused(request, error, next_url=reverse(kind.sign_in_next))
    request.session[kind.session_key] = token
    return redirect(kind.page)


def _kept_grant(request: HttpRequest, kind: LinkKind) -> tuple[object, HttpResponse | None]:
    """What the token kept in the session grants, or the response to send instead: the
    page that opens a link when none is kept, the invalid-link page (the token then
    forgotten) when it no longer holds."""
    next_url = reverse(kind.sign_in_next)
    token = request.session.get(kind.session_key)
    if token is None:
        context = {"open_url": reverse(kind.opener), "next_url": next_url}
        return None, render(request, "checkins/link_open.html", context)
    try:
        return kind.read(token), None
    except links.LinkInvalid as error:
        del request.session[kind.session_key]
        return None, _link_refused(request, error, next_url=next_url)


# --- Check in from a reminder ---------------------------------------------------------------


def _granted_key_results(person: User, grant: links.CheckInGrant) -> list[KeyResult]:
    """The key results of ``grant`` that ``person`` still owns and that are not archived
    (one query); one handed to someone else since is left out without a word."""
    return list(
        KeyResult.objects.filter(
            pk__in=grant.key_result_ids,
            owner=person,
            archived_at__isnull=True,
            objective__archived_at__isnull=True,
        )
        .select_related("objective__cycle", "objective__team")
        .order_by("objective__cycle__start_date", "objective_id", "position", "pk")
    )


def _render_link_page(request: HttpRequest, person: User, context: dict) -> HttpResponse:
    entries = context.get("entries", [])
    return render(
        request,
        "checkins/link_checkin.html",
        {
            "person": person,
            "groups": group_by_objective(entries),
            "week_start": services.week_start(timezone.localdate()),
            "action": request.path,
            **context,
        },
    )


@never_cache
@require_POST
def open_checkin_link(request: HttpRequest) -> HttpResponse:
    return _open(request, CHECKIN_LINK)


@never_cache
def checkin_link(request: HttpRequest) -> HttpResponse:
    """The check-in form of a reminder, for its person's due key results only, without
    a password. It validates and saves as the weekly page does (one transaction, nothing
    saved if a row is wrong); fields of key results outside the grant are never read."""
    grant, instead = _kept_grant(request, CHECKIN_LINK)
    if instead is not None:
        return instead
    person = _person(grant.user_id)
    if person is None:
        return _link_refused(request, None, next_url=reverse(CHECKIN_LINK.sign_in_next))

    # Closed cycles and roll-up key results are refused as on the weekly page, and say why.
    open_, refused = [], []
    for key_result in _granted_key_results(person, grant):
        refusal = checkin_refusal(person, key_result)
        if refusal is None:
            open_.append(key_result)
        else:
            refused.append((key_result, refusal))
    expected: dict[int, float] = {}
    for kr in open_:
        expected.setdefault(kr.objective.cycle_id, kr.objective.cycle.expected_progress())
    data = request.POST if request.method == "POST" else None
    entries = [checkin_entry(kr, data, expected) for kr in open_]
    weekly = weekly_update_form(person, data) if entries else None
    page = {"entries": entries, "refused": refused, "weekly": weekly}
    if request.method != "POST" or not entries:
        return _render_link_page(request, person, page)

    forms = [entry["form"] for entry in entries]
    results = [form.is_valid() for form in forms] + [weekly.is_valid()]
    if not all(results):
        return _render_link_page(request, person, {**page, "invalid": True})
    rows = [form.row() for form in forms if form.is_filled]
    texts = weekly.cleaned_data
    if not rows and not any(value.strip() for value in texts.values()):
        nothing = "Nothing to save: enter a value and a confidence."
        return _render_link_page(request, person, {**page, "nothing": nothing})
    try:
        _, checkins = services.weekly_checkin_submit(author=person, rows=rows, **texts)
    except ValidationError as error:
        return _render_link_page(
            request, person, {**page, "invalid": True, "problem": error.messages}
        )
    count = len(checkins)
    messages.success(
        request,
        f"Checked in {count} key result{'' if count == 1 else 's'}."
        if count
        else "Your note for the week is saved.",
    )
    return redirect(request.path)


# --- Reminder preferences ----------------------------------------------------------------


def _preferences_page(request: HttpRequest, person: User, *, signed: bool) -> HttpResponse:
    form = ReminderPreferencesForm(
        request.POST if request.method == "POST" else None, instance=person
    )
    if request.method == "POST" and form.is_valid():
        # Only this column: the rest of the person's row may have changed meanwhile.
        form.instance.save(update_fields=["nudge_channel"])
        messages.success(request, f"Saved. Reminders: {form.instance.get_nudge_channel_display()}.")
        return redirect(request.path)
    return render(
        request,
        "checkins/preferences.html",
        {
            "form": form,
            "person": person,
            "signed": signed,
            "action": request.path,
            "due_days": settings.WAYMARK["DUE_AFTER_DAYS"],
        },
    )


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """The signed-in person's reminders: e-mail, their team's chat, or paused."""
    return _preferences_page(request, request.user, signed=False)


@never_cache
@require_POST
def open_preferences_link(request: HttpRequest) -> HttpResponse:
    return _open(request, PREFERENCES_LINK)


@never_cache
def preferences_link(request: HttpRequest) -> HttpResponse:
    """The same page from the link in every nudge e-mail, without a password; it changes
    only the reminders of the person it was made for."""
    user_id, instead = _kept_grant(request, PREFERENCES_LINK)
    if instead is not None:
        return instead
    person = _person(user_id)
    if person is None:
        return _link_refused(request, None, next_url=reverse(PREFERENCES_LINK.sign_in_next))
    return _preferences_page(request, person, signed=True)

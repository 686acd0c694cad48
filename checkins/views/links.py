"""Pages opened from a nudge without a password: check in through a signed link, and
change one's reminders. Also the signed-in version of the reminders page.

A signed link acts for one person and grants only what it names; the visitor is never
signed in by it, so every other page still asks for a login.
"""

from __future__ import annotations

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
def checkin_link(request: HttpRequest, token: str) -> HttpResponse:
    """The check-in form of a reminder, for its person's due key results only, without
    a password. It validates and saves as the weekly page does (one transaction, nothing
    saved if a row is wrong); fields of key results outside the grant are never read."""
    try:
        grant = links.read_checkin_token(token)
    except links.LinkInvalid as error:
        return _link_refused(request, error, next_url=reverse("checkins:weekly"))
    person = _person(grant.user_id)
    if person is None:
        return _link_refused(request, None, next_url=reverse("checkins:weekly"))

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
def preferences_link(request: HttpRequest, token: str) -> HttpResponse:
    """The same page from the link in every nudge e-mail, without a password; it changes
    only the reminders of the person it was made for."""
    try:
        user_id = links.read_preferences_token(token)
    except links.LinkInvalid as error:
        return _link_refused(request, error, next_url=reverse("checkins:preferences"))
    person = _person(user_id)
    if person is None:
        return _link_refused(request, None, next_url=reverse("checkins:preferences"))
    return _preferences_page(request, person, signed=True)

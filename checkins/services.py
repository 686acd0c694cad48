"""Writes to check-ins. The browser, the API, the admin and imports all record
check-ins through ``checkin_record`` so validation and roll-up are the same for all."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from alignment import rollup
from alignment.tasks import schedule_rollup
from checkins.models import ActionItem, CheckIn, OneOnOne, WeeklyUpdate
from goals.models import KeyResult

CHECKIN_RELATIONS = ("key_result", "author", "weekly_update", "corrects")


@transaction.atomic
def checkin_record(
    *,
    key_result: KeyResult,
    author,
    value: Decimal,
    confidence: int,
    note: str = "",
    blocker: str = "",
    weekly_update: WeeklyUpdate | None = None,
    corrects: CheckIn | None = None,
) -> CheckIn:
    """Append a check-in and make it the key result's current state.

    The key result row is locked first, so concurrent check-ins on it queue up: every
    one is recorded, and the current value is the one committed last.
    """
    locked = KeyResult.objects.select_for_update().get(pk=key_result.pk)
    checkin = CheckIn(
        key_result=locked,
        author=author,
        value=value,
        confidence=confidence,
        note=note,
        blocker=blocker,
        weekly_update=weekly_update,
        corrects=corrects,
        created_at=timezone.now(),
    )
    # Field rules only. The relations are rows in hand (the locked key result, the
    # author, their week), and the table's CHECKs either repeat a field rule (confidence)
    # or cannot fail for a new row (correcting itself): Django would ask the database
    # about each, five queries a check-in. The database still enforces them all.
    checkin.full_clean(exclude=CHECKIN_RELATIONS, validate_constraints=False)
    checkin.save()

    locked.last_checkin_at = checkin.created_at
    _make_current(locked, checkin, fields=["last_checkin_at"])
    return checkin


def _make_current(locked: KeyResult, checkin: CheckIn, *, fields: list[str]) -> None:
    """Make ``checkin`` the locked key result's current value and confidence (plus the
    other ``fields`` already set on it), then roll up: its own objective at once, the
    climb above it as background work (in-process when there is no broker)."""
    locked.current_value = checkin.value
    locked.confidence = checkin.confidence
    if locked.progress_source == KeyResult.ProgressSource.CHECKINS:
        locked.progress = locked.computed_progress()
    changed = ["current_value", "confidence", "progress", *fields]
    KeyResult.objects.filter(pk=locked.pk).update(
        **{name: getattr(locked, name) for name in changed}
    )
    rollup.refresh_objectives({locked.objective_id})
    schedule_rollup(locked.objective_id)


# --- The weekly check-in and corrections ---------------------------------------------------


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


@transaction.atomic
def weekly_checkin_submit(
    *,
    author,
    rows: list[dict],
    what_moved: str = "",
    whats_blocked: str = "",
    next_focus: str = "",
) -> tuple[WeeklyUpdate | None, list[CheckIn]]:
    """Record a person's weekly check-in in one transaction: a check-in per row (dicts of
    ``key_result``, ``value``, ``confidence``, ``note``, ``blocker``) through
    ``checkin_record``, and their note for this week (one per person and week, updated if
    they submit again). Any invalid row raises ValidationError and nothing is saved.

    Callers pass only key results ``author`` may check in on (``checkins.access.checkin_refusal``).
    """
    update = None
    if rows or what_moved.strip() or whats_blocked.strip() or next_focus.strip():
        update, _ = WeeklyUpdate.objects.update_or_create(
            author=author,
            week_start=week_start(timezone.localdate()),
            defaults={
                "what_moved": what_moved.strip(),
                "whats_blocked": whats_blocked.strip(),
                "next_focus": next_focus.strip(),
            },
        )
    checkins = [
        checkin_record(
            key_result=row["key_result"],
            author=author,
            value=row["value"],
            confidence=row["confidence"],
            note=row.get("note", ""),
            blocker=row.get("blocker", ""),
            weekly_update=update,
        )
        for row in rows
    ]
    return update, checkins


@transaction.atomic
def checkin_correct(
    *, original: CheckIn, author, value: Decimal, confidence: int, note: str = "", blocker: str = ""
) -> CheckIn:
    """Correct ``original`` with a new check-in pointing at it (the original is kept).
    The correction becomes the key result's current state only if nothing but
    corrections of the same check-in came after the original."""
    correction = checkin_record(
        key_result=original.key_result,
        author=author,
        value=value,
        confidence=confidence,
        note=note,
        blocker=blocker,
        weekly_update=original.weekly_update,
        corrects=original,
    )
    later = (
        CheckIn.objects.filter(
            key_result=original.key_result_id, created_at__gt=original.created_at
        )
        .exclude(pk=correction.pk)
        .exclude(corrects=original)
        .order_by("-created_at", "-pk")
        .first()
    )
    if later is not None:  # a later check-in stays the current one
        locked = KeyResult.objects.select_for_update().get(pk=original.key_result_id)
        _make_current(locked, later, fields=[])
    return correction


# Team review and one-to-ones


@transaction.atomic
def one_on_one_schedule(*, manager, report, scheduled_for: date) -> OneOnOne:
    """Schedule a one-to-one and carry the open action items of the pair's previous one
    into it (each new item points at the one it continues)."""
    one_on_one = OneOnOne(manager=manager, report=report, scheduled_for=scheduled_for)
    one_on_one.full_clean()
    previous = (
        OneOnOne.objects.filter(manager=manager, report=report, scheduled_for__lte=scheduled_for)
        .order_by("-scheduled_for", "-pk")
        .first()
    )
    one_on_one.save()
    if previous is not None:
        ActionItem.objects.bulk_create(
            ActionItem(
                one_on_one=one_on_one, text=item.text, owner_id=item.owner_id, carried_from=item
            )
            for item in previous.action_items.filter(done_at__isnull=True).order_by(
                "created_at", "pk"
            )
        )
    return one_on_one


def one_on_one_record(*, one_on_one: OneOnOne, notes: str, held: bool) -> None:
    """Save the notes; mark the one-to-one held (now) or not held."""
    one_on_one.notes = notes
    if held and one_on_one.held_at is None:
        one_on_one.held_at = timezone.now()
    elif not held:
        one_on_one.held_at = None
    one_on_one.save(update_fields=["notes", "held_at"])


def action_item_add(*, one_on_one: OneOnOne, text: str, owner) -> ActionItem:
    item = ActionItem(one_on_one=one_on_one, text=text, owner=owner)
    item.full_clean()
    item.save()
    return item


def action_item_done(*, item: ActionItem, done: bool = True) -> None:
    """Mark an action item done (or open again)."""
    item.done_at = timezone.now() if done else None
    item.save(update_fields=["done_at"])

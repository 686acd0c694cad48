"""Sending planned nudges, each at most once.

Each row is *taken* right before its send, by a conditional UPDATE that only succeeds
while the row is still pending or due for a retry (and stamps it with a fresh claim id),
so two workers or two runs never send the same row. Its outcome (sent, failed and
retried later with backoff, or abandoned) is written right after its send. A worker
killed mid-send leaves that one row *sending*: after the claim time it is abandoned
rather than sent again, because it may have gone out; the rows it had not reached are
still pending and go out with the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from alignment.models import Team, User
from checkins import planning
from checkins.models import Nudge
from checkins.transports import EmailSender, PermanentError, TransientError, post_webhook

logger = logging.getLogger(__name__)

RETRY_BASE = dt.timedelta(minutes=5)
RETRY_CAP = dt.timedelta(hours=2)
CLAIM_LOST = "The sender stopped while sending; not sent again so that nobody gets it twice."
UNSENT = [Nudge.State.PENDING, Nudge.State.FAILED]


@dataclass
class DeliveryCounts:
    sent: int = 0
    failed: int = 0
    abandoned: int = 0


def retry_delay(attempts: int) -> dt.timedelta:
    """5 minutes after the first failure, doubling, at most 2 hours."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def due_ids(now: dt.datetime, *, limit: int = 50_000) -> list[int]:
    """Nudges waiting to be sent or retried, oldest first. Gives up first on rows whose
    send outlived the claim time (their worker died mid-send)."""
    lease = dt.timedelta(seconds=settings.WAYMARK["NUDGE_CLAIM_SECONDS"])
    Nudge.objects.filter(state=Nudge.State.SENDING, claimed_at__lt=now - lease).update(
        state=Nudge.State.ABANDONED, last_error=CLAIM_LOST
    )
    return list(
        Nudge.objects.filter(state__in=UNSENT, next_attempt_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def take(nudge: Nudge, *, now: dt.datetime) -> bool:
    """Claim ``nudge`` for sending, unless another worker (or run) got there first."""
    token = uuid.uuid4()
    taken = Nudge.objects.filter(pk=nudge.pk, state__in=UNSENT, next_attempt_at__lte=now).update(
        state=Nudge.State.SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1
    )
    if taken:
        nudge.state, nudge.claim, nudge.claimed_at = Nudge.State.SENDING, token, now
        nudge.attempts += 1
    return bool(taken)


def deliver(ids: list[int], *, now: dt.datetime | None = None) -> DeliveryCounts:
    """Send the nudges of ``ids`` that are still to send as of ``now``. One query loads
    the batch, then two per nudge: one takes it, one records what happened."""
    now = now or timezone.now()
    counts = DeliveryCounts()
    nudges = list(
        Nudge.objects.filter(pk__in=ids, state__in=UNSENT, next_attempt_at__lte=now)
        .select_related("recipient", "team")
        .order_by("pk")
    )
    emails = [nudge for nudge in nudges if nudge.channel == Nudge.Channel.EMAIL]
    if emails:
        _send_emails(emails, counts, now=now)
    failing_teams: set[int] = set()
    for nudge in nudges:
        if nudge.channel == Nudge.Channel.WEBHOOK and take(nudge, now=now):
            _post(nudge, counts, now=now, failing_teams=failing_teams)
    return counts


def _why_not_email(person: User) -> str:
    if not person.is_active:
        return "This person's account is deactivated."
    if not person.email:
        return "This person has no e-mail address."
    if person.nudge_channel == User.NudgeChannel.PAUSED:
        return "This person paused their reminders."
    return ""


def _send_emails(nudges: list[Nudge], counts: DeliveryCounts, *, now: dt.datetime) -> None:
    sender = EmailSender()
    try:
        sender.open()
    except TransientError as error:  # no mail server: every row waits for its retry
        for nudge in nudges:
            if take(nudge, now=now):
                _failed(nudge, error, counts, now=now)
        return
    try:
        for nudge in nudges:
            if not take(nudge, now=now):
                continue
            reason = _why_not_email(nudge.recipient)
            if reason:
                _abandon(nudge, reason, counts)
                continue
            try:
                sender.send(
                    to=nudge.recipient.email,
                    subject=nudge.subject,
                    text=nudge.body,
                    html=nudge.html_body,
                )
            except (TransientError, PermanentError) as error:
                _failed(nudge, error, counts, now=now)
            else:
                _sent(nudge, counts, now=now)
    finally:
        sender.close()


def _post(nudge: Nudge, counts: DeliveryCounts, *, now: dt.datetime, failing_teams: set) -> None:
    team = nudge.team
    if team.pk in failing_teams or team.webhook_failed_at is not None or not team.webhook_url:
        _abandon(nudge, "The team's chat webhook is switched off or failing.", counts)
        return
    try:
        post_webhook(team.webhook_url, nudge.body)
    except (TransientError, PermanentError) as error:
        _failed(nudge, error, counts, now=now)
        if nudge.state == Nudge.State.ABANDONED:
            failing_teams.add(team.pk)
            _report_failing_webhook(team, str(error), now=now)
    else:
        _sent(nudge, counts, now=now)


def _report_failing_webhook(team: Team, error: str, *, now: dt.datetime) -> None:
    """Stop using the webhook until someone changes it, and tell the team's leads."""
    logger.error("Chat webhook of team %s failed for good: %s", team.slug, error)
    Team.objects.filter(pk=team.pk).update(webhook_failed_at=now, webhook_error=error[:300])
    planning.plan_webhook_alert(team, error, now=now)


def _record(nudge: Nudge, **fields) -> None:
    """Write an outcome on the row, while it still carries this send's claim."""
    for name, value in fields.items():
        setattr(nudge, name, value)
    Nudge.objects.filter(pk=nudge.pk, claim=nudge.claim).update(**fields)


def _sent(nudge: Nudge, counts: DeliveryCounts, *, now: dt.datetime) -> None:
    _record(nudge, state=Nudge.State.SENT, sent_at=now, last_error="")
    counts.sent += 1


def _abandon(nudge: Nudge, reason: str, counts: DeliveryCounts) -> None:
    _record(nudge, state=Nudge.State.ABANDONED, last_error=reason)
    counts.abandoned += 1


def _failed(nudge: Nudge, error: Exception, counts: DeliveryCounts, *, now: dt.datetime) -> None:
    """Retry a transient failure later, unless it was the last try; give up on a
    permanent one."""
    last_try = nudge.attempts >= settings.WAYMARK["NUDGE_MAX_ATTEMPTS"]
    if isinstance(error, PermanentError) or last_try:
        logger.warning("Nudge %s abandoned: %s", nudge.pk, error)
        _abandon(nudge, str(error), counts)
        return
    _record(
        nudge,
        state=Nudge.State.FAILED,
        last_error=str(error),
        next_attempt_at=now + retry_delay(nudge.attempts),
    )
    counts.failed += 1

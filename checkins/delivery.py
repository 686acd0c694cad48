"""Sending planned nudges, each at most once.

A batch first *claims* its rows with one conditional UPDATE (only rows still pending or
due for a retry, stamped with a fresh claim id), so two workers or two runs never send
the same row. Each row is then marked sent, failed (retried later with backoff) or
abandoned, one at a time, right after its own send. A worker killed mid-send leaves its
row *sending*: after the claim time it is abandoned rather than sent again, because it
may already have gone out.
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


@dataclass
class DeliveryCounts:
    sent: int = 0
    failed: int = 0
    abandoned: int = 0


def retry_delay(attempts: int) -> dt.timedelta:
    """5 minutes after the first failure, doubling, at most 2 hours."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def due_ids(now: dt.datetime, *, limit: int = 50_000) -> list[int]:
    """Nudges waiting to be sent or retried, oldest first. Gives up on claims that
    outlived their time first (their worker died)."""
    lease = dt.timedelta(seconds=settings.WAYMARK["NUDGE_CLAIM_SECONDS"])
    Nudge.objects.filter(state=Nudge.State.SENDING, claimed_at__lt=now - lease).update(
        state=Nudge.State.ABANDONED, last_error=CLAIM_LOST
    )
    return list(
        Nudge.objects.filter(
            state__in=[Nudge.State.PENDING, Nudge.State.FAILED], next_attempt_at__lte=now
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def claim(ids: list[int], *, now: dt.datetime) -> list[Nudge]:
    """Take the rows of ``ids`` that nobody else has taken (two queries)."""
    token = uuid.uuid4()
    Nudge.objects.filter(
        pk__in=ids,
        state__in=[Nudge.State.PENDING, Nudge.State.FAILED],
        next_attempt_at__lte=now,
    ).update(state=Nudge.State.SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1)
    return list(
        Nudge.objects.filter(claim=token, state=Nudge.State.SENDING)
        .select_related("recipient", "team")
        .order_by("pk")
    )


def deliver(ids: list[int], *, now: dt.datetime | None = None) -> DeliveryCounts:
    """Send the nudges of ``ids`` that are still to send; a bounded number of queries:
    two to claim, one per nudge to record the outcome."""
    now = now or timezone.now()
    counts = DeliveryCounts()
    nudges = claim(ids, now=now)
    emails = [nudge for nudge in nudges if nudge.channel == Nudge.Channel.EMAIL]
    if emails:
        _send_emails(emails, counts)
    for nudge in nudges:
        if nudge.channel == Nudge.Channel.WEBHOOK:
            _post(nudge, counts)
    return counts


def _why_not_email(person: User) -> str:
    if not person.is_active:
        return "This person's account is deactivated."
    if not person.email:
        return "This person has no e-mail address."
    if person.nudge_channel == User.NudgeChannel.PAUSED:
        return "This person paused their reminders."
    return ""


def _send_emails(nudges: list[Nudge], counts: DeliveryCounts) -> None:
    try:
        with EmailSender() as sender:
            for nudge in nudges:
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
                    _failed(nudge, error, counts)
                else:
                    _sent(nudge, counts)
    except TransientError as error:  # no connection: nothing of the batch went out
        unsent = [nudge for nudge in nudges if nudge.state == Nudge.State.SENDING]
        for nudge in unsent:
            _failed(nudge, error, counts)


def _post(nudge: Nudge, counts: DeliveryCounts) -> None:
    team = nudge.team
    if team.webhook_failed_at is not None or not team.webhook_url:
        _abandon(nudge, "The team's chat webhook is switched off or failing.", counts)
        return
    try:
        post_webhook(team.webhook_url, nudge.body)
    except (TransientError, PermanentError) as error:
        _failed(nudge, error, counts)
        if nudge.state == Nudge.State.ABANDONED:
            _report_failing_webhook(team, str(error), now=timezone.now())
    else:
        _sent(nudge, counts)


def _report_failing_webhook(team: Team, error: str, *, now: dt.datetime) -> None:
    """Stop using the webhook until someone changes it, and tell the team's leads."""
    logger.error("Chat webhook of team %s failed for good: %s", team.slug, error)
    Team.objects.filter(pk=team.pk).update(webhook_failed_at=now, webhook_error=error[:300])
    planning.plan_webhook_alert(team, error, now=now)


def _record(nudge: Nudge, **fields) -> None:
    for name, value in fields.items():
        setattr(nudge, name, value)
    Nudge.objects.filter(pk=nudge.pk, claim=nudge.claim).update(**fields)


def _sent(nudge: Nudge, counts: DeliveryCounts) -> None:
    _record(nudge, state=Nudge.State.SENT, sent_at=timezone.now(), last_error="")
    counts.sent += 1


def _abandon(nudge: Nudge, reason: str, counts: DeliveryCounts) -> None:
    _record(nudge, state=Nudge.State.ABANDONED, last_error=reason)
    counts.abandoned += 1


def _failed(nudge: Nudge, error: Exception, counts: DeliveryCounts) -> None:
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
        next_attempt_at=timezone.now() + retry_delay(nudge.attempts),
    )
    counts.failed += 1

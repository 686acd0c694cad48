"""What the ``import_goals`` and ``export_cycle`` commands share: finding the cycle and
the person named on the command line."""

from __future__ import annotations

from django.core.management.base import CommandError

from alignment.models import User
from goals.models import Cycle


def cycle_argument(text: str) -> Cycle:
    """The cycle named ``text``, else the one whose id it is (a yearly cycle may well be
    named "2027")."""
    cycle = Cycle.objects.filter(name=text).first()
    if cycle is None and text.isdigit():
        cycle = Cycle.objects.filter(pk=int(text)).first()
    if cycle is None:
        names = ", ".join(Cycle.objects.order_by("-start_date").values_list("name", flat=True))
        raise CommandError(f"No cycle is named or numbered “{text}”. The cycles: {names}.")
    return cycle


def person_argument(username: str) -> User:
    person = User.objects.filter(username=username, is_active=True).first()
    if person is None:
        raise CommandError(f"No active person has the username “{username}”.")
    return person

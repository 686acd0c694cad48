"""Non-trivial reads of goals. Each returns everything its page needs in a fixed number
of queries, whatever the size of the organisation."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from goals.models import Cycle, KeyResult, Objective


def active_cycles() -> list[Cycle]:
    return list(Cycle.objects.filter(state=Cycle.State.ACTIVE).order_by("start_date", "name"))


def my_objectives(user, cycles: list[Cycle]) -> QuerySet[Objective]:
    """The objectives ``user`` owns or holds a key result of, in ``cycles``, with their
    active key results prefetched (three queries in all, plus visibility's)."""
    key_results = KeyResult.objects.filter(archived_at__isnull=True).select_related("owner")
    return (
        Objective.objects.visible_to(user)
        .active()
        .filter(cycle__in=cycles)
        .filter(Q(owner=user) | Q(key_results__owner=user, key_results__archived_at__isnull=True))
        .distinct()
        .select_related("team", "owner", "cycle")
        .prefetch_related(Prefetch("key_results", queryset=key_results))
        .order_by("cycle__start_date", "team__name", "created_at")
    )

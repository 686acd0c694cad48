"""Who may read and write goals: one implementation behind pages, partials, admin and API.

- Reading: public objectives for everyone signed in; private ones for their owner, their
  team, leads of their team or of any team above it, and admins (``visible_to``).
- Writing an objective (its fields, key results, initiatives, archiving): its owner,
  leads of its team or of a team above it, and admins. A closed cycle is read-only for
  everyone but admins.
- Creating an objective: members of the team (owning it themselves), leads of the team
  or of a team above it (for anyone), and admins; never in a closed cycle.
- KPIs are read by everyone signed in and written by the team's members, leads above
  it, and admins.

Lookups scope first and decide second: something a person may not read answers 404,
something they may read but not change answers 403 with a reason.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from alignment.models import Team
from alignment.queries import TeamAccess, team_access_for
from goals.models import Cycle, Initiative, KeyResult, Kpi, Objective, readable_objectives

CLOSED_CYCLE = "This cycle is closed: its goals are read-only."
NOT_YOURS = "Only the owner, the team's leads and admins can change this objective."


def _access(user, access: TeamAccess | None) -> TeamAccess:
    return access if access is not None else team_access_for(user)


def can_read_objective(user, objective: Objective, *, access: TeamAccess | None = None) -> bool:
    """The rule of ``Objective.objects.visible_to`` for one row already loaded."""
    if user.is_superuser or objective.visibility == Objective.Visibility.PUBLIC:
        return True
    return (
        objective.owner_id == user.pk or objective.team_id in _access(user, access).readable_private
    )


def objective_write_refusal(
    user, objective: Objective, *, access: TeamAccess | None = None
) -> str | None:
    """Why ``user`` may not change ``objective``, or None when they may."""
    if objective.archived_at is not None:
        return "This objective is archived; an admin can restore it."
    if user.is_superuser:
        return None
    if objective.cycle.is_closed:
        return CLOSED_CYCLE
    if objective.owner_id == user.pk or objective.team_id in _access(user, access).leads_over:
        return None
    return NOT_YOURS


def can_write_objective(user, objective: Objective, *, access: TeamAccess | None = None) -> bool:
    return objective_write_refusal(user, objective, access=access) is None


def objective_create_refusal(
    user, *, team: Team, cycle: Cycle, owner=None, access: TeamAccess | None = None
) -> str | None:
    """Why ``user`` may not create an objective for ``owner`` in ``team`` and ``cycle``."""
    if user.is_superuser:
        return None
    if cycle.is_closed:
        return CLOSED_CYCLE
    access = _access(user, access)
    if team.pk in access.leads_over:
        return None
    if team.pk in access.member_of and (owner is None or owner.pk == user.pk):
        return None
    if team.pk in access.member_of:
        return "Only the team's leads can create objectives owned by someone else."
    return "You can create objectives only in your own teams, or in teams you lead."


def kpi_write_refusal(
    user, kpi_team_id: int, *, access: TeamAccess | None = None, archived: bool = False
) -> str | None:
    if archived:
        return "This KPI is archived: restore it in the admin to record readings again."
    if user.is_superuser:
        return None
    access = _access(user, access)
    if kpi_team_id in access.member_of or kpi_team_id in access.leads_over:
        return None
    return "Only the team's members, its leads and admins can change its KPIs."


def initiative_create_refusal(user, key_result: KeyResult) -> str | None:
    """The objective's writers add initiatives, and so does the key result's owner."""
    if key_result.owner_id == user.pk and not key_result.objective.cycle.is_closed:
        return None
    return objective_write_refusal(user, key_result.objective)


def refuse(reason: str | None) -> None:
    """Raise 403 with ``reason`` when there is one."""
    if reason is not None:
        raise PermissionDenied(reason)


def _one(rows: QuerySet, pk, missing: str):
    """The row ``pk`` of ``rows``, or 404 saying ``missing``. ``get``, not ``first()``:
    a primary key names one row, so there is no ordering to join tables for."""
    try:
        return rows.get(pk=pk)
    except rows.model.DoesNotExist:
        raise Http404(missing) from None


def get_objective_for_user(
    user,
    pk: int,
    *,
    write: bool = False,
    access: TeamAccess | None = None,
    related: tuple[str, ...] = (),
) -> Objective:
    """The objective ``pk`` (with its cycle, team, owner and the ``related`` rows) if
    ``user`` may read it (404 otherwise); with ``write``, also 403 unless they may
    change it."""
    visible = Objective.objects.visible_to(user, access=access)
    rows = visible.select_related("cycle", "team", "owner", *related)
    objective = _one(rows, pk, "No such objective.")
    if write:
        refuse(objective_write_refusal(user, objective, access=access))
    return objective


def get_key_result_for_user(user, pk: int, *, write: bool = False) -> KeyResult:
    """A key result is readable and writable exactly as its objective is."""
    rows = KeyResult.objects.filter(readable_objectives(user, through="objective__"))
    key_result = _one(
        rows.select_related("objective__cycle", "objective__team", "objective__owner", "owner"),
        pk,
        "No such key result.",
    )
    if write:
        refuse(objective_write_refusal(user, key_result.objective))
    return key_result


def get_initiative_for_user(user, pk: int, *, write: bool = False) -> Initiative:
    """Readable with its objective; writable by the objective's writers and by the
    initiative's own owner and its key result's owner (in an open cycle)."""
    rows = Initiative.objects.filter(
        readable_objectives(user, through="key_result__objective__")
    ).select_related("key_result__objective__cycle", "owner")
    initiative = _one(rows, pk, "No such initiative.")
    if write and not (
        initiative.owner_id == user.pk and not initiative.key_result.objective.cycle.is_closed
    ):
        refuse(initiative_create_refusal(user, initiative.key_result))
    return initiative


def get_kpi_for_user(user, pk: int, *, write: bool = False) -> Kpi:
    kpi = Kpi.objects.select_related("team").filter(pk=pk).first()
    if kpi is None or not user.is_authenticated:
        raise Http404("No such KPI.")
    if write:
        refuse(kpi_write_refusal(user, kpi.team_id, archived=kpi.archived_at is not None))
    return kpi


def dependency_respond_refusal(user, dependency, *, access: TeamAccess | None = None) -> str | None:
    """The providing team's members and leads (and leads above it) answer a request."""
    if user.is_superuser:
        return None
    access = _access(user, access)
    team_id = dependency.providing_team_id
    if team_id in access.member_of or team_id in access.leads_over:
        return None
    return "Only the asked team's members and leads can answer this request."


# Closing a cycle and carrying objectives forward.


def _leads_company(user, access: TeamAccess) -> bool:
    """Leads of the company (the root team, or every root team) lead every team."""
    roots = set(Team.objects.filter(parent__isnull=True).values_list("pk", flat=True))
    return bool(roots) and roots <= access.leads_over


def cycle_close_refusal(user, cycle: Cycle, *, access: TeamAccess | None = None) -> str | None:
    """Admins and leads of the company team close a cycle, once."""
    if cycle.is_closed:
        return "This cycle is already closed."
    if user.is_superuser or _leads_company(user, _access(user, access)):
        return None
    return "Only admins and the company's leads can close a cycle."


def carry_over_refusal(
    user, objective: Objective, *, access: TeamAccess | None = None
) -> str | None:
    """Leads carry their teams' (and sub-teams') objectives forward, admins any, once the
    objective's cycle is closed or has ended."""
    from django.utils import timezone

    cycle = objective.cycle
    if not cycle.is_closed and cycle.end_date >= timezone.localdate():
        return "Objectives are carried forward once their cycle is closed or has ended."
    if objective.archived_at is not None:
        return "This objective is archived."
    if user.is_superuser or objective.team_id in _access(user, access).leads_over:
        return None
    return "Only the team's leads and admins can carry its objectives forward."


def cycle_next_refusal(user, *, access: TeamAccess | None = None) -> str | None:
    """Admins and the company's leads open the next cycle (and plan its reminders)."""
    if user.is_superuser or _leads_company(user, _access(user, access)):
        return None
    return "Only admins and the company's leads can create the next cycle."


# Grading and reflecting at the end of a cycle.

GRADING_WEEKS = 3
NOT_YOURS_TO_GRADE = (
    "Only the key result's owner, the objective's owner, the team's leads and admins can grade it."
)


def grading_opens_on(cycle: Cycle):
    """Grading opens three weeks before the cycle's last day."""
    import datetime as dt

    return cycle.end_date - dt.timedelta(weeks=GRADING_WEEKS)


def grading_is_open(cycle: Cycle, today=None) -> bool:
    """Within the grading window: from three weeks before the end until the cycle is
    closed (after the end date too, as long as nobody closed it)."""
    from django.utils import timezone

    return not cycle.is_closed and (today or timezone.localdate()) >= grading_opens_on(cycle)


def grading_window_refusal(cycle: Cycle, today=None) -> str | None:
    """Why nobody but an admin grades ``cycle`` today, or None in the window."""
    if cycle.is_closed:
        return CLOSED_CYCLE
    if grading_is_open(cycle, today):
        return None
    opens = grading_opens_on(cycle)
    return f"Grading opens on {opens.day} {opens:%B %Y}, three weeks before the cycle ends."


def reflection_refusal(
    user, objective: Objective, *, today=None, access: TeamAccess | None = None
) -> str | None:
    """The objective's writers reflect on it in the grading window; admins any time."""
    refusal = objective_write_refusal(user, objective, access=access)
    if refusal is not None or user.is_superuser:
        return refusal
    return grading_window_refusal(objective.cycle, today)


def grading_refusal(
    user, key_result: KeyResult, *, today=None, access: TeamAccess | None = None
) -> str | None:
    """Why ``user`` may not grade ``key_result`` now, or None when they may.

    The key result's owner and the objective's writers grade in the grading window
    (``grading_is_open``); admins any time, a closed cycle included."""
    if key_result.archived_at is not None:
        return "This key result is archived."
    refusal = objective_write_refusal(user, key_result.objective, access=access)
    if refusal == NOT_YOURS:
        refusal = None if key_result.owner_id == user.pk else NOT_YOURS_TO_GRADE
    if refusal is not None or user.is_superuser:
        return refusal
    return grading_window_refusal(key_result.objective.cycle, today)

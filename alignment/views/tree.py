"""The alignment tree of a cycle, and its gaps report.

The tree never sends the whole organisation: a page shows one team (the company unless
``?team=`` says otherwise) with its objectives and its sub-teams closed; opening a team
or an objective fetches that one level with htmx. Each fragment's URL also answers
without htmx, with a whole page focused on that team or objective, so every toggle has a
plain link beside it. Each request runs a fixed number of queries (``alignment.tree``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from alignment import tree as reads
from alignment.models import Team, User
from goals import queries
from goals.models import Cycle

TEMPLATE = "alignment/tree.html"
# The team filter suggests the first teams of the organisation before anything is
# typed, then the teams whose name holds what is typed: never every team at once.
TEAMS_SUGGESTED = 15


def _with_query(url: str, **params: object) -> str:
    """``url`` with the non-empty ``params`` as its query string."""
    query = urlencode({key: value for key, value in params.items() if value})
    return f"{url}?{query}" if query else url


@dataclass
class Filters:
    """The tree's GET parameters: ``team`` (a slug, or a team's name as typed),
    ``owner`` (a username) and ``attention`` (anything non-empty)."""

    team: reads.OrgTeam | None
    owner_name: str
    owner: User | None
    attention: bool
    team_text: str = ""  # what the team field said, shown again when it named no team
    team_choices: list[reads.OrgTeam] = field(default_factory=list)  # teams of that name

    @classmethod
    def read(cls, request: HttpRequest, org: reads.Org, *, team_only: bool = False) -> Filters:
        """One query when an owner is asked for."""
        team_text = request.GET.get("team", "").strip()
        team, choices = org.find(team_text)
        teams = {"team": team, "team_text": team_text, "team_choices": choices}
        if team_only:
            return cls(owner_name="", owner=None, attention=False, **teams)
        owner_name = request.GET.get("owner", "").strip()
        owner = User.objects.filter(username=owner_name).first() if owner_name else None
        return cls(
            owner_name=owner_name,
            owner=owner,
            attention=bool(request.GET.get("attention")),
            **teams,
        )

    @property
    def team_unknown(self) -> bool:
        """The team field named no team at all (not even several)."""
        return bool(self.team_text) and self.team is None and not self.team_choices

    @property
    def listing(self) -> bool:
        """Owner and attention filters list matching objectives instead of a tree."""
        return bool(self.owner_name) or self.attention

    def params(self) -> dict[str, str]:
        return {
            "team": self.team.slug if self.team else "",
            "owner": self.owner_name,
            "attention": "1" if self.attention else "",
        }


def _cycle(cycles: list[Cycle], pk: int) -> Cycle:
    cycle = next((cycle for cycle in cycles if cycle.pk == pk), None)
    if cycle is None:
        raise Http404("No such cycle.")
    return cycle


def _page(
    request: HttpRequest, cycle_pk: int, url_name: str, *, team_pk: int | None = None
) -> tuple[dict, reads.Scope]:
    """What every full page of the tree and the gaps report shows around its results:
    the cycle, the switch between cycles and the filters, the team ``team_pk`` standing
    for the team filter when given (three or four queries, and the scope's one or two)."""
    cycles = queries.all_cycles()
    cycle = _cycle(cycles, cycle_pk)
    org = reads.Org.load()
    filters = Filters.read(request, org, team_only=url_name == "gaps")
    if team_pk is not None:
        filters.team = _live_team(org, team_pk)
    scope = reads.Scope.of(request.user, cycle, timezone.now())
    base = reverse(f"alignment:{url_name}", args=[cycle.pk])
    context = {
        "cycle": cycle,
        "cycle_links": [
            {
                "label": other.name,
                "note": other.get_state_display(),
                "url": _with_query(
                    reverse(f"alignment:{url_name}", args=[other.pk]), **filters.params()
                ),
                "current": other.pk == cycle.pk,
            }
            for other in cycles
        ],
        "org": org,
        "team_suggestions": org.first(TEAMS_SUGGESTED),
        "team_choices": [(team, org.path(team)) for team in filters.team_choices],
        "filters": filters,
        "expected": scope.expected,
        "form_url": base,
        "tree_url": _with_query(reverse("alignment:tree", args=[cycle.pk]), **filters.params()),
        "gaps_url": _with_query(
            reverse("alignment:gaps", args=[cycle.pk]), team=filters.params()["team"]
        ),
    }
    return context, scope


def _live_team(org: reads.Org, team_pk: int) -> reads.OrgTeam:
    team = org.teams.get(team_pk)
    if team is None or team.archived_at is not None:
        raise Http404("No such team.")
    return team


def _fragment(request: HttpRequest, cycle_pk: int) -> reads.Scope:
    """An htmx fragment needs only the cycle and the reader (one query, and the
    scope's one or two)."""
    cycle = get_object_or_404(Cycle, pk=cycle_pk)
    return reads.Scope.of(request.user, cycle, timezone.now())


@login_required
def tree_current(request: HttpRequest) -> HttpResponse:
    """The cycle running now (the earliest-starting active one), else the latest one,
    keeping the filters."""
    cycle = (
        next(iter(queries.active_cycles()), None)
        or Cycle.objects.order_by("-start_date", "name").first()
    )
    if cycle is None:
        return render(request, TEMPLATE, {"cycle": None})
    url = reverse("alignment:tree", args=[cycle.pk])
    query = request.GET.urlencode()
    return redirect(f"{url}?{query}" if query else url)


def _tree_page(request: HttpRequest, cycle_pk: int, *, root_pk: int | None = None) -> HttpResponse:
    """The tree page: the team ``root_pk`` (else the filtered team, else the company)
    open, or with an owner or attention filter the matching objectives with their line
    up to the top. For htmx requests (the filter form) only the results are sent."""
    context, scope = _page(request, cycle_pk, "tree", team_pk=root_pk)
    org, filters = context["org"], context["filters"]
    root = filters.team or org.company
    if filters.listing:
        team_ids = org.subtree(filters.team) if filters.team else None
        matches: list[reads.Node] = []
        total = 0
        if filters.owner is not None or not filters.owner_name:  # else: nobody by that name
            matches, total = reads.matching_objectives(
                scope, team_ids=team_ids, owner=filters.owner, attention=filters.attention
            )
        context.update(matches=matches, matches_total=total, matches_more=total - len(matches))
    elif root is not None:
        context.update(
            root=root,
            crumbs=org.ancestors(root),
            level=reads.team_level(scope, org, root),
        )
    template = TEMPLATE + "#results" if request.htmx else TEMPLATE
    return render(request, template, context)


@login_required
def tree(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    return _tree_page(request, cycle_pk)


@login_required
def team_children(request: HttpRequest, cycle_pk: int, team_pk: int) -> HttpResponse:
    """A team's objectives and sub-teams: the fragment a team's toggle loads, or without
    htmx the tree page opened at that team."""
    if not request.htmx:
        return _tree_page(request, cycle_pk, root_pk=team_pk)
    scope = _fragment(request, cycle_pk)
    org = reads.Org.load()
    team = _live_team(org, team_pk)
    context = {
        "cycle": scope.cycle,
        "expected": scope.expected,
        "level": reads.team_level(scope, org, team),
        "fragment": True,
    }
    return render(request, TEMPLATE + "#team-level", context)


@login_required
def objective_children(request: HttpRequest, cycle_pk: int, objective_pk: int) -> HttpResponse:
    """The objectives aligned to one, in any team: the fragment an objective's toggle
    loads, or without htmx a page with the objective, its line up to the top and its
    aligned objectives."""
    if request.htmx:
        scope = _fragment(request, cycle_pk)
        context = {"cycle": scope.cycle}
    else:
        context, scope = _page(request, cycle_pk, "tree")
    level = reads.objective_level(scope, objective_pk)
    if level is None:
        raise Http404("No such objective.")
    context["objective_level"] = level
    if request.htmx:
        return render(request, TEMPLATE + "#objective-level", context)
    level.parent.chain = reads.chains(scope, [level.parent.objective])[objective_pk]
    return render(request, TEMPLATE, context)


@login_required
def gaps(request: HttpRequest, cycle_pk: int) -> HttpResponse:
    """Where the cascade has holes: unaligned objectives, top objectives and key results
    nothing feeds, dependencies at risk and requests left waiting; for a team and the
    teams below it with ``?team=``."""
    context, scope = _page(request, cycle_pk, "gaps")
    org, filters = context["org"], context["filters"]
    top = filters.team or org.company
    if top is not None:
        team_ids = org.subtree(filters.team) if filters.team else None
        context["gaps"] = reads.gaps(scope, top=top, team_ids=team_ids, now=timezone.now())
    return render(request, "alignment/gaps.html", context)


@login_required
def team_suggestions(request: HttpRequest) -> HttpResponse:
    """The team filter's suggestions as one types: live teams whose name holds the
    text, each with the team above it (one query)."""
    text = request.GET.get("team", "").strip()
    teams = (
        Team.objects.filter(archived_at__isnull=True, name__icontains=text)
        .select_related("parent")
        .order_by("name", "pk")[:TEAMS_SUGGESTED]
        if text
        else Team.objects.none()
    )
    return render(request, "alignment/_team_suggestions.html", {"teams": teams})

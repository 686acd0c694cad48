"""The site's routes, read from the URL configuration, for tests that request every one:
which row each route parameter names, how to fill a route into a path, and which HTTP
methods a route's view accepts at all.

A route whose parameter names a row nobody told this module about fails the test that
fills it, saying which: a new route is requested by those tests on its own, or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")
# The first path segment says which row a route's ``pk`` names.
PK_OF = {
    "cycles": "cycle",
    "objectives": "objective",
    "key-results": "key_result",
    "check-in": "key_result",  # check-in/key-results/<pk>/: a key result's row
    "initiatives": "initiative",
    "kpis": "kpi",
    "check-ins": "checkin",
    "dependencies": "dependency",
    "one-to-ones": "one_on_one",
    "teams": "team",
    "people": "person",
}
# Parameters other than ``pk`` say themselves which row they name.
KIND_OF = {
    "cycle_pk": "cycle",
    "team_pk": "team",
    "objective_pk": "objective",
    "item_pk": "action_item",
    "kpi_id": "kpi",
    "slug": "team",
    "username": "person",
    "key": "api_token",
}
# Parameters that name a representation, not a row.
NOT_ROWS = frozenset({"format", "fmt"})
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _walk(patterns, prefix: str, namespace: str) -> Iterator[tuple[str, URLPattern, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = ":".join(filter(None, [namespace, pattern.name]))
            yield prefix + str(pattern.pattern), pattern, name


def route_patterns() -> list[tuple[str, URLPattern]]:
    """Every route (its full pattern text) with the pattern that ends it."""
    return [
        (route, pattern) for route, pattern, _name in _walk(get_resolver().url_patterns, "", "")
    ]


def url_names() -> dict[str, str]:
    """Every route's name with its namespace (``goals:objective-edit``)."""
    return {route: name for route, _pattern, name in _walk(get_resolver().url_patterns, "", "")}


def routes() -> Iterator[str]:
    for route, _pattern in route_patterns():
        yield route


def admin_urls() -> list[str]:
    """The admin's index and, for every registered model, its list, its add form and the
    change, history and delete pages of its first row."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        name = f"admin:{meta.app_label}_{meta.model_name}"
        urls += [reverse(f"{name}_changelist"), reverse(f"{name}_add")]
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            for view in ("change", "history", "delete"):
                urls.append(reverse(f"{name}_{view}", args=[row.pk]))
    return urls


def is_api(route: str) -> bool:
    return route.startswith("api/")


def first_segment(route: str) -> str:
    """``objectives`` for ``objectives/<int:pk>/edit/`` and for the API's
    ``api/v1/^objectives/(?P<pk>\\d+)/$``."""
    first = route.split("/")[2] if is_api(route) else route.split("/")[0]
    return first.lstrip("^").split("\\")[0]


def parameters(route: str) -> list[str]:
    return [match.group(1) or match.group(2) for match in PARAMETER.finditer(route)]


def kind_of(route: str, name: str) -> str | None:
    """The kind of row the parameter ``name`` of ``route`` names (``objective``…), or
    None when nobody told this module."""
    if name == "pk":
        return PK_OF.get(first_segment(route))
    return KIND_OF.get(name)


def kinds(route: str) -> dict[str, str]:
    """The kind of row each parameter of ``route`` names (formats left out); fails the
    test for a parameter nobody named."""
    found = {}
    for name in parameters(route):
        if name in NOT_ROWS:
            continue
        kind = kind_of(route, name)
        if kind is None:
            pytest.fail(f"{route}: which row does <{name}> name? Add it to PK_OF or KIND_OF.")
        found[name] = kind
    return found


def value(route: str, name: str, rows: dict) -> object:
    """What fills the parameter ``name`` of ``route``: the row of its kind in ``rows``
    (``{"objective": objective, …}``), as the route names it (id, slug, username, token
    key)."""
    if name == "format":
        return "json"
    if name == "fmt":
        return "csv"
    kind = kinds(route)[name]
    if kind not in rows:
        pytest.fail(f"{route}: no {kind} row to name in <{name}>; add one to the test's rows.")
    row = rows[kind]
    if name == "slug":
        return row.slug
    if kind == "person" and not is_api(route):
        return row.username
    if kind == "api_token":
        return row.token_key
    return row.pk


def fill(route: str, value_of: Callable[[str], object]) -> str:
    """The path of ``route`` with each parameter replaced by ``value_of(name)``."""
    path = route.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    for name in parameters(route):
        text = str(value_of(name))
        pattern = rf"<(?:\w+:)?{name}>|\(\?P<{name}>[^)]*\)(\+)?"
        path = re.sub(pattern, lambda _match, text=text: text, path, count=1)
    return "/" + path.replace("\\", "")


def path_of(route: str, rows: dict) -> str:
    """The path of ``route`` naming the rows of ``rows`` (see ``value``)."""
    return fill(route, lambda name: value(route, name, rows))


def allowed_methods(pattern: URLPattern) -> frozenset[str]:
    """The methods of ``METHODS`` the view of ``pattern`` accepts at all, read from the
    view itself, not from how it answers: a DRF view set's action map or an API view's
    handlers, a class-based view's handlers, or the lists of ``require_http_methods``
    (``require_POST``…) anywhere in a function view's chain of decorators."""
    view = pattern.callback
    if getattr(view, "actions", None):  # a DRF view set, bound to its routes' actions
        return frozenset(method.upper() for method in view.actions) & frozenset(METHODS)
    view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if view_class is not None:
        return frozenset(
            method
            for method in METHODS
            if method.lower() in view_class.http_method_names
            and hasattr(view_class, method.lower())
        )
    allowed = frozenset(METHODS)
    while view is not None:
        code = getattr(view, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = view.__closure__[code.co_freevars.index("request_method_list")]
            allowed &= frozenset(cell.cell_contents)
        view = getattr(view, "__wrapped__", None)
    return allowed

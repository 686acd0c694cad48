"""Every page under the enforced Content-Security-Policy, in a real browser: an admin
(who may open everything, the admin included) walks the demo organisation link by
link, and Chromium must report no refused script, style, image or connection.

One page per route is enough (the same template renders every row of a route), so the
walk visits each URL pattern once, breadth first from the home page, the admin and the
API docs."""

from __future__ import annotations

from collections import deque
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve
from playwright.sync_api import Error as PlaywrightError

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "waymark-demo"
STARTS = ["/", "/admin/", "/api/docs/"]
# Leaving (sign out) or downloading (exports) is not a page to look at.
SKIPPED = ("logout", "export", "download", "template")
MAX_PAGES = 150


def _route(path: str) -> str | None:
    """The URL pattern a path resolves to (None outside the site)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.route


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    paths = []
    for href in hrefs:
        url = urlsplit(href)
        if f"{url.scheme}://{url.netloc}" == base and url.path and not url.fragment:
            paths.append(url.path + (f"?{url.query}" if url.query else ""))
    return paths


def test_no_page_breaks_the_content_security_policy(live_server, page):
    call_command("seed_demo", public_passwords=True, verbosity=0)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    queue, seen_routes, visited = deque(STARTS), set(), []
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft()
        route = _route(urlsplit(path).path)
        if route is None or route in seen_routes or any(word in path for word in SKIPPED):
            continue
        seen_routes.add(route)
        try:
            response = page.goto(f"{live_server.url}{path}")
        except PlaywrightError as error:  # a file to download (the schema), not a page
            assert "Download is starting" in str(error), error
            continue
        page.mouse.wheel(0, 20_000)  # sections that load when scrolled to
        page.wait_for_timeout(50)  # then until htmx has no request in flight
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        visited.append((path, response.status if response else None))
        queue.extend(_links(page, live_server.url))

    print(f"{len(visited)} pages, one per route")
    assert len(visited) > 60, visited  # the walk reached the site, not just a few pages
    assert not [item for item in visited if item[1] and item[1] >= 500], visited
    assert not refused, "\n".join(refused)

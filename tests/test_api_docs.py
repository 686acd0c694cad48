"""The API's documentation: the OpenAPI schema validates, and the interactive docs work
offline (every file they load is served by Waymark itself, no CDN)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

DOCS = "/api/docs/"


class AssetLinks(HTMLParser):
    """Every ``src`` and ``href`` of a page, and the scripts written inline."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        self.urls += [attrs[name] for name in ("src", "href") if attrs.get(name)]
        self._in_script = tag == "script" and not attrs.get("src")

    def handle_endtag(self, tag) -> None:
        self._in_script = False

    def handle_data(self, data) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def test_schema_validates_without_warnings(tmp_path):
    # Raises (failing the test) on any warning or error of the schema generation.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "api.yaml")
    text = (tmp_path / "api.yaml").read_text()
    assert "/api/v1/check-ins/" in text
    assert "webhook_url" not in text  # never part of the API


def test_schema_is_served(db, client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Waymark API"
    assert {"/api/v1/teams/", "/api/v1/people/", "/api/v1/check-ins/"} <= set(schema["paths"])


def test_docs_load_only_local_files(db, client):
    response = client.get(DOCS)
    assert response.status_code == 200
    page = AssetLinks()
    page.feed(response.content.decode())
    assert page.urls, "the page loads Swagger UI's files"
    assert page.inline_scripts == 0  # its start-up script is a file of its own
    for url in page.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is not served by Waymark"
        if parts.path.startswith(settings.STATIC_URL):
            name = parts.path.removeprefix(settings.STATIC_URL)
            assert finders.find(name), f"{name} is not among the static files"
        else:
            assert client.get(url).status_code == 200, url


def test_docs_script_calls_nothing_outside(db, client):
    response = client.get(DOCS, {"script": ""})
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    script = response.content.decode()
    assert "/api/schema/" in script
    assert not re.search(r"https?://", script)
    assert not re.search(r"[\"'`]//", script)  # nor a protocol-relative address

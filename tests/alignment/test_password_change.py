"""Changing one's own password: the page, its rules, the sessions it ends, the guesses it
counts, and who is offered it when single sign-on is the way in.

Nobody signs in here with ``client.login`` (django-axes wants a request): the ``login``
fixture forces a session, and whether a password works is asked of the sign-in page."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD

PAGE = reverse("alignment:password-change")
NEW_PASSWORD = "ladder otter violet"
HOME = reverse("goals:home")
SSO_BACKEND = "okr_site.sso.OIDCBackend"


@pytest.fixture
def sso_only(settings):
    """``OIDC_ONLY=true``, as settings.py makes of it: password sign-in for superusers."""
    settings.OIDC_ENABLED = True
    settings.OIDC_ONLY = True
    settings.AUTHENTICATION_BACKENDS = [
        *(
            "okr_site.sso.SuperuserPasswordBackend"
            if backend.endswith(".ModelBackend")
            else backend
            for backend in settings.AUTHENTICATION_BACKENDS
        ),
        SSO_BACKEND,
    ]
    return settings


def signs_in(user, password: str) -> bool:
    """Whether ``password`` signs ``user`` in through the sign-in page."""
    response = Client().post(reverse("login"), {"username": user.username, "password": password})
    return response.status_code == 302


def change(client, *, old: str = TEST_PASSWORD, new: str = NEW_PASSWORD, again: str | None = None):
    return client.post(
        PAGE,
        {
            "old_password": old,
            "new_password1": new,
            "new_password2": new if again is None else again,
        },
    )


def field_errors(response, name: str) -> str:
    """The error list shown beside the field ``name`` (empty when there is none)."""
    page = response.content.decode()
    match = re.search(
        rf'<div class="field field-{name} has-error">.*?'
        rf'<ul class="errorlist" id="id_{name}_error">(.*?)</ul>.*?</div>',
        page,
        re.DOTALL,
    )
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def test_anonymous_is_sent_to_sign_in(db, client):
    for response in (client.get(PAGE), change(client)):
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_the_page_asks_for_the_current_password_and_the_new_one_twice(org, login):
    response = login(org.owner).get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert '<label for="id_old_password">Current password:</label>' in page
    assert '<label for="id_new_password1">New password:</label>' in page
    assert '<label for="id_new_password2">New password again:</label>' in page
    assert re.search(r'<input[^>]*autocomplete="current-password"[^>]*id="id_old_password"', page)
    assert re.search(r'<input[^>]*autocomplete="new-password"[^>]*id="id_new_password1"', page)
    assert re.search(r'<input[^>]*autocomplete="new-password"[^>]*id="id_new_password2"', page)
    assert "at least 12 characters" in page  # the rules, beside the new password


def test_a_change_keeps_this_session_and_ends_the_others(org, login):
    elsewhere = Client()
    elsewhere.force_login(org.owner)
    assert elsewhere.get(HOME).status_code == 200
    client = login(org.owner)

    response = change(client)

    assert response.status_code == 302
    assert response.url == PAGE
    shown = client.get(response.url)
    assert shown.status_code == 200  # still signed in here
    assert "Your password has been changed" in shown.content.decode()
    assert client.get(HOME).status_code == 200
    signed_out = elsewhere.get(HOME)
    assert signed_out.status_code == 302
    assert signed_out.url.startswith(reverse("login"))
    assert signs_in(org.owner, NEW_PASSWORD)
    assert not signs_in(org.owner, TEST_PASSWORD)
    assert signs_in(org.teammate, TEST_PASSWORD)  # only one's own password changes


def test_a_wrong_current_password_is_shown_beside_it_and_changes_nothing(org, login):
    client = login(org.owner)
    response = change(client, old="not my password at all")
    assert response.status_code == 200
    assert "This is not your current password" in field_errors(response, "old_password")
    assert client.get(HOME).status_code == 200  # a wrong guess does not sign one out
    assert signs_in(org.owner, TEST_PASSWORD)
    assert not signs_in(org.owner, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short one", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
        ("owner@example.org!", "The password is too similar to the email address."),
    ],
    ids=["too-short", "common", "like-the-email"],
)
def test_a_new_password_against_the_rules_is_refused_beside_it(org, login, new, message):
    response = change(login(org.owner), new=new)
    assert response.status_code == 200
    assert message in field_errors(response, "new_password1")
    assert not field_errors(response, "new_password2")
    assert signs_in(org.owner, TEST_PASSWORD)
    assert not signs_in(org.owner, new)


def test_a_new_password_like_ones_name_is_refused(org, login):
    org.owner.first_name = "Bartholomew"
    org.owner.last_name = "Featherstonehaugh"
    org.owner.save()
    response = change(login(org.owner), new="Featherstonehaugh")
    assert "too similar to the last name" in field_errors(response, "new_password1")
    assert signs_in(org.owner, TEST_PASSWORD)


def test_a_confirmation_that_differs_is_refused_beside_it(org, login):
    response = change(login(org.owner), again="ladder otter violent")
    assert response.status_code == 200
    assert "The two password fields didn’t match." in field_errors(response, "new_password2")
    assert signs_in(org.owner, TEST_PASSWORD)


def test_the_page_never_shows_a_password_it_was_sent(org, login):
    response = change(login(org.owner), old="wrong guess of mine", new="short pass")
    page = response.content.decode()
    assert "wrong guess of mine" not in page
    assert "short pass" not in page


def test_wrong_current_passwords_are_counted_like_wrong_sign_ins(org, login):
    """A stolen session cannot try passwords here without limit: the fifth wrong one
    locks the person's username from that address, for this page and for sign-in."""
    client = login(org.owner)
    for _ in range(4):
        assert change(client, old="wrong guess here").status_code == 200
    locked = change(client, old="wrong guess here")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "The password of this username was wrong too many times" in page
    assert "Back to my week" in page  # still signed in: not sent to the sign-in page
    assert change(client).status_code == 429  # the right one too, until the lock ends
    assert not signs_in(org.owner, TEST_PASSWORD)  # same address
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    signed_in = elsewhere.post(reverse("login"), {"username": "owner", "password": TEST_PASSWORD})
    assert signed_in.status_code == 302  # from another address, the person still gets in


# --- The link, and who is offered the page --------------------------------------------------


def test_the_header_links_to_the_page_after_api_tokens(org, login):
    page = login(org.owner).get(HOME).content.decode()
    tokens = page.index(f'href="{reverse("alignment:api-tokens")}"')
    link = page.index(f'href="{PAGE}"')
    assert tokens < link < page.index("Sign out")
    assert re.search(rf'<a href="{PAGE}" >Password</a>', page)  # not the current page


def test_on_the_page_its_link_alone_is_current(org, login):
    page = login(org.owner).get(PAGE).content.decode()
    assert re.search(rf'<a href="{PAGE}" aria-current="page">Password</a>', page)
    assert page.count('aria-current="page"') == 1  # not "Alignment" too


def test_sso_only_hides_the_page_and_its_link_from_everyone_but_superusers(org, client, sso_only):
    client.force_login(org.owner, backend=SSO_BACKEND)  # the way in for all but superusers
    # 404, not 403: for them there is no page at all, as there is no link.
    assert client.get(PAGE).status_code == 404
    assert change(client).status_code == 404
    home = client.get(HOME)
    assert home.status_code == 200  # signed in, just not offered a password
    assert f'href="{PAGE}"' not in home.content.decode()
    org.owner.refresh_from_db()
    assert org.owner.check_password(TEST_PASSWORD)


def test_sso_only_still_lets_superusers_change_theirs(org, login, sso_only):
    client = login(org.admin)
    assert f'href="{PAGE}"' in client.get(HOME).content.decode()
    assert change(client).status_code == 302
    assert signs_in(org.admin, NEW_PASSWORD)


def test_a_person_without_a_password_is_not_offered_one(org, login):
    """Someone single sign-on created has no password: nothing to change here."""
    org.owner.set_unusable_password()
    org.owner.save()
    client = login(org.owner)
    assert client.get(PAGE).status_code == 404
    assert change(client).status_code == 404
    assert f'href="{PAGE}"' not in client.get(HOME).content.decode()

"""Pages opened from a reminder without a password: the signed check-in link and the
reminder preferences (by link and signed in)."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from alignment.models import User
from checkins import links
from checkins.models import CheckIn, WeeklyUpdate
from goals.models import Cycle, KeyResult
from tests import factories


@pytest.fixture
def objective(org):
    return factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Riders love onboarding"
    )


@pytest.fixture
def krs(objective):
    return [
        factories.KeyResultFactory(objective=objective, title=f"Metric {n} from 0 to 100")
        for n in range(3)
    ]


# The form a link's page holds for its script to post the token to.
OPENER = re.compile(r'action="([^"]+)" id="signed-link-open"')


def open_link(client, url: str):
    """Opens a link from an e-mail as a browser does: the page, without the token after
    "#", then the token posted to the address of the page's opener form, as its script
    does. Returns the answer to that post."""
    parts = urlsplit(url)
    page = client.get(parts.path).content.decode()
    return client.post(OPENER.search(page)[1], {"token": parts.fragment})


def opened(client, url: str) -> str:
    """The path of the page ``url`` opens in ``client``."""
    response = open_link(client, url)
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


def link_for(client, user, key_results, period="2026-W48") -> str:
    """A reminder's check-in link for ``user``, opened in ``client``: the page's path."""
    url = links.checkin_url(
        user_id=user.pk, period=period, key_result_ids=[kr.pk for kr in key_results]
    )
    return opened(client, url)


def checkin_link_with(token: str) -> str:
    return links.absolute(reverse("checkins:link")) + "#" + token


def row(kr, value="", confidence="", note="", blocker="") -> dict:
    prefix = f"kr-{kr.pk}"
    return {
        f"{prefix}-value": value,
        f"{prefix}-confidence": confidence,
        f"{prefix}-note": note,
        f"{prefix}-blocker": blocker,
    }


def week(**texts) -> dict:
    data = {"week-what_moved": "", "week-whats_blocked": "", "week-next_focus": ""}
    return {**data, **{f"week-{name}": text for name, text in texts.items()}}


def tamper(token: str) -> str:
    """The token with one character of its signature changed."""
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


class TestCheckInLink:
    def test_shows_exactly_the_granted_key_results(self, client, org, objective, krs):
        not_granted = factories.KeyResultFactory(objective=objective, title="Not in the e-mail")

        response = client.get(link_for(client, org.owner, krs[:2]))

        html = response.content.decode()
        assert response.status_code == 200
        assert krs[0].title in html and krs[1].title in html
        assert krs[2].title not in html
        assert not_granted.title not in html
        assert f'name="kr-{krs[2].pk}-value"' not in html
        assert "Sign in to see everything" in html
        assert "Sign out" not in html  # no navigation pretending the visitor is signed in

    def test_checks_in_as_the_person_and_redirects_with_a_message(
        self, client, org, krs, django_capture_on_commit_callbacks
    ):
        url = link_for(client, org.owner, krs)
        data = {
            **row(krs[0], "40", "8", note="Better copy"),
            **row(krs[1], "25", "6", blocker="Waiting on legal"),
            **row(krs[2]),
            **week(what_moved="Copy shipped"),
        }

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data)

        assert response.status_code == 302
        assert response["Location"] == url
        first = KeyResult.objects.get(pk=krs[0].pk)
        assert first.current_value == Decimal(40)
        assert first.progress == pytest.approx(0.4)
        assert first.last_checkin_at is not None
        checkins = CheckIn.objects.order_by("key_result_id")
        assert [(c.key_result_id, c.author_id) for c in checkins] == [
            (krs[0].pk, org.owner.pk),
            (krs[1].pk, org.owner.pk),
        ]
        assert checkins[1].blocker == "Waiting on legal"
        assert WeeklyUpdate.objects.get(author=org.owner).what_moved == "Copy shipped"
        page = client.get(url).content.decode()
        assert "Checked in 2 key results." in page

    def test_keeps_the_weeks_note_written_on_the_weekly_page(self, client, org, krs):
        factories.WeeklyUpdateFactory(author=org.owner, what_moved="Written earlier")
        url = link_for(client, org.owner, krs)

        assert "Written earlier" in client.get(url).content.decode()
        client.post(url, {**row(krs[0], "10", "7"), **week(what_moved="Written earlier")})

        assert WeeklyUpdate.objects.get(author=org.owner).what_moved == "Written earlier"

    def test_does_not_sign_the_visitor_in(self, client, org, krs):
        url = link_for(client, org.owner, krs)
        client.post(url, {**row(krs[0], "10", "7"), **week()})

        assert "_auth_user_id" not in client.session
        response = client.get(reverse("goals:home"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        assert client.get(reverse("checkins:weekly")).status_code == 302

    def test_fields_of_key_results_outside_the_grant_are_ignored(self, client, org, objective, krs):
        other = factories.KeyResultFactory(objective=objective, title="Not granted")
        teammates = factories.KeyResultFactory(objective=objective, owner=org.teammate)

        client.post(
            link_for(client, org.owner, krs[:1]),
            {**row(krs[0], "10", "7"), **row(other, "90", "9"), **row(teammates, "90", "9")},
        )

        assert list(CheckIn.objects.values_list("key_result_id", flat=True)) == [krs[0].pk]

    def test_a_key_result_handed_to_someone_else_is_dropped(self, client, org, krs):
        KeyResult.objects.filter(pk=krs[1].pk).update(owner=org.teammate)
        url = link_for(client, org.owner, krs)

        html = client.get(url).content.decode()
        assert krs[0].title in html
        assert krs[1].title not in html
        client.post(url, {**row(krs[0], "10", "7"), **row(krs[1], "50", "7"), **week()})

        assert list(CheckIn.objects.values_list("key_result_id", flat=True)) == [krs[0].pk]

    def test_says_so_kindly_when_nothing_is_left(self, client, org, krs):
        KeyResult.objects.filter(pk__in=[kr.pk for kr in krs]).update(owner=org.teammate)

        url = link_for(client, org.owner, krs)
        response = client.get(url)

        assert response.status_code == 200
        assert "Nothing left to check in from this reminder" in response.content.decode()
        assert client.post(url, row(krs[0], "1", "5")).status_code == 200
        assert not CheckIn.objects.exists()

    def test_archived_key_results_are_dropped(self, client, org, krs):
        KeyResult.objects.filter(pk=krs[0].pk).update(archived_at=timezone.now())

        html = client.get(link_for(client, org.owner, krs)).content.decode()

        assert krs[0].title not in html
        assert krs[1].title in html

    def test_a_closed_cycle_is_refused_with_its_reason(self, client, org, krs):
        Cycle.objects.filter(pk=org.cycle.pk).update(
            state=Cycle.State.CLOSED, closed_at=timezone.now()
        )
        url = link_for(client, org.owner, krs)

        html = client.get(url).content.decode()
        assert "This cycle is closed: its goals are read-only." in html
        assert f'name="kr-{krs[0].pk}-value"' not in html
        client.post(url, {**row(krs[0], "10", "7"), **week()})

        assert not CheckIn.objects.exists()

    def test_a_deactivated_person_gets_the_invalid_link_page(self, client, org, krs):
        User.objects.filter(pk=org.owner.pk).update(is_active=False)

        response = client.get(link_for(client, org.owner, krs))

        assert response.status_code == 403
        assert "This link doesn’t work" in response.content.decode()

    @pytest.mark.parametrize(
        ("value", "confidence", "message"),
        [
            ("abc", "7", "Enter a number, like 42 or 3.5."),
            ("NaN", "7", "Enter a number, like 42 or 3.5."),
            ("1" * 20, "7", "That number is too large"),
            ("10", "-3", "Confidence"),
            ("10", "11", "Confidence"),
            ("10", "", "How confident are you (1–10)?"),
        ],
    )
    def test_bad_input_is_shown_beside_the_field_and_nothing_is_saved(
        self, client, org, krs, value, confidence, message
    ):
        url = link_for(client, org.owner, krs)

        response = client.post(
            url, {**row(krs[0], "30", "8"), **row(krs[1], value, confidence), **week()}
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert "Nothing was saved" in html
        assert message in html
        assert 'value="30"' in html  # what was typed is kept
        assert not CheckIn.objects.exists()
        assert KeyResult.objects.get(pk=krs[0].pk).current_value == Decimal(0)

    def test_an_empty_submit_says_what_is_missing(self, client, org, krs):
        response = client.post(link_for(client, org.owner, krs), {**row(krs[0]), **week()})

        assert "Nothing to save" in response.content.decode()
        assert not CheckIn.objects.exists()

    def test_submitting_twice_records_two_check_ins(self, client, org, krs):
        url = link_for(client, org.owner, krs)
        for value in ("10", "20"):
            client.post(url, {**row(krs[0], value, "7"), **week()})

        assert CheckIn.objects.filter(key_result=krs[0]).count() == 2
        assert KeyResult.objects.get(pk=krs[0].pk).current_value == Decimal(20)

    def test_queries_do_not_grow_with_the_key_results(
        self, client, org, objective, django_assert_max_num_queries
    ):
        few = [factories.KeyResultFactory(objective=objective) for _ in range(2)]
        other = factories.ObjectiveFactory(cycle=org.cycle, team=org.product, owner=org.owner)
        many = few + [
            factories.KeyResultFactory(objective=objective if n % 2 else other) for n in range(18)
        ]
        counts = []
        for key_results in (few, many):
            url = link_for(client, org.owner, key_results)
            with django_assert_max_num_queries(8) as captured:
                response = client.get(url)
            assert response.status_code == 200
            counts.append(len(captured))

        assert counts[0] == counts[1], counts


class TestTokenStaysOutOfUrls:
    def test_the_e_mailed_link_carries_its_token_after_the_hash(self, org, krs):
        url = links.checkin_url(user_id=org.owner.pk, period="2026-W48", key_result_ids=[1])

        parts = urlsplit(url)
        assert (parts.path, parts.query) == (reverse("checkins:link"), "")
        assert links.read_checkin_token(parts.fragment).user_id == org.owner.pk
        preferences = urlsplit(links.preferences_url(user_id=org.owner.pk))
        assert preferences.path == reverse("checkins:preferences-link")
        assert links.read_preferences_token(preferences.fragment) == org.owner.pk

    def test_before_a_link_is_opened_the_page_only_opens_it(self, client, org, krs):
        response = client.get(reverse("checkins:link"))

        html = response.content.decode()
        assert response.status_code == 200
        assert "Opening the link from your e-mail" in html
        assert OPENER.search(html)[1] == reverse("checkins:link-open")
        assert "signed-link.js" in html
        assert f"{reverse('login')}?next={reverse('checkins:weekly')}" in html
        assert krs[0].title not in html

    def test_a_token_in_the_query_string_is_not_read(self, client, org, krs):
        token = links.checkin_token(
            user_id=org.owner.pk, period="2026-W48", key_result_ids=[krs[0].pk]
        )

        html = client.get(reverse("checkins:link"), {"token": token}).content.decode()
        client.post(reverse("checkins:link") + f"?token={token}", row(krs[0], "5", "7"))

        assert krs[0].title not in html
        assert not CheckIn.objects.exists()

    def test_opening_takes_a_post_only(self, client, org, krs):
        token = links.checkin_token(
            user_id=org.owner.pk, period="2026-W48", key_result_ids=[krs[0].pk]
        )

        response = client.get(reverse("checkins:link-open"), {"token": token})

        assert response.status_code == 405
        assert krs[0].title not in client.get(reverse("checkins:link")).content.decode()

    def test_a_newer_link_replaces_the_one_opened_before(self, client, org, krs):
        link_for(client, org.owner, krs[:1])

        html = client.get(link_for(client, org.owner, krs[1:2])).content.decode()

        assert krs[1].title in html
        assert krs[0].title not in html

    def test_a_bad_link_leaves_the_one_opened_before(self, client, org, krs):
        url = link_for(client, org.owner, krs[:1])
        token = links.checkin_token(user_id=org.owner.pk, period="2026-W48", key_result_ids=[1])

        assert open_link(client, checkin_link_with(tamper(token))).status_code == 403
        assert krs[0].title in client.get(url).content.decode()

    def test_signing_out_forgets_the_link(self, client, org, krs):
        url = link_for(client, org.owner, krs)

        client.post(reverse("logout"))

        assert krs[0].title not in client.get(url).content.decode()


class TestBadLinks:
    def test_a_tampered_token_is_refused_without_details(self, client, org, krs):
        token = links.checkin_token(user_id=org.owner.pk, period="2026-W48", key_result_ids=[1])

        response = open_link(client, checkin_link_with(tamper(token)))

        html = response.content.decode()
        assert response.status_code == 403
        assert "This link doesn’t work" in html
        assert "Signature" not in html and "signature" not in html
        assert reverse("login") in html

    def test_a_token_signed_for_something_else_is_refused(self, client, org, krs):
        # Someone who knows how preference links are made cannot turn one into a grant.
        forged = signing.dumps(
            {"u": org.outsider.pk, "p": "2026-W48", "k": [kr.pk for kr in krs]},
            salt=links.PREFERENCES_SALT,
            compress=True,
        )

        response = open_link(client, checkin_link_with(forged))
        client.post(reverse("checkins:link"), {**row(krs[0], "99", "9"), **week()})

        assert response.status_code == 403
        assert not CheckIn.objects.exists()

    def test_an_expired_link_is_gone_and_offers_to_sign_in(self, client, org, krs, monkeypatch):
        url = link_for(client, org.owner, krs)
        later = time.time() + dt.timedelta(days=8).total_seconds()
        monkeypatch.setattr(signing.time, "time", lambda: later)

        response = client.post(url, {**row(krs[0], "10", "7"), **week()})

        assert response.status_code == 410
        html = response.content.decode()
        assert "This link has expired" in html
        assert f"{reverse('login')}?next={reverse('checkins:weekly')}" in html
        assert not CheckIn.objects.exists()
        # Forgotten once refused: the page only offers to open a link again.
        assert "Opening the link from your e-mail" in client.get(url).content.decode()

    def test_opening_an_expired_link_is_refused(self, client, org, krs, monkeypatch):
        url = links.checkin_url(user_id=org.owner.pk, period="2026-W48", key_result_ids=[1])
        later = time.time() + dt.timedelta(days=8).total_seconds()
        monkeypatch.setattr(signing.time, "time", lambda: later)

        assert open_link(client, url).status_code == 410

    @pytest.mark.parametrize("token", ["not-a-token", "", "x" * 5000, "\u0000", "ü:ü"])
    def test_a_made_up_token_is_refused(self, client, db, token):
        response = open_link(client, checkin_link_with(token))

        assert response.status_code == 403


class TestPreferences:
    def test_the_link_changes_only_that_persons_reminders(self, client, org):
        url = opened(client, links.preferences_url(user_id=org.owner.pk))

        page = client.get(url).content.decode()
        assert "How should Waymark remind you?" in page
        assert "Sign in to see everything" in page
        response = client.post(url, {"nudge_channel": "paused"})

        assert response.status_code == 302
        assert response["Location"] == url
        assert User.objects.get(pk=org.owner.pk).nudge_channel == User.NudgeChannel.PAUSED
        assert User.objects.get(pk=org.teammate.pk).nudge_channel == User.NudgeChannel.EMAIL
        assert "Saved. Reminders: Paused" in client.get(url).content.decode()
        assert "_auth_user_id" not in client.session

    def test_a_tampered_preferences_link_is_refused(self, client, org):
        response = open_link(client, tamper(links.preferences_url(user_id=org.owner.pk)))
        client.post(reverse("checkins:preferences-link"), {"nudge_channel": "paused"})

        assert response.status_code == 403
        assert User.objects.get(pk=org.owner.pk).nudge_channel == User.NudgeChannel.EMAIL

    def test_signed_in_people_change_their_own(self, login, org):
        client = login(org.teammate)

        page = client.get(reverse("checkins:preferences")).content.decode()
        assert 'href="/settings/reminders/" aria-current="page"' in page
        response = client.post(reverse("checkins:preferences"), {"nudge_channel": "paused"})

        assert response.status_code == 302
        assert User.objects.get(pk=org.teammate.pk).nudge_channel == User.NudgeChannel.PAUSED

    def test_the_signed_in_page_needs_a_login(self, client, db):
        response = client.get(reverse("checkins:preferences"))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_chat_needs_a_team_with_a_chat_webhook(self, login, org):
        client = login(org.owner)

        response = client.post(reverse("checkins:preferences"), {"nudge_channel": "chat"})

        assert response.status_code == 200
        assert (
            "None of your teams has a chat channel in Waymark yet; reminders would come by e-mail."
            in response.content.decode()
        )
        assert User.objects.get(pk=org.owner.pk).nudge_channel == User.NudgeChannel.EMAIL

    def test_chat_is_accepted_when_a_team_of_theirs_has_one(self, login, org):
        org.product.webhook_url = "https://hooks.example.org/product"
        org.product.save(update_fields=["webhook_url"])

        login(org.owner).post(reverse("checkins:preferences"), {"nudge_channel": "chat"})

        assert User.objects.get(pk=org.owner.pk).nudge_channel == User.NudgeChannel.CHAT

    def test_an_unknown_choice_is_refused_beside_the_field(self, login, org):
        response = login(org.owner).post(reverse("checkins:preferences"), {"nudge_channel": "sms"})

        assert "Select a valid choice" in response.content.decode()
        assert User.objects.get(pk=org.owner.pk).nudge_channel == User.NudgeChannel.EMAIL

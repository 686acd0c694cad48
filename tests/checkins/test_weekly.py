"""The weekly check-in page, saving one row with htmx, a key result's check-in history,
and correcting one's own check-in the same day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from checkins.models import CheckIn, WeeklyUpdate
from checkins.services import checkin_record
from goals.models import Cycle, KeyResult
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}
WEEKLY = "/check-in/"


@pytest.fixture
def objective(org):
    return factories.ObjectiveFactory(
        cycle=org.cycle, team=org.product, owner=org.owner, title="Riders love onboarding"
    )


@pytest.fixture
def krs(org, objective):
    """Five key results the owner owns (one a milestone)."""
    rows = [
        factories.KeyResultFactory(objective=objective, title=f"Metric {n} from 0 to 100")
        for n in range(4)
    ]
    rows.append(
        factories.KeyResultFactory(
            objective=objective,
            title="Ship the new map",
            kind=KeyResult.Kind.MILESTONE,
            start_value=0,
            target_value=1,
        )
    )
    return rows


def row_data(kr, value="", confidence="", note="", blocker="") -> dict:
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


class TestWeeklyPage:
    def test_lists_exactly_my_active_key_results(self, org, login, krs, objective):
        factories.KeyResultFactory(objective=objective, owner=org.teammate, title="Not mine")
        factories.KeyResultFactory(
            objective=objective, title="Archived one", archived_at=timezone.now()
        )
        closed = factories.CycleFactory(name="2026 Q2", state=Cycle.State.CLOSED)
        old = factories.ObjectiveFactory(cycle=closed, team=org.product, owner=org.owner)
        factories.KeyResultFactory(objective=old, title="Last quarter's")
        rollup = factories.KeyResultFactory(
            objective=objective,
            title="Rolled up one",
            progress_source=KeyResult.ProgressSource.ROLLUP,
        )

        html = login(org.owner).get(WEEKLY).content.decode()

        for kr in krs:
            assert kr.title in html
            assert f'name="kr-{kr.pk}-value"' in html
        assert "Not mine" not in html
        assert "Archived one" not in html
        assert "Last quarter&#x27;s" not in html
        assert "Rolled up one" in html
        assert f'name="kr-{rollup.pk}-value"' not in html
        assert "nothing to enter" in html
        assert 'inputmode="decimal"' in html

    def test_ten_key_results_fit_one_page_in_few_queries(
        self, org, login, objective, django_assert_max_num_queries
    ):
        for n in range(10):
            factories.KeyResultFactory(objective=objective, title=f"KR {n}")
        client = login(org.owner)
        with django_assert_max_num_queries(8):
            response = client.get(WEEKLY)
        assert response.content.decode().count('type="submit">Check in<') == 1

    def test_anonymous_is_sent_to_sign_in(self, client, db):
        assert client.get(WEEKLY).status_code == 302


class TestWeeklySubmit:
    def test_five_rows_save_five_checkins_and_the_weekly_update(self, org, login, krs):
        data = week(what_moved="Onboarding shipped", next_focus="Map")
        for n, kr in enumerate(krs[:4]):
            data |= row_data(kr, value=str(10 * (n + 1)), confidence="7", note=f"note {n}")
        data |= row_data(krs[4], value="1", confidence="9", blocker="Waiting on design")

        response = login(org.owner).post(WEEKLY, data, follow=True)

        assert response.redirect_chain == [(WEEKLY, 302)]
        assert "Checked in 5 key results" in response.content.decode()
        update = WeeklyUpdate.objects.get(author=org.owner)
        assert update.week_start.weekday() == 0
        assert update.what_moved == "Onboarding shipped"
        assert CheckIn.objects.filter(weekly_update=update).count() == 5
        krs[1].refresh_from_db()
        assert krs[1].current_value == 20
        assert krs[1].progress == pytest.approx(0.2)
        assert 'aria-valuenow="20"' in response.content.decode()  # the bar moved
        krs[4].refresh_from_db()
        assert krs[4].progress == 1.0

    def test_empty_rows_are_skipped_and_a_second_submit_updates_the_week(self, org, login, krs):
        client = login(org.owner)
        client.post(WEEKLY, week(what_moved="first") | row_data(krs[0], "5", "6"))
        client.post(WEEKLY, week(what_moved="second") | row_data(krs[1], "6", "6"))
        assert CheckIn.objects.count() == 2
        assert WeeklyUpdate.objects.get().what_moved == "second"

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("value", "abc", "Enter a number"),
            ("value", "NaN", "Enter a number"),
            ("value", "inf", "Enter a number"),
            ("value", "1e20", "too large"),
            ("value", "123456789012345", "too large"),
            ("confidence", "0", "Confidence is a whole number from 1 to 10."),
            ("confidence", "11", "Confidence is a whole number from 1 to 10."),
            ("milestone", "2", "Choose done or not done."),
        ],
    )
    def test_a_bad_row_saves_nothing_and_keeps_what_was_typed(
        self, org, login, krs, field, value, message
    ):
        data = week(what_moved="Kept text") | row_data(krs[0], "42", "8", note="kept note")
        if field == "value":
            data |= row_data(krs[1], value, "7")
        elif field == "confidence":
            data |= row_data(krs[1], "30", value)
        else:
            data |= row_data(krs[4], value, "7")

        response = login(org.owner).post(WEEKLY, data)

        html = response.content.decode()
        assert response.status_code == 200
        assert "Nothing was saved" in html
        assert message in html
        bad = krs[4] if field == "milestone" else krs[1]
        assert (
            f'id="id_kr-{bad.pk}-{"value" if field != "confidence" else "confidence"}_error"'
            in html
        )
        assert 'value="42"' in html and 'value="kept note"' in html and "Kept text" in html
        assert CheckIn.objects.count() == 0
        assert WeeklyUpdate.objects.count() == 0
        krs[0].refresh_from_db()
        assert krs[0].current_value == 0

    @pytest.mark.parametrize(
        ("value", "confidence", "message"),
        [("42", "", "How confident are you"), ("", "7", "Enter the new value too")],
    )
    def test_value_and_confidence_go_together(self, org, login, krs, value, confidence, message):
        response = login(org.owner).post(WEEKLY, week() | row_data(krs[0], value, confidence))
        assert message in response.content.decode()
        assert CheckIn.objects.count() == 0

    def test_outsider_cannot_check_in_on_someone_elses_key_result(self, org, login, krs):
        client = login(org.outsider)
        response = client.post(WEEKLY, week() | row_data(krs[0], "50", "7"))
        assert response.status_code == 200  # not their row: ignored
        assert (
            client.post(
                reverse("checkins:row", args=[krs[0].pk]), row_data(krs[0], "50", "7"), **HTMX
            ).status_code
            == 403
        )
        assert CheckIn.objects.count() == 0

    def test_outsider_gets_404_on_a_private_key_result(self, org, login, objective, krs):
        objective.visibility = "private"
        objective.save()
        url = reverse("checkins:row", args=[krs[0].pk])
        response = login(org.outsider).post(url, row_data(krs[0], "50", "7"), **HTMX)
        assert response.status_code == 404
        assert CheckIn.objects.count() == 0


class TestRowSave:
    def test_htmx_saves_one_row_and_returns_it_with_new_progress(self, org, login, krs):
        url = reverse("checkins:row", args=[krs[0].pk])
        response = login(org.owner).post(url, row_data(krs[0], "25", "8", note="hi"), **HTMX)

        html = response.content.decode()
        assert response.status_code == 200
        assert f'id="checkin-row-{krs[0].pk}"' in html
        assert "<html" not in html
        assert 'aria-valuenow="25"' in html
        assert "Saved: 25" in html
        checkin = CheckIn.objects.get()
        assert (checkin.value, checkin.confidence, checkin.note) == (25, 8, "hi")
        assert checkin.weekly_update is None

    def test_htmx_row_with_errors_comes_back_with_them(self, org, login, krs):
        url = reverse("checkins:row", args=[krs[0].pk])
        response = login(org.owner).post(url, row_data(krs[0], "abc", "8"), **HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert "Enter a number" in html and 'value="abc"' in html
        assert CheckIn.objects.count() == 0

    def test_without_htmx_it_redirects_to_the_page(self, org, login, krs):
        url = reverse("checkins:row", args=[krs[0].pk])
        response = login(org.owner).post(url, row_data(krs[0], "25", "8"))
        assert response.status_code == 302 and response.url == WEEKLY
        assert CheckIn.objects.count() == 1


class TestHistory:
    def test_shows_checkins_newest_first_with_charts(self, org, login, krs):
        kr = krs[0]
        checkin_record(key_result=kr, author=org.owner, value=Decimal(10), confidence=5, note="old")
        checkin_record(
            key_result=kr, author=org.owner, value=Decimal(30), confidence=8, blocker="Vendor"
        )
        html = login(org.teammate).get(reverse("checkins:history", args=[kr.pk])).content.decode()
        assert html.index("8/10") < html.index("5/10")
        assert "Vendor" in html and "old" in html and str(org.owner) in html
        assert "progress-chart" in html and "Confidence trend" in html

    def test_outsider_gets_404_on_a_private_key_result(self, org, login, objective, krs):
        objective.visibility = "private"
        objective.save()
        url = reverse("checkins:history", args=[krs[0].pk])
        assert login(org.outsider).get(url).status_code == 404

    @pytest.mark.parametrize("count", [1, 20])
    def test_query_count_is_fixed(self, org, login, krs, count, django_assert_num_queries):
        kr = krs[0]
        start = timezone.now() - dt.timedelta(days=40)
        for n in range(count):
            factories.CheckInFactory(
                key_result=kr, value=n, created_at=start + dt.timedelta(days=2 * n)
            )
        client = login(org.teammate)
        url = reverse("checkins:history", args=[kr.pk])
        # session, user, the key result (the reader's team access a subquery of it), its
        # check-ins with their authors
        with django_assert_num_queries(4):
            assert client.get(url).status_code == 200


class TestCorrections:
    def test_author_corrects_the_same_day_and_the_original_is_kept(self, org, login, krs):
        kr = krs[0]
        original = checkin_record(key_result=kr, author=org.owner, value=Decimal(50), confidence=7)
        client = login(org.owner)
        url = reverse("checkins:correct", args=[original.pk])
        assert client.get(url).status_code == 200

        response = client.post(
            url,
            {"correction-value": "5", "correction-confidence": "7", "correction-note": "typo"},
        )

        assert response.status_code == 302
        correction = CheckIn.objects.get(corrects=original)
        assert correction.value == 5
        assert CheckIn.objects.filter(pk=original.pk).exists()
        kr.refresh_from_db()
        assert kr.current_value == 5
        html = client.get(reverse("checkins:history", args=[kr.pk])).content.decode()
        assert "Replaces <del>50" in html and "Corrected" in html

    def test_a_later_checkin_stays_current_after_correcting_an_earlier_one(self, org, login, krs):
        kr = krs[0]
        original = checkin_record(key_result=kr, author=org.owner, value=Decimal(50), confidence=7)
        checkin_record(key_result=kr, author=org.owner, value=Decimal(60), confidence=8)
        login(org.owner).post(
            reverse("checkins:correct", args=[original.pk]),
            {"correction-value": "55", "correction-confidence": "7"},
        )
        kr.refresh_from_db()
        assert (kr.current_value, kr.confidence) == (60, 8)

    def test_next_day_is_refused(self, org, login, krs):
        original = factories.CheckInFactory(
            key_result=krs[0], created_at=timezone.now() - dt.timedelta(days=1)
        )
        response = login(org.owner).post(
            reverse("checkins:correct", args=[original.pk]),
            {"correction-value": "5", "correction-confidence": "7"},
        )
        assert response.status_code == 403
        assert "only on the day" in response.content.decode()
        assert CheckIn.objects.count() == 1

    def test_someone_else_is_refused(self, org, login, krs):
        original = checkin_record(
            key_result=krs[0], author=org.owner, value=Decimal(50), confidence=7
        )
        response = login(org.lead).post(
            reverse("checkins:correct", args=[original.pk]),
            {"correction-value": "5", "correction-confidence": "7"},
        )
        assert response.status_code == 403
        assert "Only the person who checked in" in response.content.decode()
        assert CheckIn.objects.count() == 1

    def test_a_bad_correction_shows_the_message(self, org, login, krs):
        original = checkin_record(
            key_result=krs[0], author=org.owner, value=Decimal(50), confidence=7
        )
        response = login(org.owner).post(
            reverse("checkins:correct", args=[original.pk]),
            {"correction-value": "NaN", "correction-confidence": "7"},
        )
        assert response.status_code == 200
        assert "Enter a number" in response.content.decode()
        assert CheckIn.objects.count() == 1

from django.urls import path

from checkins.views import links, review, weekly

app_name = "checkins"

urlpatterns = [
    # My weekly check-in: every key result I own on one page, one submit.
    path("check-in/", weekly.weekly_checkin, name="weekly"),
    path("check-in/key-results/<int:pk>/", weekly.checkin_row, name="row"),
    # A key result's check-in history, and correcting one's own check-in the same day.
    path("key-results/<int:pk>/check-ins/", weekly.history, name="history"),
    path("check-ins/<int:pk>/correct/", weekly.correct, name="correct"),
    # From a reminder e-mail: a signed link, no password; and one's reminder settings.
    path("check-in/link/", links.checkin_link, name="link"),
    path("check-in/link/open/", links.open_checkin_link, name="link-open"),
    path("settings/reminders/", links.preferences, name="preferences"),
    path("settings/reminders/link/", links.preferences_link, name="preferences-link"),
    path(
        "settings/reminders/link/open/",
        links.open_preferences_link,
        name="preferences-link-open",
    ),
    # The team's weekly review, and one-to-ones.
    path("teams/<slug:slug>/review/", review.team_review, name="team-review"),
    path("one-to-ones/", review.one_on_one_list, name="one-on-ones"),
    path("one-to-ones/new/", review.one_on_one_create, name="one-on-one-create"),
    path("one-to-ones/<int:pk>/", review.one_on_one_detail, name="one-on-one"),
    path(
        "one-to-ones/<int:pk>/action-items/<int:item_pk>/done/",
        review.action_item_done,
        name="action-item-done",
    ),
]

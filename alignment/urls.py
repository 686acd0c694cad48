from django.urls import path

from alignment.views import links, password, settings, tokens, tree

app_name = "alignment"

urlpatterns = [
    # A team's rhythm (check-in day and hour, digest day) and its chat webhook.
    path("teams/<slug:slug>/settings/", settings.team_settings, name="team-settings"),
    # The cascade of a cycle, collapsible, with subtrees loaded on demand; and its gaps.
    path("alignment/", tree.tree_current, name="tree-current"),
    path("alignment/<int:cycle_pk>/", tree.tree, name="tree"),
    path(
        "alignment/<int:cycle_pk>/teams/<int:team_pk>/",
        tree.team_children,
        name="tree-team",
    ),
    path(
        "alignment/<int:cycle_pk>/objectives/<int:objective_pk>/",
        tree.objective_children,
        name="tree-objective",
    ),
    path("alignment/<int:cycle_pk>/gaps/", tree.gaps, name="gaps"),
    path("alignment/teams/", tree.team_suggestions, name="team-suggestions"),
    # Links of one objective.
    path("objectives/<int:pk>/align/", links.objective_align, name="align"),
    path("objectives/<int:pk>/supports/", links.objective_supports, name="supports"),
    path(
        "key-results/<int:pk>/cascade/",
        links.key_result_cascade,
        name="cascade",
    ),
    path(
        "objectives/<int:pk>/dependencies/new/",
        links.dependency_request,
        name="dependency-request",
    ),
    path(
        "dependencies/<int:pk>/respond/",
        links.dependency_respond,
        name="dependency-respond",
    ),
    path(
        "dependencies/<int:pk>/withdraw/",
        links.dependency_withdraw,
        name="dependency-withdraw",
    ),
    # Personal API tokens: list, create (shown once), revoke.
    path("settings/api-tokens/", tokens.api_tokens, name="api-tokens"),
    path(
        "settings/api-tokens/<str:key>/revoke/",
        tokens.api_token_revoke,
        name="api-token-revoke",
    ),
    # Changing one's own password (404 for whoever has none to change here).
    path("settings/password/", password.password_change, name="password-change"),
]

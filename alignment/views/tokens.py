"""Personal API tokens: a signed-in person lists, creates and revokes their own.

Tokens are django-rest-knox's: only a hash is stored, so a new token is shown once, on
the page that answers its creation, and never again. A token is named by its key, the
first characters knox keeps in clear to find it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from knox.models import AuthToken

# knox looks a token up by its key and then checks every other token of its person, so a
# few dozen per person is plenty: more would be forgotten ones.
MAX_TOKENS_PER_PERSON = 20


@never_cache  # the answer to a POST holds a new secret: no cache may keep it
@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The person's tokens; POST creates one and shows it on this response only (a
    redirect would need the secret kept somewhere to show it after)."""
    tokens = AuthToken.objects.filter(user=request.user).order_by("-created")
    new_token = None
    if request.method == "POST":
        if tokens.count() >= MAX_TOKENS_PER_PERSON:
            messages.error(
                request,
                f"You have {MAX_TOKENS_PER_PERSON} tokens, the most one person can have: "
                "revoke one you no longer use first.",
            )
            return redirect("alignment:api-tokens")
        _, new_token = AuthToken.objects.create(user=request.user)
    return render(
        request,
        "alignment/api_tokens.html",
        {"tokens": tokens, "new_token": new_token, "max_tokens": MAX_TOKENS_PER_PERSON},
    )


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, key: str) -> HttpResponse:
    """Delete one of the person's tokens; another person's key is 404."""
    deleted, _ = AuthToken.objects.filter(user=request.user, token_key=key).delete()
    if not deleted:
        raise Http404("No such token among yours.")
    messages.success(
        request, f"Token {key}… revoked: requests made with it are refused from now on."
    )
    return redirect("alignment:api-tokens")

"""Changing one's own password: the current one, then the new one twice.

Django's ``PasswordChangeView`` does the work (a class view because it is Django's own:
its CSRF, sensitive-parameter and sign-in guards come with it). Saving the new password
changes the session auth hash, so every other session of the person ends; the view
moves the current session onto the new hash, so this one stays signed in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables

from alignment.models import User


def password_change_offered(user: User) -> bool:
    """Whether ``user`` has a password to change here. Not someone who signs in through
    single sign-on only (created by it, with no usable password); and under
    ``OIDC_ONLY`` nobody but superusers, the only ones password sign-in still accepts."""
    if not user.has_usable_password():
        return False
    sso_only = settings.OIDC_ENABLED and settings.OIDC_ONLY
    return user.is_superuser or not sso_only


class CurrentPasswordChangeForm(PasswordChangeForm):
    """Django's form, with the current password checked through ``authenticate()`` so that
    wrong guesses count as wrong sign-ins do (django-axes, the address ceiling): a stolen
    session cannot try passwords here without limit. Rule breaches show beside the new
    password (where the rules are listed), a mismatch beside its confirmation."""

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": "This is not your current password. Please enter it again.",
    }

    def __init__(self, user: User, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request
        self.fields["old_password"].label = "Current password"
        self.fields["new_password2"].label = "New password again"

    @sensitive_variables("old_password")
    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        signed_in = authenticate(
            self.request, username=self.user.get_username(), password=old_password
        )
        if signed_in is None or signed_in.pk != self.user.pk:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password

    def clean(self) -> dict[str, Any]:
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        # Past SetPasswordForm.clean, which would check the rules again on the confirmation.
        return Form.clean(self)


@method_decorator(login_required, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    """Back to this page with a message once changed. A person without a password to
    change here (``password_change_offered``) gets 404, not a refusal: under
    ``OIDC_ONLY`` the page does not exist for them, as the link to it does not."""

    form_class = CurrentPasswordChangeForm
    template_name = "alignment/password_change.html"
    success_url = reverse_lazy("alignment:password-change")
    http_method_names = ["get", "post"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not password_change_offered(request.user):
            raise Http404("There is no password to change here: you sign in another way.")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form: CurrentPasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(
            self.request,
            "Your password has been changed. You are still signed in here; "
            "everywhere else you were signed out.",
        )
        return response


password_change = PasswordChangeView.as_view()

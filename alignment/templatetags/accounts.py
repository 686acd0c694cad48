"""What the header offers about a person's own account."""

from __future__ import annotations

from django import template

from alignment.models import User
from alignment.views.password import password_change_offered

register = template.Library()


@register.filter
def can_change_password(user: User) -> bool:
    """``{% if user|can_change_password %}``: the same rule as the page itself."""
    return user.is_authenticated and password_change_offered(user)

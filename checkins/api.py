"""REST API of checkins (DRF viewsets, registered by okr_site/api_urls.py)."""

from __future__ import annotations


def register(router) -> None:
    """Add this app's endpoints to the API router."""

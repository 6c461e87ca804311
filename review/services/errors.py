"""Errors the services raise for the adapters to answer: pages render them in Chinese, the API as JSON."""

from __future__ import annotations


class NotFound(LookupError):
    """No such case or proposal: 404 (also for an id no database column can hold)."""


class InvalidInput(ValueError):
    """Input that cannot be stored (a NUL character, a lone surrogate): 400 on the pages (the API's models refuse
    it first, with 422)."""

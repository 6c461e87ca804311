"""Operators behind the ads: identifiers extracted from a document's fields, and the documents they link.

A plain library like ``keywords``: it knows nothing of Celery, Scrapy or the database. ``store.identifiers`` and
``store.operators`` persist what it computes.
"""

from operators.extract import KINDS, Identifier, extract

__all__ = ["KINDS", "Identifier", "extract"]

"""Profile-driven spiders: ``html`` (listing + detail pages) and ``json_api`` (paged listing APIs)."""

from crawler.spiders.api import JsonApiSpider
from crawler.spiders.listing import ListingSpider

SPIDERS = {"html": ListingSpider, "json_api": JsonApiSpider}

__all__ = ["SPIDERS", "JsonApiSpider", "ListingSpider"]

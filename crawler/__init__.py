"""Scrapy crawler: profile-driven spiders, hostile-page-safe pipelines, and a subprocess runner.

Public entry points live in :mod:`crawler.run` (``crawl_source``, ``crawl_in_process``).
"""

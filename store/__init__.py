"""Storage layer: database models, migrations and queue operations.

Knows nothing of Celery or Scrapy; the crawler, the worker and the review app all go through it.
"""

"""Celery app and tasks: scoring batches, crawls, rescoring, the sweeper and the crawl schedule."""

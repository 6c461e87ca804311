"""Sending work by Celery task name, so that producers (crawler, review app, CLI) never import task code.

This module and ``worker.tasks`` do not import each other: tasks call their siblings directly.

In the embedded demo mode (no ``ADSCREEN_BROKER_URL``) there is no queue and tasks run in-process; the crawler
does not even send its scoring batches then (the demo scores everything after the crawl, in one pass).
"""

from __future__ import annotations

from typing import Any

from adscreen.settings import get_settings


def send(task_name: str, *args: Any) -> Any:
    """Queue the task on Celery; in the embedded mode run it here and return its result."""
    from worker.celery_app import app, queue_for, submit

    if get_settings().embedded:
        app.loader.import_default_modules()  # the app's ``include``: registers the tasks without importing them here
        return submit(app.tasks[task_name], *args)
    return app.send_task(task_name, args=list(args), queue=queue_for(task_name))

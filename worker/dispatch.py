"""Sending work by Celery task name, so that producers (crawler, review app, CLI) never import task code.

In the embedded demo mode (no ``ADSCREEN_BROKER_URL``) there is no queue and tasks run in-process; the crawler
does not even send its scoring batches then (the demo scores everything after the crawl, in one pass).
"""

from __future__ import annotations

from typing import Any

from adscreen.settings import get_settings


def send(task_name: str, *args: Any) -> Any:
    """Queue the task on Celery; in the embedded mode run it here and return its result."""
    settings = get_settings()
    from worker.celery_app import app, queue_for

    if settings.embedded:
        import worker.tasks  # noqa: F401 - registers the tasks

        return app.tasks[task_name].apply(args=args).get()
    return app.send_task(task_name, args=list(args), queue=queue_for(task_name))

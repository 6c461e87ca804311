"""Sending work by Celery task name, so that producers (crawler, review app, CLI) never import task code.

In the embedded demo mode (no ``ADSCREEN_BROKER_URL``) there is no queue: scoring after a crawl is deferred to
the demo's own scoring pass (so the crawl process never loads the models), and every other task runs in-process.
"""

from __future__ import annotations

from typing import Any

from adscreen.settings import get_settings

DEFERRED_IN_EMBEDDED = {"adscreen.score_batch"}


def send(task_name: str, *args: Any) -> Any:
    settings = get_settings()
    from worker.celery_app import app, queue_for

    if settings.embedded:
        if task_name in DEFERRED_IN_EMBEDDED:
            return None
        import worker.tasks  # noqa: F401 - registers the tasks

        return app.tasks[task_name].apply(args=args).get()
    return app.send_task(task_name, args=list(args), queue=queue_for(task_name))

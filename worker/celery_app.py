"""The Celery application. Importing it is cheap: detectors load in each worker process after the fork."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.signals import celeryd_init, worker_process_init

from adscreen.settings import get_settings

QUEUE = get_settings().queue
CRAWL_QUEUE = f"{QUEUE}.crawl"
IMAGES_QUEUE = f"{QUEUE}.images"  # OCR and QR codes: heavier than text, so workers of their own (issue 14)
QUEUES = {"default": QUEUE, "crawl": CRAWL_QUEUE, "images": IMAGES_QUEUE}
ROUTES = {"adscreen.crawl_source": CRAWL_QUEUE, "adscreen.read_images": IMAGES_QUEUE}


def queue_for(task_name: str) -> str:
    """Crawls go to their own queue so that crawler processes and scoring workers scale separately."""
    return ROUTES.get(task_name, QUEUE)


def submit(task: Task, *args: Any) -> Any:
    """Queue ``task`` on its queue; in the embedded mode (no broker) run it here and return its result.

    Tasks call their siblings through this, and ``worker.dispatch`` too, so the embedded rule lives in one place.
    """
    if get_settings().embedded:
        return task.apply(args=args).get()
    return task.apply_async(args=args, queue=queue_for(task.name))


def make_app() -> Celery:
    s = get_settings()
    app = Celery("adscreen", broker=s.broker_url or "memory://", backend=s.result_backend)
    app.conf.update(
        task_default_queue=QUEUE,
        task_routes={name: {"queue": q} for name, q in ROUTES.items()},
        task_acks_late=True,  # a batch is acknowledged only once its verdicts are committed
        task_reject_on_worker_lost=True,  # a killed worker process puts its batch back on the queue
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=s.result_backend is None,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": s.broker_visibility_timeout},
        beat_schedule={
            "schedule-crawls": {"task": "adscreen.schedule_crawls", "schedule": 60.0},
            "sweep-unscored": {
                "task": "adscreen.sweep_unscored",
                "schedule": float(s.sweeper_interval_seconds),
            },
            # early warnings to the bureau's webhook (a no-op without ADSCREEN_WARNING_WEBHOOK_URL)
            "deliver-warnings": {"task": "adscreen.deliver_warnings", "schedule": 60.0},
        },
        include=["worker.tasks"],
    )
    return app


app = make_app()


@celeryd_init.connect
def _before_fork(**_: object) -> None:
    """jieba builds its prefix dictionary once here, in the parent, so forked children share it."""
    import keywords

    keywords.warmup()


@worker_process_init.connect
def _load_detectors(**_: object) -> None:
    """Each worker process loads the detectors once, not once per batch."""
    from scoring.engine import process_scorer

    process_scorer(get_settings())

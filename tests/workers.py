"""Starting and killing real Celery worker processes for the pipeline tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from celery import Celery

REPO_ROOT = Path(__file__).resolve().parents[1]


def worker_env(
    database_url: str, broker_url: str, queue: str, tmp_path: Path, **extra: str
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ADSCREEN_DATABASE_URL=database_url,
        ADSCREEN_BROKER_URL=broker_url,
        ADSCREEN_QUEUE=queue,
        ADSCREEN_LEXICON_DIR=str(tmp_path / "lexicon"),
        ADSCREEN_USE_CLASSIFIER="false",
        ADSCREEN_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(extra)
    return env


class WorkerProcess:
    """A `celery worker` in its own process group, so that kill -9 takes the pool children with it.

    It consumes ``queues`` (comma-separated; by default the text and crawl queues of ``ADSCREEN_QUEUE``).
    """

    def __init__(
        self, env: dict[str, str], log_path: Path, concurrency: int = 1, queues: str | None = None
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        queue = env["ADSCREEN_QUEUE"]
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.celery_app",
                "worker",
                "-Q",
                queues or f"{queue},{queue}.crawl",
                f"--concurrency={concurrency}",
                "--pool=prefork",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        wait_for(lambda: b" ready." in self.log_path.read_bytes(), timeout, f"worker ready ({self.log_path})")

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def client(broker_url: str) -> Celery:
    """A producer that knows the tasks only by name, as the crawler and the review app do."""
    return Celery("adscreen-test-client", broker=broker_url)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")

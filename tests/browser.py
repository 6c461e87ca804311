"""Browser tests' plumbing: the review app under uvicorn on a free port, and headless Debian Chromium to drive it.

One copy for every browser test (they used to carry their own); the ``browser`` and ``shots`` fixtures in
``tests/conftest.py`` build on it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.review_fixtures import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Debian's package, not a Playwright download (``.ci/run`` installs it where it can)
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian chromium is not installed at /usr/bin/chromium"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: Any, timeout: float = 20) -> Iterator[str]:
    """Serve ``app`` under uvicorn in a daemon thread and yield its base URL; stop it on the way out.

    A real socket rather than a TestClient, because Chromium has to reach the app over HTTP.
    """
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + timeout
    while not srv.started:
        assert time.time() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)


def login(page: Any, base: str, username: str = "insp") -> None:
    """Log in through the login form (fixture password) and wait for the queue it lands on."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/queue")

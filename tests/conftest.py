"""Shared fixtures. Pipeline tests run against the real PostgreSQL and Redis (``.ci/run`` starts them).

Every test that needs PostgreSQL gets a fresh database of its own, migrated with Alembic, and every test that
needs Redis gets a unique namespace (key prefix / queue name), so that test runs never see each other's data.
Browser tests share the ``browser`` and ``shots`` fixtures here and the server plumbing in ``tests/browser.py``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from store.db import engine_for, upgrade

PG_ADMIN_URL = os.environ.get("ADSCREEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ADSCREEN_TEST_REDIS", "redis://127.0.0.1:6379/0")
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


SERVICE_FIXTURES = {"pg_url", "redis_url", "namespace"}
SERVICE_PARAMS = {"postgresql", "redis"}  # a parametrised fixture's value that opens PostgreSQL or Redis


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that needs PostgreSQL or Redis ``services``, so that ``-m "not services"`` runs on a bare CPU.

    A test needs them when it uses one of the service fixtures (directly or through another fixture), or when one
    of its parametrised fixtures takes the ``postgresql``/``redis`` value (``request.getfixturevalue`` is invisible
    to the fixture closure).
    """
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        uses_fixture = SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
        uses_param = SERVICE_PARAMS & {v for v in params.values() if isinstance(v, str)}
        if uses_fixture or uses_param:
            item.add_marker(pytest.mark.services)


def _pg_url_for(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def create_database(name: str) -> str:
    """Create the empty PostgreSQL database ``name`` and return its URL."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _pg_url_for(name)


def drop_database(name: str) -> None:
    """Drop the database ``name`` if it exists, first closing this process's pooled connections to it."""
    engine_for(_pg_url_for(name)).dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(prefix: str = "adscreen_t", *, migrate: bool = True) -> Iterator[str]:
    """URL of a new PostgreSQL database (migrated to head unless ``migrate=False``), dropped on the way out."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = create_database(name)
    try:
        if migrate:
            upgrade(url)
        yield url
    finally:
        drop_database(name)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'adscreen.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """A fresh migrated database, once on SQLite and once on PostgreSQL: the store must behave alike on both."""
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database on SQLite and on PostgreSQL, for tests that migrate it step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with fresh_database("adscreen_m", migrate=False) as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # fail loudly: these tests need the real Redis
    return REDIS_URL


@pytest.fixture
def namespace() -> str:
    """A unique prefix for Redis keys and Celery queue names of one test."""
    return f"t{uuid.uuid4().hex[:10]}"


@contextmanager
def embedded_mode(
    monkeypatch: pytest.MonkeyPatch, database_url: str, lexicon_dir: Path, **env: str | None
) -> Iterator[str]:
    """Settings of the embedded mode (no broker: tasks run in-process), keywords only, on ``database_url``.

    ``env`` sets more ``ADSCREEN_*`` variables (``None`` unsets one). The cached settings and the process scorer
    are rebuilt on the way in and out, so that no other test sees these.
    """
    from adscreen.settings import get_settings
    from scoring.engine import reset_process_scorer

    monkeypatch.delenv("ADSCREEN_BROKER_URL", raising=False)
    monkeypatch.setenv("ADSCREEN_DATABASE_URL", database_url)
    monkeypatch.setenv("ADSCREEN_LEXICON_DIR", str(lexicon_dir))
    monkeypatch.setenv("ADSCREEN_USE_CLASSIFIER", "false")
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    reset_process_scorer()
    try:
        yield database_url
    finally:
        get_settings.cache_clear()
        reset_process_scorer()


@pytest.fixture
def embedded(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The embedded mode on a fresh migrated SQLite file (see ``embedded_mode``); yields its URL."""
    with embedded_mode(monkeypatch, sqlite_url, tmp_path / "lexicon") as url:
        yield url


@pytest.fixture
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 for accounts made in a test (``pytest.mark.usefixtures("cheap_argon2")``).

    Production argon2 parameters cost ~0.3 s per hash on the CI box; the tests only need the same code path.
    """
    from argon2 import PasswordHasher

    from review import users

    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (mark the test ``tests.browser.needs_chromium``)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import ARGS, CHROMIUM

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where browser tests save screenshots: ``docs/screenshots/`` with ``REVIEW_SCREENSHOTS=1`` (how the committed
    ones are made), otherwise the test's temporary folder."""
    if os.environ.get("REVIEW_SCREENSHOTS") == "1":
        out = REPO_ROOT / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path

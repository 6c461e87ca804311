"""Shared fixtures. Pipeline tests run against the real PostgreSQL and Redis (``.ci/run`` starts them).

Every test that needs PostgreSQL gets a fresh database of its own, migrated with Alembic, and every test that
needs Redis gets a unique namespace (key prefix / queue name), so that test runs never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    name = f"adscreen_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url_for(name)
    upgrade(url)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'adscreen.db'}"
    upgrade(url)
    return url


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # fail loudly: these tests need the real Redis
    return REDIS_URL


@pytest.fixture
def namespace() -> str:
    """A unique prefix for Redis keys and Celery queue names of one test."""
    return f"t{uuid.uuid4().hex[:10]}"

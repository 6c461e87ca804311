"""Accounts: argon2 hashes, role checks, and the ``users add`` CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from review.users import UserError, authenticate, create_user, has_role
from store.db import session_scope
from store.models import AuditEvent, User


def test_create_and_authenticate(sqlite_url):
    with session_scope(sqlite_url) as s:
        user = create_user(s, " wang ", "correct-horse", "inspector")
        assert user.username == "wang" and user.password_hash.startswith("$argon2id$")
        assert "correct-horse" not in user.password_hash
    with session_scope(sqlite_url) as s:
        assert authenticate(s, "wang", "correct-horse").role == "inspector"
        assert authenticate(s, "wang", "wrong-horse") is None
        assert authenticate(s, "li", "correct-horse") is None
        s.query(User).filter_by(username="wang").one().active = False
    with session_scope(sqlite_url) as s:
        assert authenticate(s, "wang", "correct-horse") is None
        assert s.query(AuditEvent).filter_by(action="user.create").count() == 1


def test_create_user_validation(sqlite_url):
    with session_scope(sqlite_url) as s:
        with pytest.raises(UserError):
            create_user(s, "a", "long-enough", "superuser")
        with pytest.raises(UserError):
            create_user(s, "a", "short", "inspector")
        create_user(s, "a", "long-enough", "admin")
        with pytest.raises(UserError):
            create_user(s, "a", "long-enough", "inspector")


def test_role_rules():
    assert has_role("admin", ("inspector",)) and has_role("inspector", ("inspector",))
    assert not has_role("lexicon_editor", ("inspector",)) and not has_role("inspector", ())


def test_cli_users_add(sqlite_url, monkeypatch):
    from adscreen.settings import get_settings
    from review.cli import app

    monkeypatch.setenv("ADSCREEN_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(
            app, ["users", "add", "zhao", "--role", "lexicon_editor", "--password", "pw-12345678"]
        )
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["users", "add", "zhao", "--role", "inspector", "--password", "pw-12345678"])
        assert r.exit_code == 2 and "exists" in r.output
        r = runner.invoke(app, ["users", "add", "qian", "--role", "boss", "--password", "pw-12345678"])
        assert r.exit_code == 2
    finally:
        get_settings.cache_clear()
    with session_scope(sqlite_url) as s:
        assert [(u.username, u.role) for u in s.query(User)] == [("zhao", "lexicon_editor")]


def test_cli_users_units(sqlite_url, monkeypatch):
    from adscreen.settings import get_settings
    from review.cli import app
    from store.units import user_units

    monkeypatch.setenv("ADSCREEN_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(app, ["users", "add", "sun", "--password", "pw-12345678"]).exit_code == 0
        r = runner.invoke(app, ["users", "units", "sun", "sq-suiyang", "sq-liangyuan"])
        assert r.exit_code == 0 and "sq-liangyuan, sq-suiyang" in r.output, r.output
        r = runner.invoke(app, ["users", "units", "sun", "nowhere"])
        assert r.exit_code == 2 and "未知单位" in r.output
        r = runner.invoke(app, ["users", "units", "nobody", "sq-suiyang"])
        assert r.exit_code == 2
    finally:
        get_settings.cache_clear()
    with session_scope(sqlite_url) as s:
        uid = s.query(User).filter_by(username="sun").one().id
        assert user_units(s, uid) == ["sq-liangyuan", "sq-suiyang"]

"""Migration 0005 on data: documents become version 1, old hits (offsets into title+"\\n"+text) land in their field."""

from __future__ import annotations

import json
import zlib

from sqlalchemy import select, text

from store.db import engine_for, session_scope, upgrade
from store.models import Document, DocumentVersion, Flag, Verdict


def test_0005_keeps_evidence_and_maps_old_hits(bare_url):
    upgrade(bare_url, "0004")
    title, body = "保本理财", "年化收益18%，联系王经理"
    combined = f"{title}\n{body}"
    hits = [
        {"term": "保本", "category": "return_promise", "weight": 0.9, "start": 0, "end": 2},
        {"term": "年化", "category": "rate", "weight": 0.5, "start": combined.index("年化"),
         "end": combined.index("年化") + 2},
    ]
    raw = b"<html>evidence</html>"
    with engine_for(bare_url).begin() as c:
        c.execute(text(
            "INSERT INTO documents (id, url, canonical_url, title, text, content_hash, raw_snapshot, raw_sha256, "
            "raw_size, http_headers, fetched_at, created_at, updated_at) VALUES (1, 'http://a/1', 'http://a/1', "
            ":t, :b, 'h', :raw, 'sha', 21, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            {"t": title, "b": body, "raw": zlib.compress(raw)})
        c.execute(text(
            "INSERT INTO verdicts (id, document_id, detector_versions, score, level, flagged, hits, explanation, "
            "detectors, created_at) VALUES (1, 1, 'kw:1', 0.9, 'high', :f, :hits, '', '[]', CURRENT_TIMESTAMP)"),
            {"hits": json.dumps(hits), "f": True})
        c.execute(text(
            "INSERT INTO flags (id, document_id, verdict_id, status, priority, level, created_at, updated_at) "
            "VALUES (1, 1, 1, 'referred', 0.9, 'high', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    upgrade(bare_url)
    with session_scope(bare_url) as s:
        doc = s.get(Document, 1)
        (version,) = s.scalars(select(DocumentVersion)).all()
        assert doc.current_version_id == version.id and version.number == 1 and doc.version_count == 1
        assert zlib.decompress(version.raw_snapshot) == raw and version.text == body
        verdict = s.get(Verdict, 1)
        assert verdict.version_id == version.id
        assert [(h["field"], h["start"], h["end"], h["matched"]) for h in verdict.hits] == [
            ("title", 0, 2, "保本"), ("body", 0, 2, "年化")]
        assert s.get(Flag, 1).version_id == version.id


def _allow_rows(url: str) -> list[str]:
    with engine_for(url).connect() as c:
        return list(c.execute(text("SELECT phrase FROM allow_phrases ORDER BY id")).scalars())


def _revision(url: str) -> str:
    with engine_for(url).connect() as c:
        return c.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def test_0009_drops_allow_phrases_only_when_empty(bare_url):
    """The allow-list moved into the lexicon: a phrase left in the old table stops the upgrade, with the commands
    that carry it over, and nothing is dropped; once the table is empty it goes (and a downgrade brings it back)."""
    import pytest
    from alembic import command
    from sqlalchemy import inspect

    from store.db import alembic_config

    upgrade(bare_url, "0008")
    with engine_for(bare_url).begin() as c:
        c.execute(text(
            "INSERT INTO allow_phrases (phrase, note, created_by, created_at) "
            "VALUES ('睢阳养老项目', '', 'editor', CURRENT_TIMESTAMP), ('it''s 保本', '', 'editor', CURRENT_TIMESTAMP)"))
    with pytest.raises(RuntimeError) as refused:
        upgrade(bare_url, "0009")
    message = str(refused.value)
    assert "allow_phrases still holds 2" in message and "DELETE FROM allow_phrases" in message
    assert "adscreen keywords allow add '睢阳养老项目' --actor" in message
    assert "adscreen keywords allow add 'it'\"'\"'s 保本' --actor" in message  # quoted for the shell
    assert _revision(bare_url) == "0008" and _allow_rows(bare_url) == ["睢阳养老项目", "it's 保本"]
    with engine_for(bare_url).begin() as c:
        c.execute(text("DELETE FROM allow_phrases"))
    upgrade(bare_url, "0009")
    assert _revision(bare_url) == "0009" and "allow_phrases" not in inspect(engine_for(bare_url)).get_table_names()
    cfg = alembic_config(bare_url)
    with engine_for(bare_url).connect() as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    assert _revision(bare_url) == "0008" and _allow_rows(bare_url) == []


def test_0011_gives_transient_failures_another_chance_and_leaves_refusals(bare_url):
    """Warnings marked failed before 0011 after a network error or a 5xx become ``retrying`` and due at once; one the
    receiver refused (``refused with HTTP 4xx``) stays failed; a downgrade folds ``retrying`` back into failed."""
    from alembic import command

    from store.db import alembic_config

    upgrade(bare_url, "0010")
    with engine_for(bare_url).begin() as c:
        c.execute(text(
            "INSERT INTO operators (id, status, name, document_count, risk_index, risk_level, risk_components, "
            "formula_version, created_at, updated_at) VALUES (1, 'active', '鑫瑞', 3, 80.0, 'high', '{}', 'op-risk-1', "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        for key, status, error in (("net", "failed", "ConnectError: refused connection"), ("5xx", "failed", "HTTP 503"),
                                   ("4xx", "failed", "refused with HTTP 400"), ("ok", "sent", None)):
            c.execute(text(
                "INSERT INTO operator_warnings (operator_id, kind, at, risk_index, level, detail, dedupe_key, "
                "webhook_status, webhook_attempts, last_error) VALUES (1, 'high_risk', CURRENT_TIMESTAMP, 80.0, "
                "'high', '{}', :k, :s, 4, :e)"), {"k": key, "s": status, "e": error})
    upgrade(bare_url, "0011")
    assert _revision(bare_url) == "0011"

    def states() -> dict[str, tuple[str, bool]]:
        with engine_for(bare_url).connect() as c:
            rows = c.execute(text("SELECT dedupe_key, webhook_status, next_attempt_at FROM operator_warnings"))
            return {k: (s, n is not None) for k, s, n in rows}

    assert states() == {"net": ("retrying", True), "5xx": ("retrying", True), "4xx": ("failed", False),
                        "ok": ("sent", False)}
    cfg = alembic_config(bare_url)
    with engine_for(bare_url).connect() as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    with engine_for(bare_url).connect() as c:
        assert dict(c.execute(text("SELECT dedupe_key, webhook_status FROM operator_warnings")).all()) == {
            "net": "failed", "5xx": "failed", "4xx": "failed", "ok": "sent"}

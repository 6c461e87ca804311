"""Document versions: frozen captures with their own snapshot and hash; identity by (source, canonical URL);
verdicts and flags point at the version they judged; hits carry their field and matched characters; per-user
session versions (logout ends a session on the server).

Existing documents become version 1. Existing hits were offsets into ``title + "\\n" + text`` (what the detectors
read); they are mapped here into the offsets of the field they fall in, with ``matched`` set to those characters,
so decided cases keep exact highlights without a rescore.

Revision ID: 0005
Revises: 0004
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UQ = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
COPIED = (
    "url, title, text, publisher, contact, region, platform, category, price, posted_at, content_hash, "
    "raw_snapshot, raw_sha256, raw_size, http_status, http_headers, encoding"
)


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    op.create_table(
        "document_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text()),
        sa.Column("contact", sa.Text()),
        sa.Column("region", sa.Text()),
        sa.Column("platform", sa.Text()),
        sa.Column("category", sa.Text()),
        sa.Column("price", sa.Text()),
        sa.Column("posted_at", sa.DateTime(timezone=True)),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("raw_snapshot", sa.LargeBinary(), nullable=False),
        sa.Column("raw_sha256", sa.String(64), nullable=False),
        sa.Column("raw_size", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("http_headers", sa.JSON(), nullable=False),
        sa.Column("encoding", sa.String(40)),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("document_id", "number", name="uq_document_versions_number"),
    )
    op.create_index("ix_document_versions_document_id", "document_versions", ["document_id"])
    op.execute(
        f"INSERT INTO document_versions (document_id, number, {COPIED}, captured_at) "
        f"SELECT id, 1, {COPIED}, fetched_at FROM documents ORDER BY id"
    )

    with op.batch_alter_table("documents", naming_convention=UQ) as b:
        b.add_column(sa.Column("source_key", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("current_version_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("version_count", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("removed_status", sa.Integer(), nullable=True))
        b.drop_constraint("documents_canonical_url_key" if pg else "uq_documents_canonical_url", type_="unique")
        b.drop_column("raw_snapshot")
    op.execute(
        "UPDATE documents SET source_key = COALESCE(source_id, 0), version_count = 1, current_version_id = "
        "(SELECT v.id FROM document_versions v WHERE v.document_id = documents.id AND v.number = 1)"
    )
    with op.batch_alter_table("documents") as b:
        b.create_unique_constraint("uq_documents_source_url", ["source_key", "canonical_url"])
        b.create_index("ix_documents_canonical_url", ["canonical_url"])
        b.create_foreign_key(
            "fk_documents_current_version", "document_versions", ["current_version_id"], ["id"]
        )

    with op.batch_alter_table("verdicts") as b:
        b.add_column(sa.Column("version_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE verdicts SET version_id = (SELECT d.current_version_id FROM documents d "
        "WHERE d.id = verdicts.document_id)"
    )
    _map_hits(bind)
    with op.batch_alter_table("verdicts") as b:
        b.alter_column("version_id", existing_type=sa.Integer(), nullable=False)
        b.drop_constraint("uq_verdict_doc_versions", type_="unique")
        b.create_unique_constraint("uq_verdict_version_detectors", ["version_id", "detector_versions"])
        b.create_index("ix_verdicts_version_id", ["version_id"])
        b.create_foreign_key("fk_verdicts_version", "document_versions", ["version_id"], ["id"])

    with op.batch_alter_table("flags", naming_convention=UQ) as b:
        b.add_column(sa.Column("version_id", sa.Integer(), nullable=True))
        b.drop_constraint("flags_document_id_key" if pg else "uq_flags_document_id", type_="unique")
    op.execute(
        "UPDATE flags SET version_id = (SELECT v.version_id FROM verdicts v WHERE v.id = flags.verdict_id)"
    )
    with op.batch_alter_table("flags") as b:
        b.alter_column("version_id", existing_type=sa.Integer(), nullable=False)
        b.create_unique_constraint("uq_flags_document_version", ["document_id", "version_id"])
        b.create_index("ix_flags_document_id", ["document_id"])
        b.create_index("ix_flags_version_id", ["version_id"])
        b.create_foreign_key("fk_flags_version", "document_versions", ["version_id"], ["id"])

    with op.batch_alter_table("users") as b:
        b.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))


def _map_hits(bind) -> None:  # noqa: ANN001
    """Old hits index the detectors' text ``title\\ntext`` (the title left out when the body contains it)."""
    rows = bind.execute(
        sa.text(
            "SELECT v.id, v.hits, d.title, d.text FROM verdicts v JOIN document_versions d ON d.id = v.version_id"
        )
    ).all()
    for vid, hits, title, text in rows:
        hits = json.loads(hits) if isinstance(hits, str) else (hits or [])
        if not hits:
            continue
        title, text = title or "", text or ""
        segments = [("title", 0, title), ("body", len(title) + 1, text)] if title and title not in text else [
            ("body", 0, text)
        ]
        out = []
        for h in hits:
            start, end = h.get("start"), h.get("end")
            if not isinstance(start, int) or not isinstance(end, int):
                continue
            for name, offset, value in segments:
                if offset <= start < offset + len(value) or (start == end == offset):
                    s, e = start - offset, min(end - offset, len(value))
                    out.append({**h, "field": name, "start": s, "end": e, "matched": value[s:e]})
                    break
        bind.execute(
            sa.text("UPDATE verdicts SET hits = :hits WHERE id = :id"), {"hits": json.dumps(out), "id": vid}
        )


def downgrade() -> None:
    raise NotImplementedError("0005 keeps every captured version; restore a backup to go back")

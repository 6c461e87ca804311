"""The bureau's daily work: responsible units and accounts scoped to them, flags' denormalised source / region /
area / unit (routed by ``store.units``), every hit category of a flag, the queue's search text (pg_trgm on
PostgreSQL), case comments, background lexicon approvals and the allow-list, the workflow columns (decision time, second inspector,
QA sampling), and the indexes of the claim, queue, audit and region queries.

Existing flags get their source and region here; their area, unit, categories and search text are filled by
``store.units.route_flags`` when the review app starts (it needs the Python region parser).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
FLAG_COLUMNS = [
    ("source_id", sa.Integer()),
    ("region", sa.String(200)),
    ("province", sa.String(40)),
    ("city", sa.String(40)),
    ("county", sa.String(60)),
    ("unit", sa.String(40)),
    ("routed_verdict_id", sa.Integer()),
    ("decided_at", TZ),
    ("second_by", sa.String(100)),
    ("second_at", TZ),
    ("qa_status", sa.String(20)),
    ("qa_by", sa.String(100)),
]


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    with op.batch_alter_table("flags") as batch:
        for name, type_ in FLAG_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_table(
        "units",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False, server_default=""),
        sa.Column("parent_code", sa.String(40), nullable=True),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("is_fallback", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("sort_order", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "user_units",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("unit_code", sa.String(40), primary_key=True),
    )
    op.create_table(
        "flag_categories",
        sa.Column("flag_id", sa.Integer(), sa.ForeignKey("flags.id"), primary_key=True),
        sa.Column("category", sa.String(60), primary_key=True),
    )
    op.create_index("ix_flag_categories_category", "flag_categories", ["category", "flag_id"])
    op.create_table(
        "flag_search",
        sa.Column("flag_id", sa.Integer(), sa.ForeignKey("flags.id"), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "case_comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("flag_id", sa.Integer(), sa.ForeignKey("flags.id"), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_case_comments_flag_id", "case_comments", ["flag_id", "id"])
    op.create_table(
        "lexicon_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("proposal_id", sa.Integer(), sa.ForeignKey("term_proposals.id"), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lexicon_version", sa.String(80), nullable=True),
        sa.Column("document_ids", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
    )
    op.create_index("ix_lexicon_jobs_proposal_id", "lexicon_jobs", ["proposal_id"])
    op.create_table(
        "allow_phrases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("phrase", sa.String(60), nullable=False, unique=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )

    # existing flags: source and region of the version they judge (area and unit: store.units.route_flags)
    op.execute(
        "UPDATE flags SET source_id = (SELECT d.source_id FROM documents d WHERE d.id = flags.document_id), "
        "region = (SELECT substr(v.region, 1, 200) FROM document_versions v WHERE v.id = flags.version_id)"
    )
    # a decided flag's decision time: its last decision
    op.execute(
        "UPDATE flags SET decided_at = (SELECT max(x.created_at) FROM decisions x WHERE x.flag_id = flags.id) "
        "WHERE status IN ('confirmed', 'dismissed', 'escalated', 'referred')"
    )

    # the queue: status then priority order (the listing's sort), claims by assignee, per-unit and per-area lists
    op.create_index("ix_flags_queue_order", "flags", ["status", "priority", "created_at", "id"])
    op.create_index("ix_flags_assignee_status", "flags", ["assignee", "status"])
    op.create_index("ix_flags_unit_status", "flags", ["unit", "status", "priority"])
    op.create_index("ix_flags_county", "flags", ["county", "status"])
    op.create_index("ix_flags_city", "flags", ["city", "status"])
    op.create_index("ix_flags_province", "flags", ["province", "status"])
    op.create_index("ix_flags_source_status", "flags", ["source_id", "status"])
    op.create_index("ix_flags_created_at", "flags", ["created_at"])
    op.create_index("ix_flags_decided_at", "flags", ["decided_at"])
    # a case's history: the audit events of one entity, in order
    op.create_index("ix_audit_events_entity", "audit_events", ["entity", "entity_id", "id"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor", "id"])
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
    # claims: only open and claimed flags can be taken; the partial index keeps their priority order small
    op.execute(
        "CREATE INDEX ix_flags_claimable ON flags (priority DESC, created_at DESC, id) "
        "WHERE status IN ('open', 'claimed')"
    )
    op.execute("CREATE INDEX ix_flags_qa_pending ON flags (id) WHERE qa_status = 'pending'")
    if pg:  # substring search of Chinese text (no word breaks): trigram index; the test user is a superuser
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_flag_search_trgm ON flag_search USING gin (body gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_flag_search_trgm")
    op.execute("DROP INDEX IF EXISTS ix_flags_claimable")
    op.execute("DROP INDEX IF EXISTS ix_flags_qa_pending")
    for name in ("ix_audit_events_entity", "ix_audit_events_actor"):
        op.drop_index(name, table_name="audit_events")
    op.drop_index("ix_decisions_created_at", table_name="decisions")
    for name in (
        "ix_flags_queue_order",
        "ix_flags_assignee_status",
        "ix_flags_unit_status",
        "ix_flags_county",
        "ix_flags_city",
        "ix_flags_province",
        "ix_flags_source_status",
        "ix_flags_created_at",
        "ix_flags_decided_at",
    ):
        op.drop_index(name, table_name="flags")
    for table in ("allow_phrases", "lexicon_jobs", "case_comments", "flag_search", "flag_categories", "user_units", "units"):
        op.drop_table(table)
    with op.batch_alter_table("flags") as batch:
        for name, _ in reversed(FLAG_COLUMNS):
            batch.drop_column(name)

"""Operators: identifiers of document versions, their usage counts and stop lists, operators and their members,
merge/split events, inspectors' must-link / cannot-link constraints, early warnings. New tables only.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identifiers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("document_versions.id"), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Text(), nullable=False),
    )
    op.create_index("ix_identifiers_kind_value", "identifiers", ["kind", "value"])
    op.create_index("ix_identifiers_version_id", "identifiers", ["version_id"])
    op.create_index("ix_identifiers_document_id", "identifiers", ["document_id"])
    op.create_table(
        "identifier_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("doc_count", sa.Integer(), nullable=False),
        sa.Column("publishers", sa.JSON(), nullable=False),
        sa.Column("hub", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("kind", "value", name="uq_identifier_keys_kind_value"),
    )
    op.create_table(
        "identifier_stops",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_identifier_stops_kind_value", "identifier_stops", ["kind", "value"])
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("document_count", sa.Integer(), nullable=False),
        sa.Column("risk_index", sa.Float(), nullable=False),
        sa.Column("risk_level", sa.String(10), nullable=False),
        sa.Column("risk_components", sa.JSON(), nullable=False),
        sa.Column("formula_version", sa.String(20), nullable=False),
        sa.Column("risk_updated_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_operators_status_risk", "operators", ["status", "risk_index"])
    op.create_table(
        "operator_members",
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), primary_key=True),
        sa.Column("operator_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("document_versions.id"), nullable=False),
        sa.Column("joined_at", TZ, nullable=False),
    )
    op.create_index("ix_operator_members_operator_id", "operator_members", ["operator_id"])
    op.create_table(
        "operator_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("operator_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("other_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_operator_events_at", "operator_events", ["at"])
    op.create_index("ix_operator_events_operator_id", "operator_events", ["operator_id"])
    op.create_table(
        "operator_constraints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "operator_constraint_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("constraint_id", sa.Integer(), sa.ForeignKey("operator_constraints.id"), nullable=False),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("side", sa.String(1), nullable=False),
    )
    op.create_index(
        "ix_operator_constraint_members_constraint_id", "operator_constraint_members", ["constraint_id"]
    )
    op.create_index("ix_operator_constraint_members_document_id", "operator_constraint_members", ["document_id"])
    op.create_table(
        "operator_warnings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("operator_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("risk_index", sa.Float(), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(120), nullable=False),
        sa.Column("webhook_status", sa.String(20), nullable=False),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_operator_warnings_dedupe_key"),
    )
    op.create_index("ix_operator_warnings_operator_id", "operator_warnings", ["operator_id"])
    op.create_index("ix_operator_warnings_at", "operator_warnings", ["at"])
    op.create_index("ix_operator_warnings_webhook_status", "operator_warnings", ["webhook_status"])


def downgrade() -> None:
    for table in (
        "operator_warnings", "operator_constraint_members", "operator_constraints", "operator_events",
        "operator_members", "operators", "identifier_stops", "identifier_keys", "identifiers",
    ):  # fmt: skip
        op.drop_table(table)

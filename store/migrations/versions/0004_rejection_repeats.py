"""Rejections counted, not repeated: a hostile page refused again on every scheduled re-crawl bumps its row.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rejections") as batch_op:
        batch_op.add_column(sa.Column("seen_count", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_rejections_url", ["url"], unique=False)
    op.execute("UPDATE rejections SET last_seen_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("rejections") as batch_op:
        batch_op.drop_index("ix_rejections_url")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("seen_count")

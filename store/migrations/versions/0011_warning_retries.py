"""Early warnings whose webhook delivery failed for a transient reason are retried later: ``next_attempt_at``.

Before this revision a warning that met a network error or a 5xx on all four quick attempts was marked ``failed``
and never sent again, so a receiver down for a minute lost it for good. Such rows become ``retrying`` now, due at
once; a 4xx refusal stays ``failed`` (the receiver said no, retrying will not change that).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("operator_warnings", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_operator_warnings_next_attempt_at", "operator_warnings", ["next_attempt_at"])
    # transient failures recorded before this revision: network errors and retryable statuses (not "refused")
    op.execute(
        "UPDATE operator_warnings SET webhook_status = 'retrying', next_attempt_at = CURRENT_TIMESTAMP "
        "WHERE webhook_status = 'failed' AND (last_error IS NULL OR last_error NOT LIKE 'refused%')"
    )


def downgrade() -> None:
    op.execute("UPDATE operator_warnings SET webhook_status = 'failed' WHERE webhook_status = 'retrying'")
    op.drop_index("ix_operator_warnings_next_attempt_at", table_name="operator_warnings")
    op.drop_column("operator_warnings", "next_attempt_at")

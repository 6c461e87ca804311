"""Near-duplicate lookups as ordered index ranges: ``(sh_bN, id)`` and ``(content_hash, id)``.

``store.documents`` asks for the earliest documents with one band value (or one content hash) in id order with a
LIMIT; with the id in the index that is a range read of at most LIMIT entries, whatever the table's size or how
common the value is. The single-column indexes they replace are dropped (the composite ones serve their lookups).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = ("sh_b0", "sh_b1", "sh_b2", "sh_b3", "content_hash")


def upgrade() -> None:
    for name in COLUMNS:
        op.create_index(f"ix_documents_{name}_id", "documents", [name, "id"], unique=False)
        op.drop_index(f"ix_documents_{name}", table_name="documents")


def downgrade() -> None:
    for name in COLUMNS:
        op.create_index(f"ix_documents_{name}", "documents", [name], unique=False)
        op.drop_index(f"ix_documents_{name}_id", table_name="documents")

"""SimHash bands on documents: near-duplicate lookup by index instead of a scan.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BANDS = ("sh_b0", "sh_b1", "sh_b2", "sh_b3")


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch_op:
        for name in BANDS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
            batch_op.create_index(f"ix_documents_{name}", [name], unique=False)
    # fill the bands of existing documents from their stored fingerprints
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, simhash FROM documents WHERE simhash IS NOT NULL")).all()
    for doc_id, fingerprint in rows:
        value = int(fingerprint, 16)
        params = {name: (value >> (16 * i)) & 0xFFFF for i, name in enumerate(BANDS)}
        conn.execute(
            sa.text(
                "UPDATE documents SET sh_b0=:sh_b0, sh_b1=:sh_b1, sh_b2=:sh_b2, sh_b3=:sh_b3 WHERE id=:id"
            ),
            {**params, "id": doc_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch_op:
        for name in BANDS:
            batch_op.drop_index(f"ix_documents_{name}")
            batch_op.drop_column(name)

"""The allow-list moves into the lexicon: drop ``allow_phrases``.

Allow-list phrases are now part of the live lexicon (``allow:`` in ``lexicon.yaml``, edited with
``adscreen keywords allow add|remove|list`` or the lexicon page), so that the matcher applies them and every change
is a lexicon version. The table only fed the lexicon page's preview. It is dropped only when empty: a phrase still
in it would be lost silently, so the upgrade stops and says how to carry each one over first.

Revision ID: 0009
Revises: 0008
"""

import shlex

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
SHOWN = 50  # phrases spelt out in the refusal; the rest are counted


class AllowPhrasesLeft(RuntimeError):
    """``allow_phrases`` still holds phrases that the lexicon may not have."""


def upgrade() -> None:
    phrases = list(op.get_bind().execute(sa.text("SELECT phrase FROM allow_phrases ORDER BY id")).scalars())
    if phrases:
        commands = "\n".join(
            f"    adscreen keywords allow add {shlex.quote(p)} --actor <your name>" for p in phrases[:SHOWN]
        )
        more = f"\n    … and {len(phrases) - SHOWN} more (SELECT phrase FROM allow_phrases)" if len(phrases) > SHOWN else ""
        raise AllowPhrasesLeft(
            f"migration 0009: the table allow_phrases still holds {len(phrases)} allow-list phrase(s). The allow-list "
            "is now part of the lexicon (ADSCREEN_LEXICON_DIR), and this migration drops the table, so nothing was "
            "changed. Re-add every phrase to the lexicon first:\n"
            f"{commands}{more}\n"
            "then empty the table (DELETE FROM allow_phrases;) and run `adscreen db upgrade` again."
        )
    op.drop_table("allow_phrases")


def downgrade() -> None:
    """The table comes back empty: the phrases stay in the lexicon, where 0008's code did not look."""
    op.create_table(
        "allow_phrases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("phrase", sa.String(60), nullable=False, unique=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )

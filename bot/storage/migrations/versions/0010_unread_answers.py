"""unread answers: typed check-in answers the bot asked about, for `coach stats --unmatched`

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unread_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("node", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_unread_answer_enrollment_id", "unread_answer", ["enrollment_id"])
    op.create_index("ix_unread_answer_answered_at", "unread_answer", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_unread_answer_answered_at", table_name="unread_answer")
    op.drop_index("ix_unread_answer_enrollment_id", table_name="unread_answer")
    op.drop_table("unread_answer")

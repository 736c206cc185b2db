"""training log: logged sets, per-person units and weekly check-in

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:38:31.460506
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "preference",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("units", sa.String(length=2), nullable=False),
        sa.Column("weekly", sa.Boolean(), nullable=False),
        sa.Column("last_weekly_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_table(
        "logentry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=True),
        sa.Column("exercise", sa.String(length=40), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=2), nullable=False),
        sa.Column("sets", sa.Integer(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("felt", sa.String(length=16), nullable=True),
        sa.Column("checkin_answer_id", sa.Integer(), nullable=True),
        sa.Column("logged_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["checkin_answer_id"], ["checkinanswer.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("logentry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_logentry_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index("ix_logentry_user_logged", ["user_id", "logged_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("logentry", schema=None) as batch_op:
        batch_op.drop_index("ix_logentry_user_logged")
        batch_op.drop_index(batch_op.f("ix_logentry_chat_id"))

    op.drop_table("logentry")
    op.drop_table("preference")

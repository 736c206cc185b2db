"""lifter tools: effort and lines in the log, the bar for /plates, pending log lines, rest timers

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-29 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("logentry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rpe", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("line", sa.Integer(), nullable=True))
    with op.batch_alter_table("preference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bar_kg", sa.Float(), nullable=True))
    op.create_table(
        "pending_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pending_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_log_user_id"), ["user_id"], unique=False)
    op.create_table(
        "scheduled_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scheduled_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheduled_message_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(
            "ix_scheduled_message_pending_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    op.drop_table("scheduled_message")
    op.drop_table("pending_log")
    with op.batch_alter_table("preference", schema=None) as batch_op:
        batch_op.drop_column("bar_kg")
    with op.batch_alter_table("logentry", schema=None) as batch_op:
        batch_op.drop_column("line")
        batch_op.drop_column("rpe")

"""check-ins: answers, open question, reminders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:32:32.185385
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkinanswer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=40), nullable=False),
        sa.Column("option", sa.String(length=20), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=True),
        sa.Column("advice", sa.String(length=40), nullable=True),
        sa.Column("effect", sa.String(length=16), nullable=True),
        sa.Column("fix_helped", sa.String(length=8), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrollment_id", "user_id", "day", "node", name="uq_checkin_answer"),
    )
    with op.batch_alter_table("checkinanswer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkinanswer_enrollment_id"), ["enrollment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkinanswer_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remind_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            "ix_delivery_remind_at",
            ["remind_at"],
            unique=False,
            sqlite_where=sa.text("remind_at IS NOT NULL"),
            postgresql_where=sa.text("remind_at IS NOT NULL"),
        )

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkin_day", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("checkin_node", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_column("checkin_node")
        batch_op.drop_column("checkin_day")

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_remind_at")
        batch_op.drop_column("remind_at")

    with op.batch_alter_table("checkinanswer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkinanswer_user_id"))
        batch_op.drop_index(batch_op.f("ix_checkinanswer_enrollment_id"))

    op.drop_table("checkinanswer")

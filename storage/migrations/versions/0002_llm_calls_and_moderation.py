"""llm call accounting and moderation log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:55:13.243604
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "moderationevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deliberation_id", sa.Integer(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deliberation_id"],
            ["deliberation.id"],
            name=op.f("fk_moderationevent_deliberation_id_deliberation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderationevent")),
    )
    with op.batch_alter_table("moderationevent", schema=None) as batch_op:
        batch_op.create_index("ix_moderationevent_timeline", ["deliberation_id", "created_at"], unique=False)

    op.create_table(
        "llmcall",
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("streamed", sa.Boolean(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("deliberation_id", sa.Integer(), nullable=True),
        sa.Column("interview_id", sa.Integer(), nullable=True),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deliberation_id"], ["deliberation.id"], name=op.f("fk_llmcall_deliberation_id_deliberation")
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"], ["interview.id"], name=op.f("fk_llmcall_interview_id_interview")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"], name=op.f("fk_llmcall_participant_id_participant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llmcall")),
    )
    with op.batch_alter_table("llmcall", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_llmcall_interview_id"), ["interview_id"], unique=False)
        batch_op.create_index("ix_llmcall_monitor", ["deliberation_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("llmcall", schema=None) as batch_op:
        batch_op.drop_index("ix_llmcall_monitor")
        batch_op.drop_index(batch_op.f("ix_llmcall_interview_id"))

    op.drop_table("llmcall")
    with op.batch_alter_table("moderationevent", schema=None) as batch_op:
        batch_op.drop_index("ix_moderationevent_timeline")

    op.drop_table("moderationevent")

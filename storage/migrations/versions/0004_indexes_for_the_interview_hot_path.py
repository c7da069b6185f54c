"""indexes for the interview hot path

Every chat turn checks the participant's token budget (LLM calls by participant) and every interview
page reads the latest card of its interview: without these indexes both scan their whole table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 02:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_llmcall_participant_id"), "llmcall", ["participant_id"], unique=False)
    op.create_index(op.f("ix_valuescard_interview_id"), "valuescard", ["interview_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_valuescard_interview_id"), table_name="valuescard")
    op.drop_index(op.f("ix_llmcall_participant_id"), table_name="llmcall")

"""seed values and skipped steps

A facilitator can seed a question with canonical values (``canonicalvalue.seed``; each seed has one member
card of its own, with no author), and a participant's record keeps the steps they passed with nothing to do
(``participant.skipped_steps``: ``vote``, ``judge``), which the progress bar shows as skipped.

A model call keeps the job run it belongs to (``llmcall.job_run``, indexed: the continuous pipeline's
``pipeline-<deliberation id>``), which the pipeline's call cap counts.

An interviewer's reply keeps the model's own text when the participant read something else
(``message.model_text``, NULL when they read it unchanged) and what the reply shaping did
(``message.shaping``: a JSON list of flags such as ``cut_at_speaker``, ``question_added``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:00:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    # Plain ADD COLUMN (with its default), not a batch: SQLite adds such a column in place, while a batch
    # would rebuild two tables that many others reference.
    op.add_column(
        "canonicalvalue", sa.Column("seed", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("participant", sa.Column("skipped_steps", sa.JSON(), server_default="[]", nullable=False))
    op.add_column("message", sa.Column("model_text", sa.Text(), nullable=True))
    op.add_column("message", sa.Column("shaping", sa.JSON(), server_default="[]", nullable=False))
    # The job run of a model call (``pipeline-12``): the continuous pipeline counts its calls by it.
    op.add_column("llmcall", sa.Column("job_run", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_llmcall_job_run"), "llmcall", ["job_run"], unique=False)


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place.
    op.drop_index(op.f("ix_llmcall_job_run"), table_name="llmcall")
    op.drop_column("llmcall", "job_run")
    op.drop_column("message", "shaping")
    op.drop_column("message", "model_text")
    op.drop_column("participant", "skipped_steps")
    # The seed mark goes: seeds become ordinary values without an author (their own cards stay, as
    # authorless submitted cards), shown and exported like participants' values from then on.
    log.warning("downgrade 0006: seed values lose their mark and become ordinary values without an author")
    op.drop_column("canonicalvalue", "seed")

"""seed values and skipped steps

A facilitator can seed a question with canonical values (``canonicalvalue.seed``; each seed has one member
card of its own, with no author), and a participant's record keeps the steps they passed with nothing to do
(``participant.skipped_steps``: ``vote``, ``judge``), which the progress bar shows as skipped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (with its default), not a batch: SQLite adds such a column in place, while a batch
    # would rebuild two tables that many others reference.
    op.add_column(
        "canonicalvalue", sa.Column("seed", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("participant", sa.Column("skipped_steps", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place; the seeds' own cards stay, as authorless submitted cards.
    op.drop_column("participant", "skipped_steps")
    op.drop_column("canonicalvalue", "seed")

"""message keys and reply claims

Each participant send carries an idempotency key (``message.client_key``, unique per interview), so a send
that arrives twice (a rerun, a second tab, a retried request) is stored once; a reply being written is a
row in the new status ``streaming``, the claim that keeps a second call from answering the same message.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "status IN ('complete', 'cut_off', 'error', 'streaming')"
OLD_STATUSES = "status IN ('complete', 'cut_off', 'error')"


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("client_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_unique_constraint("uq_message_client_key", ["interview_id", "client_key"])
        batch_op.drop_constraint(batch_op.f("ck_message_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_message_status"), sa.text(STATUSES))


def downgrade() -> None:
    op.execute("DELETE FROM message WHERE status = 'streaming'")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_message_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_message_status"), sa.text(OLD_STATUSES))
        batch_op.drop_constraint("uq_message_client_key", type_="unique")
        batch_op.drop_column("client_key")

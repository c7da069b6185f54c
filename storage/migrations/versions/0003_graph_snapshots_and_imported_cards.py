"""graph snapshots and imported cards

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:17:50.918776
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "graphsnapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deliberation_id", sa.Integer(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("judgements", sa.Integer(), nullable=False),
        sa.Column("values", sa.Integer(), nullable=False),
        sa.Column("edges", sa.Integer(), nullable=False),
        sa.Column("contexts", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("app_version", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deliberation_id"],
            ["deliberation.id"],
            name=op.f("fk_graphsnapshot_deliberation_id_deliberation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graphsnapshot")),
    )
    with op.batch_alter_table("graphsnapshot", schema=None) as batch_op:
        batch_op.create_index("ix_graphsnapshot_latest", ["deliberation_id", "created_at"], unique=False)

    with op.batch_alter_table("valuescard", schema=None) as batch_op:
        batch_op.alter_column("participant_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.alter_column("question_id", existing_type=sa.INTEGER(), nullable=True)

    # Judgements carry their deliberation, so a graph build reads one index range: backfill it from the
    # participant who made each judgement, then require it.
    with op.batch_alter_table("judgement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deliberation_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE judgement SET deliberation_id ="
        " (SELECT participant.deliberation_id FROM participant WHERE participant.id = judgement.participant_id)"
    )
    with op.batch_alter_table("judgement", schema=None) as batch_op:
        batch_op.alter_column("deliberation_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_judgement_deliberation_id_deliberation"),
            "deliberation",
            ["deliberation_id"],
            ["id"],
        )
        batch_op.create_index("ix_judgement_build", ["deliberation_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("judgement", schema=None) as batch_op:
        batch_op.drop_index("ix_judgement_build")
        batch_op.drop_constraint(batch_op.f("fk_judgement_deliberation_id_deliberation"), type_="foreignkey")
        batch_op.drop_column("deliberation_id")
    with op.batch_alter_table("valuescard", schema=None) as batch_op:
        batch_op.alter_column("question_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.alter_column("participant_id", existing_type=sa.INTEGER(), nullable=False)

    with op.batch_alter_table("graphsnapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_graphsnapshot_latest")

    op.drop_table("graphsnapshot")

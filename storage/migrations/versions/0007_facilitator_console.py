"""facilitator console: accounts, sign-in attempts, an app secret, job runs, hidden values

Named facilitator accounts (``facilitatoraccount``: an argon2id password hash, a session version that ends
every session of the account when raised), every sign-in attempt (``signinattempt``: the rate limit per
account and per client reads it, and it is the sign-in log), secrets the app makes for itself once
(``appsecret``: the session-signing key when SESSION_SECRET is unset, shared by every process), and the
facilitator's long work as persisted runs (``jobrun``: kind, arguments, status, progress, log lines, who,
when). A canonical value can be hidden by a facilitator (``canonicalvalue.hidden``; the reason is in the
moderation log). A moderation event may belong to no deliberation (``moderationevent.deliberation_id``
nullable): the console's own log (a deliberation deleted, an account added or disabled...). Going back
removes those events (an 0006 schema has no place for them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_STATUSES = ("queued", "running", "succeeded", "failed")
JOB_KINDS = ("dedup", "generate_contexts", "mine_contexts", "stories", "grade", "build", "import")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    string = sqlmodel.sql.sqltypes.AutoString
    when = sqlmodel.sql.sqltypes.UTCDateTime
    op.add_column(
        "canonicalvalue", sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "facilitatoraccount",
        sa.Column("name", string(length=100), nullable=False),
        sa.Column("password_hash", string(length=200), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", when(), nullable=False),
        sa.Column("disabled_at", when(), nullable=True),
        sa.Column("last_signin_at", when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilitatoraccount")),
        sa.UniqueConstraint("name", name=op.f("uq_facilitatoraccount_name")),
    )
    op.create_table(
        "signinattempt",
        sa.Column("account_name", string(length=100), nullable=False),
        sa.Column("client", string(length=100), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", string(length=100), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signinattempt")),
    )
    op.create_index("ix_signinattempt_account", "signinattempt", ["account_name", "created_at"], unique=False)
    op.create_index("ix_signinattempt_client", "signinattempt", ["client", "created_at"], unique=False)
    op.create_table(
        "appsecret",
        sa.Column("name", string(length=50), nullable=False),
        sa.Column("value", string(length=200), nullable=False),
        sa.Column("created_at", when(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_appsecret")),
    )
    op.create_table(
        "jobrun",
        sa.Column("kind", string(length=30), nullable=False),
        sa.Column("deliberation_id", sa.Integer(), nullable=True),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("actor", string(length=100), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", string(length=20), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", when(), nullable=False),
        sa.Column("started_at", when(), nullable=True),
        sa.Column("finished_at", when(), nullable=True),
        sa.Column("heartbeat_at", when(), nullable=True),
        sa.CheckConstraint(_in("status", JOB_STATUSES), name=op.f("ck_jobrun_status")),
        sa.CheckConstraint(_in("kind", JOB_KINDS), name=op.f("ck_jobrun_kind")),
        sa.ForeignKeyConstraint(
            ["deliberation_id"], ["deliberation.id"], name=op.f("fk_jobrun_deliberation_id_deliberation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobrun")),
    )
    op.create_index(op.f("ix_jobrun_deliberation_id"), "jobrun", ["deliberation_id"], unique=False)
    op.create_index("ix_jobrun_timeline", "jobrun", ["deliberation_id", "created_at"], unique=False)
    with op.batch_alter_table("moderationevent", schema=None) as batch_op:  # SQLite rebuilds the table
        batch_op.alter_column("deliberation_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM moderationevent WHERE deliberation_id IS NULL"))
    with op.batch_alter_table("moderationevent", schema=None) as batch_op:
        batch_op.alter_column("deliberation_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("ix_jobrun_timeline", table_name="jobrun")
    op.drop_index(op.f("ix_jobrun_deliberation_id"), table_name="jobrun")
    op.drop_table("jobrun")
    op.drop_table("appsecret")
    op.drop_index("ix_signinattempt_client", table_name="signinattempt")
    op.drop_index("ix_signinattempt_account", table_name="signinattempt")
    op.drop_table("signinattempt")
    op.drop_table("facilitatoraccount")
    op.drop_column("canonicalvalue", "hidden")

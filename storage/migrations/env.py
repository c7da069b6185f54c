"""Alembic environment: runs on the connection handed over by storage.db.upgrade."""

from alembic import context
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers every table on the metadata)

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - we never run alembic from its own CLI
    raise RuntimeError("Run migrations through storage.db.upgrade (python cli.py init-db).")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

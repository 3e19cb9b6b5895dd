"""Alembic environment: runs on the connection that ``paysim.store.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from paysim.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through paysim.store.migrate, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

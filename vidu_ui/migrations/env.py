"""Alembic's entry point. The store passes an open connection (``config.attributes["connection"]``), already
inside the transaction that holds the migration lock; migrations run on it."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Batch jobs retried by a person: ``batch_jobs.retired``.

A job is sent only while none of its tasks exists (``vidu_ui.batch``). A person may retry a job whose tasks all
definitely failed (or were never created): ``retired`` then holds the highest ``tasks.id`` of the job at that
moment, and the job's tasks up to it are behind it (kept in the history, no longer the job's outcome), so its
next create is allowed once, and every later one is blocked again by the new task. Null: never retried.

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_jobs") as batch:
        batch.add_column(sa.Column("retired", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("batch_jobs") as batch:
        batch.drop_column("retired")

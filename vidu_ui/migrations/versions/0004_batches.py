"""Batches: a ``batches`` row per batch, a ``batch_jobs`` row per job, and ``tasks.job_key``.

A job is one full create request (its frames' sources, its options by field name) under a stable ``key``
(``vidu_ui.batch.job_key``). The task created for it carries that key in ``tasks.job_key``, written with the
write-ahead record before the create leaves, so whether a job was ever created is read from ``tasks`` alone
(a reconciled row keeps the key); ``batch_jobs`` holds only what happens before a create: the job's checks,
a refusal to wait out (429: ``next_try``), a hold (invalid, refused, cancelled), and which runner is sending it
(``claimed_until``, a lease).

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("user", sa.Text),
        sa.Column("estimate", sa.Float),
    )
    op.create_table(
        "batch_jobs",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("batch_id", sa.Text, sa.ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
        sa.Column("start", sa.Text, nullable=False),
        sa.Column("end", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False, server_default="{}"),
        sa.Column("estimate", sa.Float),
        sa.Column("problems", sa.Text),
        sa.Column("hold", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("tries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_try", sa.Float),
        sa.Column("claimed_until", sa.Float),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("batch_jobs_batch", "batch_jobs", ["batch_id", "position"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("job_key", sa.Text))
    op.create_index("tasks_job_key", "tasks", ["job_key"])


def downgrade() -> None:
    op.drop_index("tasks_job_key", "tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("job_key")
    op.drop_index("batch_jobs_batch", "batch_jobs")
    op.drop_table("batch_jobs")
    op.drop_table("batches")

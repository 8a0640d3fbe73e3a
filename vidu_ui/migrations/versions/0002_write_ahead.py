"""Write-ahead records: a row exists before its create is sent, so the task id may not be known yet.

Rows get a surrogate ``id`` (their order) and a client reference ``ref``; ``task_id`` becomes nullable and
unique. New columns: ``reference`` (what the app put in ``payload``), ``fingerprint`` (SHA-256 of the body
sent), ``candidates`` (the tasks a reconciliation could not choose between). The rows are copied in their
old order; the new index on (state, created_at DESC) serves the follower's and reconciliation's scans.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_KEPT = (
    "task_id",
    "created_at",
    "user",
    "key_kind",
    "model",
    "prompt",
    "options",
    "start_thumbnail",
    "end_thumbnail",
    "create_response",
    "state",
    "err_code",
    "credits",
    "video_url",
    "cover_url",
    "watermarked_url",
    "urls_fetched_at",
    "last_status",
    "video_path",
    "watermarked_path",
    "problem",
    "updated_at",
    "version",
    "frame_sources",
)


def upgrade() -> None:
    op.create_table(
        "tasks_new",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ref", sa.Text, nullable=False, unique=True),
        sa.Column("task_id", sa.Text, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("user", sa.Text),
        sa.Column("key_kind", sa.Text, nullable=False, server_default="server"),
        sa.Column("model", sa.Text),
        sa.Column("prompt", sa.Text, nullable=False, server_default=""),
        sa.Column("options", sa.Text, nullable=False, server_default="{}"),
        sa.Column("start_thumbnail", sa.LargeBinary),
        sa.Column("end_thumbnail", sa.LargeBinary),
        sa.Column("create_response", sa.Text, nullable=False, server_default="{}"),
        sa.Column("state", sa.Text, nullable=False, server_default="created"),
        sa.Column("err_code", sa.Text),
        sa.Column("credits", sa.Float),
        sa.Column("video_url", sa.Text),
        sa.Column("cover_url", sa.Text),
        sa.Column("watermarked_url", sa.Text),
        sa.Column("urls_fetched_at", sa.Float),
        sa.Column("last_status", sa.Text),
        sa.Column("video_path", sa.Text),
        sa.Column("watermarked_path", sa.Text),
        sa.Column("problem", sa.Text),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("frame_sources", sa.Text),
        sa.Column("reference", sa.Text),
        sa.Column("fingerprint", sa.Text),
        sa.Column("candidates", sa.Text),
    )
    bind = op.get_bind()
    old = sa.table("tasks", *(sa.column(name) for name in _KEPT))
    new = sa.table("tasks_new", sa.column("ref"), *(sa.column(name) for name in _KEPT))
    order = [sa.literal_column("rowid")] if bind.dialect.name == "sqlite" else [old.c.created_at, old.c.task_id]
    rows = [dict(row._mapping) for row in bind.execute(sa.select(*old.c).order_by(*order))]
    for start in range(0, len(rows), 500):
        batch = rows[start : start + 500]
        bind.execute(sa.insert(new), [{**row, "ref": f"task:{row['task_id']}"} for row in batch])
    op.drop_table("tasks")
    op.rename_table("tasks_new", "tasks")
    op.create_index("tasks_created", "tasks", [sa.text("created_at DESC")])
    op.create_index("tasks_state_created", "tasks", ["state", sa.text("created_at DESC")])
    op.create_index("tasks_user", "tasks", ["user", sa.text("created_at DESC")])


def downgrade() -> None:
    raise NotImplementedError("the history does not go back to rows without write-ahead records")

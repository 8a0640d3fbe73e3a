"""The history as it was before Alembic (``PRAGMA user_version`` 2): one row per created task, keyed by task id.

A database made by that code is stamped with this revision instead of running it (``vidu_ui.store``).

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.Text, primary_key=True),
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
    )
    op.create_index("tasks_created", "tasks", [sa.text("created_at DESC")])
    op.create_index("tasks_state", "tasks", ["state"])
    op.create_index("tasks_user", "tasks", ["user", sa.text("created_at DESC")])


def downgrade() -> None:
    op.drop_table("tasks")

"""Indexes for the History tab and the start of the app on a large history.

``tasks_unfinished`` (partial: rows with an id and a state that may still change) serves the History's
"unfinished" filter and ``Store.unfinished``; ``tasks_missing_video`` (partial: no video saved; by state)
serves ``Store.missing_videos``; without them both read the whole table, thumbnails included (0.35 s and 0.47 s
on 10,000 rows). ``tasks_newest`` orders the newest first without a sort step; on SQLite it also holds the
columns the text search reads (task id, model, prompt), so rows that do not match are never read from the table.
On PostgreSQL it holds only the order: a B-tree entry is limited to about 2.7 kB (a long prompt would not fit),
and the thumbnails live out of the rows there (TOAST), so reading the table is cheap. The state filters use
``tasks_state_created`` (revision 0002). The partial indexes' conditions are the store's own (``store.py``
renders the values inline so that both databases can match them).

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_UNFINISHED = "task_id IS NOT NULL AND state NOT IN ('failed', 'not_created', 'success')"
_NO_VIDEO = "video_path IS NULL"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_index(
        "tasks_unfinished",
        "tasks",
        ["created_at", "id"],
        sqlite_where=sa.text(_UNFINISHED),
        postgresql_where=sa.text(_UNFINISHED),
    )
    op.create_index(  # led by the state, so that it beats tasks_state_created for "state = 'success'"
        "tasks_missing_video",
        "tasks",
        ["state", "created_at", "id"],
        sqlite_where=sa.text(_NO_VIDEO),
        postgresql_where=sa.text(_NO_VIDEO),
    )
    newest = ["created_at", "id", "task_id", "model", "prompt"] if sqlite else ["created_at", "id"]
    op.create_index("tasks_newest", "tasks", newest)


def downgrade() -> None:
    for name in ("tasks_newest", "tasks_missing_video", "tasks_unfinished"):
        op.drop_index(name, "tasks")

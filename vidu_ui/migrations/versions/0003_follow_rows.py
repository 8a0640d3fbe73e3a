"""Following driven by rows: when each task is next due, which follower holds it and until when.

``follow_at`` (NULL: not followed) is when the task's next job is due, ``job`` which (``query`` or
``download``); ``follow_since`` and ``polls`` rebuild its ``PollPolicy``; ``lease_owner``/``lease_until``
say which follower process holds it; ``download_attempts`` counts failed saves of its video. The nonces of
accepted callbacks live in ``callback_nonces`` so that every replica refuses a replay.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("follow_at", sa.Float))
        batch.add_column(sa.Column("follow_since", sa.Float))
        batch.add_column(sa.Column("polls", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("job", sa.Text, nullable=False, server_default="query"))
        batch.add_column(sa.Column("lease_owner", sa.Text))
        batch.add_column(sa.Column("lease_until", sa.Float))
        batch.add_column(sa.Column("download_attempts", sa.Integer, nullable=False, server_default="0"))
    op.create_index("tasks_follow_at", "tasks", ["follow_at"])
    op.create_table(
        "callback_nonces",
        sa.Column("nonce", sa.Text, primary_key=True),
        sa.Column("seen_at", sa.Float, nullable=False),
    )
    op.create_index("callback_nonces_seen", "callback_nonces", ["seen_at"])


def downgrade() -> None:
    op.drop_table("callback_nonces")
    op.drop_index("tasks_follow_at", "tasks")
    with op.batch_alter_table("tasks") as batch:
        for name in ("follow_at", "follow_since", "polls", "job", "lease_owner", "lease_until", "download_attempts"):
            batch.drop_column(name)

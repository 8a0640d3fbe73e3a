"""``tasks.cover_path``: where a task's cover image was kept, beside its video.

The page shows a task's cover from the app's own file route (or the bucket's presigned link), never from the
service's URL: the cover is downloaded under the same rules as the video (``vidu_ui.downloads``: an image by
its signature, a small size cap) and its location recorded here; None until then, or when it was refused.

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("cover_path", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("cover_path")

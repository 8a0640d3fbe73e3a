"""A full-text index for the History's search, on SQLite: ``tasks_text``, an FTS5 table of trigrams over each
task's id, model and prompt.

A search is a word anywhere inside a prompt (``LIKE '%heron%'``), which no B-tree index can narrow: before this
revision every row's searched columns were read (``tasks_newest``, revision 0005), 51 ms on 100,000 rows against
11 ms for the newest 200. The trigram index finds the rows holding a text of three characters or more without
looking at the others (``Store.list``; a shorter text is still matched with ``LIKE``). It holds no copy of the
text (``content='tasks'``): the triggers below keep it in step with the rows, as SQLite's documentation for
external-content tables writes them. A later revision that rebuilds ``tasks`` (Alembic's batch mode on SQLite
copies the table) must create the triggers again.

Where this SQLite has no FTS5 trigram tokenizer (before 3.34), nothing is made and the search stays as it was.
On PostgreSQL nothing is made either: its rows keep the thumbnails out of line (TOAST), and an index for ``ILIKE``
(``pg_trgm``) is an extension that only a database's owner may add.

Revision ID: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TEXT_TABLE = """
CREATE VIRTUAL TABLE tasks_text USING fts5(
    task_id, model, prompt, content='tasks', content_rowid='id', tokenize='trigram'
)"""
TRIGGERS = (
    """CREATE TRIGGER tasks_text_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_text(rowid, task_id, model, prompt) VALUES (new.id, new.task_id, new.model, new.prompt);
END""",
    """CREATE TRIGGER tasks_text_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_text(tasks_text, rowid, task_id, model, prompt)
        VALUES ('delete', old.id, old.task_id, old.model, old.prompt);
END""",
    """CREATE TRIGGER tasks_text_update AFTER UPDATE OF task_id, model, prompt ON tasks BEGIN
    INSERT INTO tasks_text(tasks_text, rowid, task_id, model, prompt)
        VALUES ('delete', old.id, old.task_id, old.model, old.prompt);
    INSERT INTO tasks_text(rowid, task_id, model, prompt) VALUES (new.id, new.task_id, new.model, new.prompt);
END""",
)


def _has_trigram(bind: sa.Connection) -> bool:
    try:
        bind.exec_driver_sql("CREATE VIRTUAL TABLE temp.trigram_probe USING fts5(x, tokenize='trigram')")
    except sa.exc.OperationalError:
        return False
    bind.exec_driver_sql("DROP TABLE temp.trigram_probe")
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not _has_trigram(bind):
        return
    op.execute(TEXT_TABLE)
    op.execute("INSERT INTO tasks_text(tasks_text) VALUES ('rebuild')")  # the rows already there
    for trigger in TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("tasks_text_update", "tasks_text_delete", "tasks_text_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS tasks_text")

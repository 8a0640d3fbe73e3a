"""``store`` on a real PostgreSQL server, what only a server has: the URL setting, several processes' connections
and the advisory lock around migrations. (The store tests on ``db`` in ``test_store`` run on PostgreSQL too.)"""

from __future__ import annotations

import sqlalchemy as sa

from tests.support.threads import at_once
from tests.support.tracking import status
from vidu_ui.responses import TaskStatus
from vidu_ui.settings import Settings
from vidu_ui.store import SCHEMA_VERSION, Store, database_url


def test_the_url_setting_chooses_postgresql(postgres_url: str) -> None:
    settings = Settings.build(database_url=postgres_url)
    assert database_url(settings).get_backend_name() == "postgresql"
    with Store.open(settings) as db:
        assert db.dialect == "postgresql" and db.url.drivername == "postgresql+psycopg"
        with db.read() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_VERSION
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("tasks")}
        assert "tasks_state_created" in indexes


def test_replicas_open_and_write_at_once(postgres_url: str) -> None:
    """Several stores (as several processes would) migrate once and share the rows."""
    stores: list[Store] = []
    assert at_once(lambda: stores.append(Store(postgres_url)), 4) == []
    assert len(stores) == 4
    for n, store in enumerate(stores):
        task_id = str(n + 1)
        store.record_submission(
            task_id=task_id,
            body={"model": "viduq1", "prompt": "a fox"},
            response={"task_id": task_id, "state": "created"},
        )
    stores[0].update_status("2", TaskStatus.from_json(status("2", "success")))
    assert [r.task_id for r in stores[3].list()] == ["4", "3", "2", "1"]
    assert stores[1].get("2").state == "success"  # type: ignore[union-attr]
    for store in stores:
        store.close()

"""``store`` on a real PostgreSQL server: the SQLite tests of ``test_store`` run again on it, plus what only a
server has (several processes' connections, the advisory lock around migrations)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.support.tracking import status
from vidu_ui.responses import TaskStatus
from vidu_ui.settings import Settings
from vidu_ui.store import SCHEMA_VERSION, Store, database_url

from .servers import postgres_base, postgres_url  # noqa: F401 - fixtures
from .test_store import (  # noqa: F401 - the same tests, on the PostgreSQL ``db`` below
    Clock,
    _record,
    test_failed_state_keeps_reason_and_no_urls,
    test_list_filters_and_newest_first,
    test_record_prepared_reads_a_prepared_request,
    test_record_twice_keeps_the_first,
    test_round_trip,
    test_settled_without_a_task,
    test_the_creator_owns_a_task_looked_up_before_its_answer_was_recorded,
    test_threads_share_a_store,
    test_write_ahead_record_then_created,
)


@pytest.fixture
def db(postgres_url: str) -> Iterator[Store]:  # noqa: F811
    store = Store(postgres_url, clock=Clock())
    yield store
    store.close()


def test_the_url_setting_chooses_postgresql(postgres_url: str) -> None:  # noqa: F811
    settings = Settings.build(database_url=postgres_url)
    assert database_url(settings).get_backend_name() == "postgresql"
    with Store.open(settings) as db:
        assert db.dialect == "postgresql" and db.url.drivername == "postgresql+psycopg"
        with db.read() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_VERSION
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("tasks")}
        assert "tasks_state_created" in indexes


def test_replicas_open_and_write_at_once(postgres_url: str) -> None:  # noqa: F811
    """Several stores (as several processes would) migrate once and share the rows."""
    stores: list[Store] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            stores.append(Store(postgres_url))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(stores) == 4
    for n, store in enumerate(stores):
        _record(store, str(n + 1))
    stores[0].update_status("2", TaskStatus.from_json(status("2", "success")))
    assert [r.task_id for r in stores[3].list()] == ["4", "3", "2", "1"]
    assert stores[1].get("2").state == "success"  # type: ignore[union-attr]
    for store in stores:
        store.close()

"""The load test of ``scripts/load.py``: users at once submitting and following their task on ``python app.py``
against the simulator process, then 3× a small queue bound pressing Generate while every Gradio slot is taken.

The light variant runs with the other tests (8 users, short task times, a queue bound of 3; well under a
minute); the full one (50 users) is marked ``slow``: ``python -m pytest -m slow``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.load import BUSY, FULL, LIGHT, BusyResult, LoadResult, Plan, View, run_all


def test_the_view_follows_diffs_and_skipped_outputs() -> None:
    view = View()
    update = {"__type__": "update"}
    view.take({"msg": "process_generating", "output": {"data": ["**Queued**", None]}})
    view.take({"msg": "process_generating", "output": {"data": [[["replace", [], "**Succeeded**"]], []]}})
    assert view.shown == ["**Succeeded**", None]
    view.take({"msg": "process_completed", "output": {"data": [update, {"url": "http://x/v.mp4"}]}})
    assert view.shown == ["**Succeeded**", {"url": "http://x/v.mp4"}]  # a skipped output keeps what is shown


def check_load(result: LoadResult, plan: Plan) -> None:
    assert result.errors == []
    assert result.completed == plan.users  # every task followed until its video was saved and served
    assert result.duplicates == 0
    assert len(result.creates) == result.tasks_made == plan.users  # one create per click, as the log shows


def check_busy(result: BusyResult, plan: Plan) -> None:
    assert result.users == 3 * plan.queue_bound
    assert result.timeouts == 0 and result.other_errors == []
    assert plan.queue_bound <= result.accepted < result.users  # the queue took its bound, the excess was refused
    assert result.refused == result.users - result.accepted
    assert BUSY in result.busy_text
    assert result.slowest_refusal < 5.0  # refused at once, not left to wait
    assert result.creates == result.accepted  # a refused request never reaches the service
    assert result.holders_completed == result.holders  # the pages holding the slots saw their video


def test_light_load_and_queue_bound(tmp_path: Path) -> None:
    loaded, busy = run_all(LIGHT, tmp_path)
    check_load(loaded, LIGHT)
    check_busy(busy, LIGHT)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_full_load_and_queue_bound(tmp_path: Path) -> None:
    loaded, busy = run_all(FULL, tmp_path)
    check_load(loaded, FULL)
    check_busy(busy, FULL)

"""Make ``tests/data/history-before-alembic.sqlite3``: a history written by the store as it was before Alembic
(schema version 2, ``PRAGMA user_version``), for the test that upgrades it in place (``tests/test_store.py``).

Run it with the old package on the path, not this one (``4c9ce12`` is main's last commit with that store)::

    git archive 4c9ce12 vidu_ui | tar -x -C /tmp/old-vidu
    PYTHONPATH=/tmp/old-vidu python3 scripts/make_old_history.py tests/data/history-before-alembic.sqlite3

Four tasks, as the old app left them: a succeeded one with its video saved and frame sources, a failed one, a
visitor's one still processing, and one created and never queried (two of them in the same second).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image

from vidu_ui import store as old  # the OLD package (see above)
from vidu_ui.responses import TaskStatus


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 54), colour).save(buffer, "PNG")
    return buffer.getvalue()


def status(task_id: str, state: str, **extra: object) -> TaskStatus:
    return TaskStatus.from_json({"id": task_id, "state": state, "err_code": "", "credits": 20, **extra})


def main(path: Path) -> None:
    assert not hasattr(old, "tasks"), "run this with the old package on PYTHONPATH (see the docstring)"
    path.unlink(missing_ok=True)
    now = [1_760_000_000.0]
    store = old.Store(path, clock=lambda: now[0])
    body = {"model": "viduq1", "duration": 5, "resolution": "1080p", "seed": 7}
    store.record_submission(
        task_id="900001",
        body={**body, "prompt": "a lighthouse at dawn"},
        response={"task_id": "900001", "state": "created", "credits": 20},
        start_image=png((200, 120, 40)),
        end_image=png((20, 40, 160)),
        user="ana",
    )
    store.set_frame_sources("900001", "/uploads/dawn.png", "https://example.com/dusk.jpg")
    now[0] += 30
    creation = {"id": "c1", "url": "https://cdn.example/900001.mp4", "cover_url": "https://cdn.example/900001.jpg"}
    store.update_status("900001", status("900001", "success", creations=[creation]))
    store.set_video("900001", "/data/videos/900001.mp4")
    now[0] += 1
    store.record_submission(
        task_id="900002",
        body={**body, "prompt": "a storm"},
        response={"task_id": "900002", "state": "created"},
        user="bo",
    )
    store.update_status("900002", status("900002", "failed", err_code="AuditSubmitIllegal"))
    store.record_submission(
        task_id="900003",
        body={**body, "prompt": "a visitor's task"},
        response={"task_id": "900003", "state": "queueing"},
        key_kind="visitor",
    )
    store.update_status("900003", status("900003", "processing"))
    store.set_problem("900003", "stopped following: the visitor's key is not kept")
    now[0] += 60
    store.record_submission(
        task_id="900004", body={**body, "prompt": "never queried"}, response={"task_id": "900004", "state": "created"}
    )
    store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))

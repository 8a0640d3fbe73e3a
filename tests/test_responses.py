from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.support.samples import SEED_RESPONSE, SUCCESS_STATUS
from vidu_ui.responses import TASK_STATES, CreatedTask, Creation, TaskStatus, describe_validation_error


# The seed's "Response Example" (000_5408da94cb9b5019.txt), verbatim.
def test_seed_create_response_parses() -> None:
    task = CreatedTask.from_json(SEED_RESPONSE)
    assert task.task_id == "911088422699962368"
    assert task.type == "headtailimg2video"
    assert task.state == "created"
    assert task.model == "viduq1"
    assert task.duration == 5
    assert task.seed == 722073967
    assert task.credits == 80
    assert task.wm_position == "unspecified"
    assert task.off_peak is False and task.watermark is False and task.is_rec is False
    assert task.images is not None and len(task.images) == 2
    assert task.created_at == "2026-01-20T06:52:02.323137590Z"
    assert task.raw == SEED_RESPONSE


def test_create_tolerates_missing_and_extra_fields() -> None:
    task = CreatedTask.from_json({"task_id": 911088422699962368, "brand_new_field": {"x": 1}, "seed": ""})
    assert task.task_id == "911088422699962368"
    assert task.state is None and task.model is None and task.seed is None
    assert task.model_extra == {"brand_new_field": {"x": 1}}
    assert task.raw["brand_new_field"] == {"x": 1}


def test_create_wm_position_int() -> None:
    assert CreatedTask.from_json({**SEED_RESPONSE, "wm_position": 3}).wm_position == 3


@pytest.mark.parametrize("data", [{}, {"task_id": ""}, {"task_id": None}, {"task_id": "  "}])
def test_create_requires_task_id(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CreatedTask.from_json(data)


def test_create_state_outside_the_five_is_kept_and_a_non_word_rejected() -> None:
    assert CreatedTask.from_json({**SEED_RESPONSE, "state": "Scheduling"}).state == "scheduling"
    with pytest.raises(ValidationError):
        CreatedTask.from_json({**SEED_RESPONSE, "state": "not a state"})


@given(st.integers(min_value=0, max_value=2**63))
def test_integer_task_ids_become_strings(n: int) -> None:
    assert CreatedTask.from_json({"task_id": n}).task_id == str(n)


def test_status_success_helpers() -> None:
    status = TaskStatus.from_json(SUCCESS_STATUS)
    assert status.finished and status.succeeded and not status.failed
    assert status.video_url == "https://cdn.test/v.mp4?sig=1"
    assert status.cover_url == "https://cdn.test/c.jpg"
    assert status.watermarked_url == "https://cdn.test/w.mp4"
    assert status.raw == SUCCESS_STATUS
    assert status.creations[0].raw["extra_thing"] == 7


@pytest.mark.parametrize("state", TASK_STATES)
def test_every_state_known(state: str) -> None:
    status = TaskStatus.from_json({"state": state, "creations": None})
    assert status.creations == []
    assert status.finished == (state in ("success", "failed"))
    assert status.video_url is None


def test_failed_status_keeps_err_code() -> None:
    status = TaskStatus.from_json({"state": "failed", "err_code": "CreditInsufficient"})
    assert status.failed and status.finished and status.err_code == "CreditInsufficient"


def test_a_state_that_is_not_a_word_is_named_in_the_description() -> None:
    data = {"state": "paused!?", "creations": []}
    with pytest.raises(ValidationError) as info:
        TaskStatus.from_json(data)
    assert "'paused!?'" in describe_validation_error(info.value, data)
    assert TaskStatus.from_json({"state": "paused"}).outcome == "running"  # a word: still running


def test_missing_state_described() -> None:
    with pytest.raises(ValidationError) as info:
        TaskStatus.from_json({})
    assert "'state' is missing" in describe_validation_error(info.value, {})


def test_non_object_described() -> None:
    with pytest.raises(ValidationError) as info:
        TaskStatus.from_json([1, 2])
    assert "not an object" in describe_validation_error(info.value, [1, 2])


@pytest.mark.parametrize("model", [CreatedTask, TaskStatus, Creation])
def test_every_field_documented(model: type[CreatedTask | TaskStatus | Creation]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no docstring"

"""The ``/_sim/`` admin endpoints, for driving a simulator that runs as a separate process."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pydantic import ValidationError

from .faults import Fault
from .tasks import Relay
from .wire import Response, error_response, json_response

if TYPE_CHECKING:
    from .server import Simulator


def admin(sim: Simulator, method: str, path: str, body: bytes) -> Response:
    """Answer an admin call under ``/_sim/`` (no authentication: the simulator is a local test tool)."""
    name = path[len("/_sim/") :].strip("/")
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        return error_response(400, "BadRequest", "the body is not JSON")
    if (method, name) == ("GET", "health"):
        return json_response({"ok": True, "tasks": len(sim.store.all())})
    if (method, name) == ("GET", "requests"):
        return json_response([r.to_json() for r in sim.requests])
    if (method, name) == ("GET", "faults"):
        return json_response([f.model_dump() for f in sim.faults.pending()])
    if (method, name) == ("POST", "faults"):
        try:
            faults = [Fault.model_validate(item) for item in (data if isinstance(data, list) else [data])]
        except ValidationError as exc:
            return error_response(400, "FieldInvalid", str(exc.errors(include_url=False, include_input=False)))
        for fault in faults:
            sim.inject(fault)
        return json_response({"queued": len(sim.faults.pending())})
    if (method, name) == ("DELETE", "faults"):
        sim.clear_faults()
        return json_response({"queued": 0})
    if (method, name) == ("POST", "fail_next"):
        err_code = data.get("err_code", "InternalServiceFailure") if isinstance(data, dict) else None
        if not isinstance(err_code, str) or not err_code:
            return error_response(400, "FieldInvalid", "err_code must be a non-empty string")
        sim.fail_next(err_code)
        return json_response({"ok": True})
    if (method, name) == ("POST", "finish"):
        task_id = data.get("task_id") if isinstance(data, dict) else None
        if not isinstance(task_id, str):
            return error_response(400, "FieldInvalid", "task_id must be a string")
        return json_response({"finished": sim.finish(task_id)})
    if (method, name) == ("POST", "reset"):
        sim.reset()
        return json_response({"ok": True})
    if (method, name) == ("POST", "relay"):
        try:
            sim.relay = Relay.model_validate(data)
        except ValidationError as exc:
            return error_response(400, "FieldInvalid", str(exc.errors(include_url=False, include_input=False)))
        return json_response(sim.relay.model_dump())
    if (method, name) == ("POST", "credits"):
        credits = data.get("credits") if isinstance(data, dict) else None
        if not isinstance(credits, int) or isinstance(credits, bool):
            return error_response(400, "FieldInvalid", "credits must be an integer")
        sim.credits = credits
        return json_response({"credits": sim.credits})
    return error_response(404, "NotFound", f"no admin endpoint {method} {path}")

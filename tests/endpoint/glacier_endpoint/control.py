"""The test-knob API under /_control/ (JSON, no authentication, never shaped or faulted)."""

import json

from .errors import GlacierError
from .faults import FaultSpecError

MAX_BODY = 1024 * 1024


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _json_body(handler):
    raw = handler.body.read_all(MAX_BODY)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ControlError(400, "request body is not valid JSON: %s" % exc) from exc


def _object(document):
    if not isinstance(document, dict):
        raise ControlError(400, "expected a JSON object")
    return document


def counters(handler, _body):
    return handler.server.counters.snapshot()


def reset_counters(handler, _body):
    handler.server.counters.reset()
    return handler.server.counters.snapshot()


def list_faults(handler, _body):
    return {"faults": handler.server.faults.pending(), "held": handler.server.faults.held()}


def release(handler, _body):
    return {"released": handler.server.faults.release()}


def add_faults(handler, body):
    try:
        return {"added": handler.server.faults.add(body)}
    except FaultSpecError as exc:
        raise ControlError(400, str(exc)) from exc


def clear_faults(handler, _body):
    return {"cleared": handler.server.faults.clear()}


def get_network(handler, _body):
    return handler.server.network.settings()


def set_network(handler, body):
    body = _object(body)
    try:
        return handler.server.network.update(latency_ms=body.get("latency_ms"), bandwidth=body.get("bandwidth"))
    except (TypeError, ValueError) as exc:
        raise ControlError(400, "latency_ms and bandwidth must be non-negative numbers: %s" % exc) from exc


def expire_upload(handler, body):
    body = _object(body)
    vault = body.get("vault")
    if not vault or not (body.get("upload_id") or body.get("all")):
        raise ControlError(400, 'expected {"vault": ..., "upload_id": ...} or {"vault": ..., "all": true}')
    return {"expired": handler.store.expire_uploads(vault, body.get("upload_id"), bool(body.get("all")))}


def complete_jobs(handler, _body):
    return {"completed": handler.store.complete_jobs()}


def state(handler, _body):
    server = handler.server
    return {
        "store": handler.store.summary(),
        "faults": server.faults.pending(),
        "network": server.network.settings(),
        "counters": server.counters.snapshot(),
    }


def health(_handler, _body):
    return {"ok": True}


ACTIONS = {
    ("GET", "counters"): counters,
    ("POST", "reset-counters"): reset_counters,
    ("GET", "faults"): list_faults,
    ("POST", "faults"): add_faults,
    ("DELETE", "faults"): clear_faults,
    ("POST", "release"): release,
    ("GET", "network"): get_network,
    ("POST", "network"): set_network,
    ("POST", "expire-upload"): expire_upload,
    ("POST", "complete-jobs"): complete_jobs,
    ("GET", "state"): state,
    ("GET", "health"): health,
}


def handle(handler, path):
    name = path[len("/_control"):].strip("/")
    action = ACTIONS.get((handler.command, name))
    try:
        if action is None:
            known = sorted("%s /_control/%s" % key for key in ACTIONS)
            raise ControlError(404, "unknown control action %s /_control/%s; known: %s" % (handler.command, name, ", ".join(known)))
        body = _json_body(handler) if handler.command in ("POST", "PUT") else None
        result = action(handler, body)
        status = 200
    except ControlError as exc:
        result, status = {"error": exc.message}, exc.status
    except GlacierError as exc:
        result, status = exc.body(), exc.status
    handler.respond(status, body=result)

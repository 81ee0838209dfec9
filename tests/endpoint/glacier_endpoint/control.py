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


def complete_jobs(handler, body):
    body = _object(body)
    job_id, vault = body.get("job_id"), body.get("vault")
    if any(value is not None and not isinstance(value, str) for value in (job_id, vault)):
        raise ControlError(400, 'expected {} (every pending job), {"job_id": ...} or {"vault": ...}')
    return {"completed": handler.store.complete_jobs(job_id, vault)}


def release_faults(handler, _body):
    return {"released": handler.server.faults.release()}


def get_hold(handler, _body):
    return {"jobs": handler.store.hold_jobs, "restores": handler.s3.hold_restores}


def set_hold(handler, body):
    body = _object(body)
    for name in ("jobs", "restores"):
        if name in body and not isinstance(body[name], bool):
            raise ControlError(400, "%s must be true or false" % name)
    if "jobs" in body:
        handler.store.hold_jobs = body["jobs"]
    if "restores" in body:
        handler.s3.hold_restores = body["restores"]
    return get_hold(handler, None)


def _selector(body):
    """{} (every object), {"bucket"}, {"bucket", "key"} or {"bucket", "key", "version_id"}."""
    body = _object(body)
    unknown = set(body) - {"bucket", "key", "version_id"}
    if unknown or any(not isinstance(value, str) for value in body.values()) or ("key" in body and "bucket" not in body) \
            or ("version_id" in body and "key" not in body):
        raise ControlError(400, 'expected {}, {"bucket": ...}, {"bucket": ..., "key": ...} or {"bucket": ..., "key": ..., "version_id": ...}')
    return body


def complete_restores(handler, body):
    return {"completed": handler.s3.complete_restores(_selector(body))}


def expire_restores(handler, body):
    return {"expired": handler.s3.expire_restores(_selector(body))}


def list_deny(handler, _body):
    return {"rules": list(handler.s3.deny_rules)}


def add_deny(handler, body):
    rules = body if isinstance(body, list) else [body]
    added = []
    for rule in rules:
        rule = _object(rule)
        operations = rule.get("operations", ["*"])
        if isinstance(operations, str):
            operations = [operations]
        bucket, prefix = rule.get("bucket"), rule.get("key_prefix", "")
        valid_operations = isinstance(operations, list) and all(isinstance(item, str) for item in operations)
        if not isinstance(bucket, str) or not bucket or not isinstance(prefix, str) or not valid_operations \
                or set(rule) - {"bucket", "operations", "key_prefix"}:
            raise ControlError(400, 'expected {"bucket": NAME or "*", "operations": ["PutObject", ...] or ["*"], "key_prefix": "..."}')
        added.append({"bucket": bucket, "operations": operations, "key_prefix": prefix})
    handler.s3.deny_rules.extend(added)
    return {"added": added}


def clear_deny(handler, _body):
    cleared = len(handler.s3.deny_rules)
    handler.s3.deny_rules[:] = []
    return {"cleared": cleared}


def state(handler, _body):
    server = handler.server
    return {
        "store": handler.store.summary(),
        "s3": handler.s3.summary(),
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
    ("POST", "release"): release_faults,  # the older name
    ("GET", "network"): get_network,
    ("POST", "network"): set_network,
    ("POST", "expire-upload"): expire_upload,
    ("POST", "complete-jobs"): complete_jobs,
    ("POST", "release-faults"): release_faults,
    ("GET", "hold"): get_hold,
    ("POST", "hold"): set_hold,
    ("POST", "s3/complete-restores"): complete_restores,
    ("POST", "s3/expire-restores"): expire_restores,
    ("GET", "s3/deny"): list_deny,
    ("POST", "s3/deny"): add_deny,
    ("DELETE", "s3/deny"): clear_deny,
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

"""Request, byte and error counters exposed at /_control/counters, kept apart for Glacier and S3."""

import threading


class _Service:
    def __init__(self):
        self.requests = {}
        self.errors = {}
        self.faults = {}
        self.bytes_received = 0
        self.bytes_sent = 0

    def snapshot(self):
        return {
            "requests": dict(self.requests), "bytes_received": self.bytes_received, "bytes_sent": self.bytes_sent,
            "errors": dict(self.errors), "faults": dict(self.faults),
        }


class Counters:
    """The top level of a snapshot is the Glacier side (as before S3 existed); S3's are under "s3"."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reset()

    def _reset(self):
        self._services = {"glacier": _Service(), "s3": _Service()}

    def _side(self, service):
        return self._services["s3" if service == "s3" else "glacier"]

    def request(self, operation, service="glacier"):
        with self._lock:
            side = self._side(service)
            side.requests[operation] = side.requests.get(operation, 0) + 1

    def error(self, code, service="glacier"):
        with self._lock:
            side = self._side(service)
            side.errors[code] = side.errors.get(code, 0) + 1

    def fault(self, kind, service="glacier"):
        with self._lock:
            side = self._side(service)
            side.faults[kind] = side.faults.get(kind, 0) + 1

    def received(self, count, service="glacier"):
        with self._lock:
            self._side(service).bytes_received += count

    def sent(self, count, service="glacier"):
        with self._lock:
            self._side(service).bytes_sent += count

    def snapshot(self):
        with self._lock:
            result = self._services["glacier"].snapshot()
            result["s3"] = self._services["s3"].snapshot()
            return result

    def reset(self):
        with self._lock:
            self._reset()

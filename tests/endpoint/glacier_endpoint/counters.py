"""Request, byte and error counters exposed at /_control/counters."""

import threading


class Counters:
    def __init__(self):
        self._lock = threading.Lock()
        self._reset()

    def _reset(self):
        self.requests = {}
        self.errors = {}
        self.faults = {}
        self.bytes_received = 0
        self.bytes_sent = 0

    def request(self, operation):
        with self._lock:
            self.requests[operation] = self.requests.get(operation, 0) + 1

    def error(self, code):
        with self._lock:
            self.errors[code] = self.errors.get(code, 0) + 1

    def fault(self, kind):
        with self._lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def received(self, count):
        with self._lock:
            self.bytes_received += count

    def sent(self, count):
        with self._lock:
            self.bytes_sent += count

    def snapshot(self):
        with self._lock:
            return {
                "requests": dict(self.requests),
                "bytes_received": self.bytes_received,
                "bytes_sent": self.bytes_sent,
                "errors": dict(self.errors),
                "faults": dict(self.faults),
            }

    def reset(self):
        with self._lock:
            self._reset()

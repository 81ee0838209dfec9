"""Fault injection: make the N-th request of an operation fail, hang, drop, corrupt its data or wait for a release."""

import itertools
import threading

from .errors import GlacierError

KINDS = ("500", "503", "408", "throttle", "drop", "slow", "corrupt", "hold")

# Status, code, message and type of the error kinds, as AWS sends them.
ERROR_FAULTS = {
    "500": (500, "ServiceUnavailableException", "Service is unavailable. Try again later.", "Server"),
    "503": (503, "ServiceUnavailableException", "Service Unavailable", "Server"),
    "408": (408, "RequestTimeoutException", "Request timed out.", "Client"),
    "throttle": (400, "ThrottlingException", "Rate exceeded", "Client"),
}


class FaultSpecError(ValueError):
    """A fault description the control API cannot accept."""


class Fault:
    """One pending fault; it fires on requests nth .. nth+count-1 of its operation."""

    def __init__(self, fault_id, spec):
        self.fault_id = fault_id
        self.operation = spec.get("operation", "*") or "*"
        if not isinstance(self.operation, str):
            raise FaultSpecError("operation must be a string")
        self.kind = str(spec.get("kind", ""))
        if self.kind not in KINDS:
            raise FaultSpecError("kind must be one of %s, not %r" % (", ".join(KINDS), spec.get("kind")))
        try:
            self.nth = int(spec.get("nth", 1))
            self.count = int(spec.get("count", 1))
            self.delay = float(spec.get("delay", 5.0))
        except (TypeError, ValueError) as exc:
            raise FaultSpecError("nth and count must be integers, delay a number") from exc
        if self.nth < 1 or self.count < 1 or self.delay < 0:
            raise FaultSpecError("nth and count must be at least 1, delay not negative")
        self.code = spec.get("code")
        self.message = spec.get("message")
        self.seen = 0
        self.fired = 0

    def matches(self, operation):
        return self.operation in ("*", operation)

    def error(self):
        """The GlacierError this fault answers with (error kinds only)."""
        status, code, message, error_type = ERROR_FAULTS[self.kind]
        return GlacierError(status, self.code or code, self.message or message, error_type, close=self.kind == "408")

    def describe(self):
        return {
            "id": self.fault_id, "operation": self.operation, "kind": self.kind, "nth": self.nth,
            "count": self.count, "delay": self.delay, "seen": self.seen, "fired": self.fired,
        }


class FaultInjector:
    """Thread-safe list of pending faults; requests are counted from when a fault is added."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._ids = itertools.count(1)
        self._held = []  # [(fault id, operation, threading.Event)] of requests a "hold" fault keeps waiting

    def add(self, specs):
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
            raise FaultSpecError("expected a fault object or a list of them")
        with self._lock:
            faults = [Fault(next(self._ids), spec) for spec in specs]
            self._faults.extend(faults)
            return [fault.describe() for fault in faults]

    def take(self, operation):
        """Count this request against every matching fault; return the first one that fires."""
        chosen = None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(operation):
                    continue
                fault.seen += 1
                if chosen is None and fault.seen >= fault.nth and fault.fired < fault.count:
                    fault.fired += 1
                    chosen = fault
            self._faults = [fault for fault in self._faults if fault.fired < fault.count]
        return chosen

    def pending(self):
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def hold(self, fault):
        """Keep the calling request waiting until release(), or at most ``fault.delay`` seconds."""
        item = (fault.fault_id, fault.operation, threading.Event())
        with self._lock:
            self._held.append(item)
        try:
            item[2].wait(fault.delay)
        finally:
            with self._lock:
                self._held.remove(item)

    def held(self):
        with self._lock:
            return [{"id": fault_id, "operation": operation} for fault_id, operation, _event in self._held]

    def release(self):
        """Let every held request go on; returns how many there were."""
        with self._lock:
            for _fault_id, _operation, event in self._held:
                event.set()
            return len(self._held)

    def clear(self):
        with self._lock:
            cleared = len(self._faults)
            self._faults = []
            return cleared

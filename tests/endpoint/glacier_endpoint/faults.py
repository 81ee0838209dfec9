"""Fault injection: make the N-th request of an operation fail, hang, drop, corrupt its data or wait for a release."""

import itertools
import threading

from .errors import GlacierError
from .s3.errors import S3Error

KINDS = ("500", "503", "408", "throttle", "denied", "drop", "slow", "hold", "corrupt")
SERVICES = ("glacier", "s3", "*")

# Status, code, message and type of the error kinds, as each service sends them.
ERROR_FAULTS = {
    "500": (500, "ServiceUnavailableException", "Service is unavailable. Try again later.", "Server"),
    "503": (503, "ServiceUnavailableException", "Service Unavailable", "Server"),
    "408": (408, "RequestTimeoutException", "Request timed out.", "Client"),
    "throttle": (400, "ThrottlingException", "Rate exceeded", "Client"),
    "denied": (403, "AccessDeniedException", "User is not authorized to perform this operation", "Client"),
}
S3_ERROR_FAULTS = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "503": (503, "ServiceUnavailable", "Service is unable to handle request."),
    "408": (400, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period. "
            "Idle connections will be closed."),
    "throttle": (503, "SlowDown", "Please reduce your request rate."),
    "denied": (403, "AccessDenied", "Access Denied"),
}
ERROR_KINDS = tuple(ERROR_FAULTS)


class FaultSpecError(ValueError):
    """A fault description the control API cannot accept."""


class Fault:
    """One pending fault; it fires on requests nth .. nth+count-1 of its operation."""

    def __init__(self, fault_id, spec):
        self.fault_id = fault_id
        self.service = spec.get("service", "glacier") or "glacier"
        if self.service not in SERVICES:
            raise FaultSpecError("service must be one of %s, not %r" % (", ".join(SERVICES), self.service))
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
        # "hold" replies wait on this until the fault is released or cleared.
        self.released = threading.Event()

    def matches(self, operation, service):
        return self.service in ("*", service) and self.operation in ("*", operation)

    def error(self, service):
        """The error this fault answers with (error kinds only), in the service's own terms."""
        if service == "s3":
            status, code, message = S3_ERROR_FAULTS[self.kind]
            return S3Error(status, self.code or code, self.message or message, close=self.kind == "408")
        status, code, message, error_type = ERROR_FAULTS[self.kind]
        return GlacierError(status, self.code or code, self.message or message, error_type, close=self.kind == "408")

    def describe(self):
        return {
            "id": self.fault_id, "service": self.service, "operation": self.operation, "kind": self.kind, "nth": self.nth,
            "count": self.count, "delay": self.delay, "seen": self.seen, "fired": self.fired,
        }


class FaultInjector:
    """Thread-safe list of pending faults; requests are counted from when a fault is added."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._holding = []
        self._ids = itertools.count(1)
        self._held = []  # [(fault id, operation)] of replies a "hold" fault keeps waiting

    def add(self, specs):
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
            raise FaultSpecError("expected a fault object or a list of them")
        with self._lock:
            faults = [Fault(next(self._ids), spec) for spec in specs]
            self._faults.extend(faults)
            return [fault.describe() for fault in faults]

    def take(self, operation, service="glacier"):
        """Count this request against every matching fault; return the first one that fires."""
        chosen = None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(operation, service):
                    continue
                fault.seen += 1
                if chosen is None and fault.seen >= fault.nth and fault.fired < fault.count:
                    fault.fired += 1
                    chosen = fault
            self._faults = [fault for fault in self._faults if fault.fired < fault.count]
            if chosen is not None and chosen.kind == "hold" and chosen not in self._holding:
                self._holding.append(chosen)
        return chosen

    def pending(self):
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def release(self):
        """End every hold: held replies go out and pending hold faults are removed. Returns how many were removed or let go."""
        with self._lock:
            holding = self._holding + [fault for fault in self._faults if fault.kind == "hold" and fault not in self._holding]
            self._holding = []
            self._faults = [fault for fault in self._faults if fault.kind != "hold"]
        for fault in holding:
            fault.released.set()
        return len(holding)

    def waiting(self, fault, operation):
        """Note a reply that ``fault`` keeps waiting (listed by held()) until the fault is released."""
        item = (fault.fault_id, operation)
        with self._lock:
            self._held.append(item)
        try:
            fault.released.wait()
        finally:
            with self._lock:
                self._held.remove(item)

    def held(self):
        """The replies that hold faults keep waiting now: a test's condition that a request has arrived."""
        with self._lock:
            return [{"id": fault_id, "operation": operation} for fault_id, operation in self._held]

    def clear(self):
        with self._lock:
            cleared = len(self._faults)
        self.release()
        with self._lock:
            self._faults = []
        return cleared

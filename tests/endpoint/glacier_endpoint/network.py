"""WAN simulation: per-request latency and a per-connection bandwidth cap (token bucket)."""

import threading
import time

# Short bursts are allowed so small requests are not slowed by a whole timer tick.
BURST_SECONDS = 0.05
MIN_BURST = 16 * 1024


class NetworkShaper:
    """Settings shared by all connections; changed at run time through the control API."""

    def __init__(self, latency_ms=0, bandwidth=0):
        self._lock = threading.Lock()
        self.latency_ms = 0
        self.bandwidth = 0
        # Seconds spent sleeping for each kind of shaping: shows whether shaping acted, without timing anything.
        self.slept = {"latency_seconds": 0.0, "bandwidth_seconds": 0.0}
        self.update(latency_ms=latency_ms, bandwidth=bandwidth)

    def update(self, latency_ms=None, bandwidth=None):
        with self._lock:
            if latency_ms is not None:
                latency_ms = float(latency_ms)
                if latency_ms < 0:
                    raise ValueError("latency_ms must not be negative")
                self.latency_ms = latency_ms
            if bandwidth is not None:
                bandwidth = int(bandwidth)
                if bandwidth < 0:
                    raise ValueError("bandwidth must not be negative")
                self.bandwidth = bandwidth
            return self.settings()

    def settings(self):
        return {"latency_ms": self.latency_ms, "bandwidth": self.bandwidth, "slept": dict(self.slept)}

    def note_sleep(self, kind, seconds):
        with self._lock:
            self.slept[kind] += seconds

    def delay(self):
        """Sleep the configured per-request latency."""
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000.0)
            self.note_sleep("latency_seconds", self.latency_ms / 1000.0)


class TokenBucket:
    """Caps one direction of one connection at the shaper's current bandwidth."""

    def __init__(self, shaper):
        self._shaper = shaper
        self._tokens = 0.0
        self._stamp = time.monotonic()

    @property
    def active(self):
        return self._shaper.bandwidth > 0

    def piece_size(self, default):
        """Transfer unit: small pieces when shaping so the rate stays smooth."""
        rate = self._shaper.bandwidth
        if rate <= 0:
            return default
        return min(default, max(1024, int(rate * BURST_SECONDS)))

    def consume(self, count):
        rate = self._shaper.bandwidth
        if rate <= 0:
            return
        now = time.monotonic()
        burst = max(MIN_BURST, rate * BURST_SECONDS)
        self._tokens = min(burst, self._tokens + (now - self._stamp) * rate)
        self._stamp = now
        # Going into debt and sleeping it off keeps the long-run rate exact for any piece size.
        self._tokens -= count
        if self._tokens < 0:
            time.sleep(-self._tokens / rate)
            self._shaper.note_sleep("bandwidth_seconds", -self._tokens / rate)
            self._stamp = time.monotonic()
            self._tokens = 0.0

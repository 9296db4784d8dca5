"""Per-client token buckets for generate-mashup (per replica, in memory: a client spread
over N replicas gets at most N times the rate, which is fine for protecting capacity)."""

from __future__ import annotations

import time
from collections import OrderedDict


class RateLimiter:
    def __init__(self, per_min: float, burst: int, *, max_clients: int = 10_000) -> None:
        self.rate_per_sec = per_min / 60.0
        self.burst = max(1, burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    @property
    def enabled(self) -> bool:
        return self.rate_per_sec > 0

    def take(self, client: str, *, now_sec: float | None = None) -> float:
        """Spend one token; returns 0 when allowed, else seconds until one is available."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now_sec is None else now_sec
        tokens, at = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate_per_sec)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate_per_sec
        self._buckets[client] = (tokens, now)
        # Forget the least recently seen clients so memory stays bounded.
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait

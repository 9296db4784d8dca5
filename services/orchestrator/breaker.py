"""A circuit breaker in front of the Anthropic API.

After `failure_threshold` consecutive API failures (429, 5xx/overloaded, timeouts,
unreachable — each already retried by the SDK) the breaker *opens*: for `cooldown_sec`
every request goes straight to the rules planner without calling Claude, so an outage
costs callers no waiting and the API no extra load. After the cool-down one trial call
is let through (*half-open*): success closes the breaker, failure opens it for another
cool-down. Failures that say nothing about the API's health (a caller's wrong key, an
invalid plan) neither trip nor reset it.

One breaker per process: the API's health is shared by every caller and key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"  # calls flow; failures are counted
    OPEN = "open"  # calls are refused until the cool-down ends
    HALF_OPEN = "half_open"  # one trial call is in flight after the cool-down


@dataclass
class CircuitBreaker:
    failure_threshold: int = 3
    cooldown_sec: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: int = 0
    _opened_at: float | None = None
    _trial_in_flight: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def configure(self, *, failure_threshold: int, cooldown_sec: float) -> None:
        """Apply settings read from the environment (kept across calls, state untouched)."""
        with self._lock:
            self.failure_threshold = max(1, failure_threshold)
            self.cooldown_sec = max(0.0, cooldown_sec)

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self._opened_at < self.cooldown_sec:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def retry_after_sec(self) -> float:
        """Seconds until the next trial call is allowed (0 when calls may go now)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.cooldown_sec - (self.clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may go to the API now; in half-open, only the first caller's."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial_in_flight = 0, None, False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            trial_failed = self._trial_in_flight
            self._trial_in_flight = False
            if trial_failed or self._failures >= self.failure_threshold:
                self._opened_at = self.clock()

    def record_neutral(self) -> None:
        """A call ended in a way that says nothing about the API's health."""
        with self._lock:
            if self._trial_in_flight:  # let the next caller try again
                self._trial_in_flight = False

    def reset(self) -> None:
        self.record_success()


BREAKER = CircuitBreaker()

"""The circuit breaker in front of the Anthropic API, on a fake clock."""

from __future__ import annotations

from services.orchestrator.breaker import BreakerState, CircuitBreaker


def make_breaker(threshold: int = 3, cooldown_sec: float = 60.0) -> tuple[CircuitBreaker,
                                                                          list[float]]:
    now = [0.0]
    return CircuitBreaker(failure_threshold=threshold, cooldown_sec=cooldown_sec,
                          clock=lambda: now[0]), now


def test_opens_after_consecutive_failures_only() -> None:
    breaker, _ = make_breaker(threshold=3)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    breaker.record_success()  # a success in between resets the count
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert breaker.retry_after_sec() == 60.0


def test_half_open_lets_one_trial_through() -> None:
    breaker, now = make_breaker(threshold=1, cooldown_sec=10.0)
    breaker.record_failure()
    now[0] = 9.9
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_neutral()  # the trial said nothing about the API: next caller may try
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow() and breaker.allow()


def test_failed_trial_reopens_for_a_full_cool_down() -> None:
    breaker, now = make_breaker(threshold=5, cooldown_sec=10.0)
    for _ in range(5):
        breaker.record_failure()
    now[0] = 12.0
    assert breaker.allow()
    breaker.record_failure()  # one failure is enough in half-open
    assert breaker.state is BreakerState.OPEN and breaker.retry_after_sec() == 10.0


def test_configure_keeps_the_state() -> None:
    breaker, _ = make_breaker(threshold=1)
    breaker.record_failure()
    breaker.configure(failure_threshold=0, cooldown_sec=-5.0)  # clamped to sane values
    assert breaker.failure_threshold == 1 and breaker.cooldown_sec == 0.0
    assert breaker.state is BreakerState.HALF_OPEN

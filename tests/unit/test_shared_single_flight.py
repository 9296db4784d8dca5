"""SingleFlight: one call per key in flight, shared results and failures, then forgotten."""

from __future__ import annotations

import asyncio

import pytest

from shared.single_flight import SingleFlight


async def test_concurrent_callers_share_one_call() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls: list[str] = []

    async def work() -> int:
        calls.append("x")
        await asyncio.sleep(0.02)
        return 7

    results = await asyncio.gather(*(flight.run("k", work) for _ in range(4)))
    assert calls == ["x"]
    assert sorted(shared for _, shared in results) == [False, True, True, True]
    assert all(value == 7 for value, _ in results)
    assert "k" not in flight


async def test_other_keys_run_separately_and_later_calls_run_again() -> None:
    flight: SingleFlight[str] = SingleFlight()
    calls: list[str] = []

    async def work(name: str) -> str:
        calls.append(name)
        await asyncio.sleep(0.01)
        return name

    await asyncio.gather(flight.run("a", lambda: work("a")), flight.run("b", lambda: work("b")))
    await flight.run("a", lambda: work("a"))
    assert sorted(calls) == ["a", "a", "b"]


async def test_a_failure_reaches_every_waiter_and_is_forgotten() -> None:
    flight: SingleFlight[int] = SingleFlight()

    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    results = await asyncio.gather(flight.run("k", failing), flight.run("k", failing),
                                   return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)

    async def working() -> int:
        return 1

    assert await flight.run("k", working) == (1, False)


async def test_a_cancelled_waiter_does_not_cancel_the_shared_call() -> None:
    flight: SingleFlight[int] = SingleFlight()
    done = asyncio.Event()

    async def work() -> int:
        await asyncio.sleep(0.05)
        done.set()
        return 3

    first = asyncio.create_task(flight.run("k", work))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(flight.run("k", work))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await first == (3, False)
    assert done.is_set()

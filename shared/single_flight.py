"""At most one call in flight per key: concurrent callers with the same key share it.

Used where a second identical piece of work would waste minutes or money (the analysis
of a song uploaded twice at once, a masterplan asked for again by a restarted gateway).
A failure is shared with the callers already waiting, then forgotten, so the next call
tries afresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._calls: dict[str, asyncio.Future[T]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._calls

    async def run(self, key: str, make: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """(result, shared): `make()`'s result, or that of the call already in flight for
        `key` (shared=True)."""
        twin = self._calls.get(key)
        if twin is not None:
            # shield: a caller that gives up must not cancel the work the others wait for
            return await asyncio.shield(twin), True
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._calls[key] = future
        try:
            result = await make()
            future.set_result(result)
            return result, False
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: there may be no twin waiting
            raise
        finally:
            del self._calls[key]

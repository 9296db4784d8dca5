"""A real PostgreSQL for store tests: each test gets its own schema, dropped afterwards.
`TEST_POSTGRES_URL` picks the server (default: this machine's, trust auth); tests skip
cleanly only when no server answers there."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_URL)


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[tuple[str, str]]:
    """(url, schema) of a new empty schema; skips the test when Postgres is unreachable."""
    asyncpg = pytest.importorskip("asyncpg")
    url = postgres_url()
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL at {url}: {exc}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield url, schema
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()

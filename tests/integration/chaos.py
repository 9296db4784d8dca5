"""Processes for the chaos tests: uvicorn apps that can be SIGKILLed and restarted on
the same port, and what the PostgreSQL job store recorded about each job."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shared.mesh import free_port
from tests.pg import postgres_url

SERVICES = ("analysis", "scoring", "orchestrator", "separation", "processing")


class Proc:
    """One uvicorn process that can be SIGKILLed and restarted on the same port."""

    def __init__(self, app: str, env: dict[str, str], log: Path) -> None:
        self.app, self.env, self.log = app, env, log
        self.port = free_port()
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as fh:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning"],
                env=self.env, stdout=fh, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_healthy(self, timeout_sec: float = 90) -> None:
        deadline = time.monotonic() + timeout_sec
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.app} did not start; see {self.log}")


def saved_and_claimed(schema: str) -> dict[str, dict]:
    """Per job: how often each step's output was saved, and which replicas claimed it."""
    import asyncio

    import asyncpg

    async def fetch() -> list:
        conn = await asyncpg.connect(postgres_url(), timeout=3)
        try:
            return await conn.fetch(f'SELECT job_id, message FROM "{schema}".job_events '
                                    "WHERE message IS NOT NULL")
        finally:
            await conn.close()

    result: dict[str, dict] = {}
    for row in asyncio.run(fetch()):
        entry = result.setdefault(row["job_id"], {"owners": set()})
        message = row["message"]
        if message.startswith("claimed by "):
            entry["owners"].add(message.removeprefix("claimed by "))
        entry[message] = entry.get(message, 0) + 1
    return result


def terminal_states(gateway_url: str, job_ids: list[str], *, timeout_sec: float,
                    poll_sec: float) -> dict[str, dict]:
    """Poll get-mashup-status until every job has left `processing` (or time runs out);
    returns each finished job's last state. Asserts that none is still processing."""
    states: dict[str, dict] = {}
    deadline = time.monotonic() + timeout_sec
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        while time.monotonic() < deadline and len(states) < len(job_ids):
            for job_id in job_ids:
                if job_id not in states:
                    state = client.get("/get-mashup-status", params={"jobId": job_id}).json()
                    if state["status"] != "processing":
                        states[job_id] = state
            time.sleep(poll_sec)
    assert len(states) == len(job_ids), f"jobs still processing: {set(job_ids) - set(states)}"
    return states

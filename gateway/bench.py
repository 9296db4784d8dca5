"""Gateway benchmark: get-mashup-status latency under many concurrent pollers, and jobs
accepted per second. The gateway runs as a real uvicorn process with a stubbed chain
(canned service answers, no audio work), so only the gateway itself is measured.

    python -m gateway.bench                    # SQLite store, 200 pollers
    python -m gateway.bench --db postgresql://postgres@127.0.0.1:5432/test
    python -m gateway.bench --pollers 500 --poll-sec 20

Pollers behave like the web client: each asks for one job's status, then waits the
`poll_after_ms` hint (1 s) before asking again, starting at random phases. `--flood`
drops the wait (every poller asks again at once) to find the saturation throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from shared.mesh import free_port


def stub_clients():  # type: ignore[no-untyped-def]
    """MeshClients whose services answer at once with canned bodies."""
    from gateway.chain import MeshClients
    from shared.client import ServiceClient

    answers = {
        "analysis": lambda body: {"songId": body["songId"], "bpm": 120.0},
        "scoring": lambda body: {"overall": 80.0, "best_pair": ["a", "b"], "pairs": []},
        "orchestrator": lambda body: {"creative_vision": "bench", "planner": "rules",
                                      "masterplan": {"title": "bench", "timeline": []}},
        "separation": lambda body: {"songId": body["songId"], "stems": {}, "backend": "stub"},
        "processing": lambda body: {"success": True, "storage_path": "mashups/bench.wav",
                                    "duration_sec": 60, "lufs": -14, "true_peak_dbtp": -1,
                                    "warnings": []},
    }

    def make(name: str) -> ServiceClient:
        def handle(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=answers[name](json.loads(request.content)))

        return ServiceClient(name, base_url=f"http://{name}",
                             transport=httpx.MockTransport(handle))

    return MeshClients(**{name: make(name) for name in answers})


def serve(port: int) -> None:
    import uvicorn

    from gateway.app import create_gateway_app

    uvicorn.run(create_gateway_app(clients=stub_clients), host="127.0.0.1", port=port,
                log_level="warning", access_log=False)


def cpu_sec(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_healthy(base: str, timeout_sec: float = 30) -> None:
    deadline = time.monotonic() + timeout_sec
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the gateway did not start")


async def accept_phase(client: httpx.AsyncClient, base: str, *, seconds: float,
                       concurrency: int) -> tuple[list[str], float]:
    body = {"songs": [{"id": "a", "storage_path": "uploads/bench-a.wav"},
                      {"id": "b", "storage_path": "uploads/bench-b.wav"}]}
    ids: list[str] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            response = await client.post(f"{base}/generate-mashup", json=body,
                                         headers={"Idempotency-Key": uuid.uuid4().hex})
            response.raise_for_status()
            ids.append(response.json()["jobId"])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids, len(ids) / (time.perf_counter() - started)


class RawConnection:
    """A minimal keep-alive HTTP/1.1 GET client: httpx costs about a millisecond of CPU per
    request, which on a small machine would measure the client instead of the gateway."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def poll_phase(port: int, job_ids: list[str], *, pollers: int, seconds: float,
                     flood: bool) -> tuple[list[float], float]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def poller(i: int) -> None:
        nonlocal errors
        target = f"/get-mashup-status?jobId={job_ids[i % len(job_ids)]}"
        connection = RawConnection(port)
        if not flood:
            await asyncio.sleep(random.random())  # clients start at random phases
        try:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                status, body = await connection.get(target)
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors += 1
                if not flood:
                    hint = json.loads(body).get("poll_after_ms") or 1000
                    await asyncio.sleep(hint / 1000)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(poller(i) for i in range(pollers)))
    if errors:
        raise RuntimeError(f"{errors} status requests failed")
    return latencies, len(latencies) / (time.perf_counter() - started)


async def drop_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        storage = Path(tmp) / "storage"
        (storage / "uploads").mkdir(parents=True)
        for name in ("bench-a.wav", "bench-b.wav"):
            (storage / "uploads" / name).write_bytes(b"RIFF")
        env = {**os.environ, "STORAGE_ROOT": str(storage), "SIGNING_SECRET": "bench",
               "GATEWAY_DB": args.db or str(Path(tmp) / "gw.sqlite3"),
               "GATEWAY_DB_SCHEMA": f"bench_{uuid.uuid4().hex[:8]}" if args.db else "public",
               "GATEWAY_RATE_LIMIT_PER_MIN": "0", "GATEWAY_MAX_RUNNING_JOBS": "8",
               "LOG_LEVEL": "WARNING"}
        server = subprocess.Popen([sys.executable, "-m", "gateway.bench", "--serve", str(port)],
                                  env=env)
        try:
            await wait_healthy(base)
            async with httpx.AsyncClient(timeout=30) as client:
                accept_cpu_before = cpu_sec(server.pid)
                ids, accepted_per_sec = await accept_phase(
                    client, base, seconds=args.accept_sec, concurrency=args.accept_concurrency)
                accept_cpu_ms = (cpu_sec(server.pid) - accept_cpu_before) * 1000 / len(ids)
                # Let the stubbed chains drain so pollers measure status reads, not a
                # server busy finishing a backlog of jobs.
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    last = (await client.get(f"{base}/get-mashup-status",
                                             params={"jobId": ids[-1]})).json()
                    if last["status"] != "processing":
                        break
                    await asyncio.sleep(0.5)
                cpu_before = cpu_sec(server.pid)
                latencies, rate = await poll_phase(port, ids[: max(1, args.pollers)],
                                                   pollers=args.pollers,
                                                   seconds=args.poll_sec, flood=args.flood)
                server_cpu_ms = (cpu_sec(server.pid) - cpu_before) * 1000 / len(latencies)
        finally:
            server.terminate()
            server.wait(timeout=20)
            if args.db:
                await drop_schema(args.db, env["GATEWAY_DB_SCHEMA"])
    store = "postgres" if args.db else "sqlite"
    ms = [v * 1000 for v in latencies]
    print(f"gateway bench ({store} store, stubbed chain, {os.cpu_count()} cores)")
    print(f"  jobs accepted: {accepted_per_sec:.0f}/s "
          f"({len(ids)} in {args.accept_sec:.0f} s, {args.accept_concurrency} clients; "
          f"gateway CPU {accept_cpu_ms:.1f} ms per job incl. its stubbed chain)")
    mode = "flood" if args.flood else "honouring poll_after_ms"
    print(f"  get-mashup-status, {args.pollers} concurrent pollers ({mode}): "
          f"p50 {statistics.median(ms):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
          f"max {max(ms):.1f} ms, {rate:.0f} req/s, {len(ms)} requests")
    print(f"  gateway CPU per status request: {server_cpu_ms:.2f} ms "
          f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    target = "met" if percentile(ms, 0.99) <= 20 else "NOT met"
    print(f"  target p99 <= 20 ms: {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help="postgresql://... (default: a temporary SQLite file)")
    parser.add_argument("--pollers", type=int, default=200)
    parser.add_argument("--poll-sec", type=float, default=15.0)
    parser.add_argument("--accept-sec", type=float, default=5.0)
    parser.add_argument("--accept-concurrency", type=int, default=16)
    parser.add_argument("--flood", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    try:
        import uvloop  # the client's own overhead is part of what the pollers measure
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()

"""`mashup up` leaves nothing behind: stopped by SIGTERM or killed outright, its six
services go too (else they keep the mesh's ports and serve stale code to the next run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.procs import process_running

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="reads /proc; the parent-death signal is Linux's")]
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _start_up(data_dir: Path) -> tuple[subprocess.Popen[str], list[int], list[str]]:
    """`mashup up` started and up: (process, its six services' pids, what it printed)."""
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "up", "--data", str(data_dir)],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "mesh is up" in line:
            children = _children(proc.pid)
            assert len(children) == 6, lines
            return proc, children, lines
        if not line and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail("mashup up did not come up:\n" + "".join(lines))


def _wait_gone(pids: list[int], timeout_sec: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout_sec
    while time.monotonic() < deadline:
        left = [pid for pid in pids if process_running(pid)]
        if not left:
            return []
        time.sleep(0.2)
    return [pid for pid in pids if process_running(pid)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_mashup_up_takes_its_services_down_with_it(tmp_path: Path, sig: int) -> None:
    proc, children, _ = _start_up(tmp_path / "data")
    try:
        proc.send_signal(sig)
        proc.wait(timeout=60)
        left = _wait_gone(children)
        assert left == [], f"services still running after {signal.Signals(sig).name}: {left}"
        if sig == signal.SIGTERM:
            assert proc.returncode in (0, 128 + signal.SIGTERM)
    finally:
        for pid in children:
            if process_running(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_service_that_dies_under_mashup_up_comes_back(tmp_path: Path) -> None:
    proc, children, printed = _start_up(tmp_path / "data")
    url = next(line.split()[1] for line in printed if line.startswith("analysis "))
    try:
        victim = children[0]  # the first service started: analysis
        os.kill(victim, signal.SIGKILL)
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert "analysis exited with code -9; restarting in 1 s" in lines[0], lines
        assert lines[1].strip() == "analysis restarted", lines
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and not healthy:
            try:
                healthy = httpx.get(url + "/health", timeout=2.0).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert healthy, "analysis did not come back"
        now = _children(proc.pid)
        assert len(now) == 6 and victim not in now, now
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

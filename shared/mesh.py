"""Start and stop the whole mesh as real uvicorn processes (used by `mashup up`,
`mashup demo` and the integration tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from shared.settings import SERVICE_PORTS

APPS: dict[str, str] = {
    "analysis": "services.analysis.app:app",
    "processing": "services.processing.app:app",
    "scoring": "services.scoring.app:app",
    "orchestrator": "services.orchestrator.app:app",
    "separation": "services.separation.app:app",
    "gateway": "gateway.app:app",
}
# Dependencies first, so the gateway finds the services up when it resumes jobs.
START_ORDER = ("analysis", "scoring", "orchestrator", "separation", "processing", "gateway")
# A service that dies under `Mesh.revive` is started again after a pause that doubles with
# each death within RESTART_WINDOW_SEC (1, 2, 4 ... up to RESTART_MAX_DELAY_SEC), so one
# that crashes at start-up does not spin.
RESTART_FIRST_DELAY_SEC = 1.0
RESTART_MAX_DELAY_SEC = 30.0
RESTART_WINDOW_SEC = 300.0


def _die_with_parent() -> None:
    """In the child before exec (Linux): ask the kernel for SIGTERM when the process that
    started it dies, however it dies (a SIGKILL leaves no chance to stop the mesh), so no
    orphaned service keeps the mesh's ports and serves stale code to the next `mashup`."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: Mesh.stop is the only cleanup
        pass


_PR_SET_PDEATHSIG = 1


def _wait_or_kill(proc: subprocess.Popen[bytes], *, deadline: float, timeout_sec: float) -> None:
    """Wait for a signalled process until `deadline`, then kill it."""
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_sec)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` now. SO_REUSEADDR as uvicorn binds: a port
    whose last server just stopped (connections in TIME_WAIT) is free to it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class Mesh:
    """The six services as child processes on one host.

    `ports=None` uses the contract's default ports when all are free, else free ports.
    Each process gets the same environment: ports, service URLs, storage root, job DB.
    """

    def __init__(
        self,
        *,
        data_dir: str | Path,
        ports: Mapping[str, int] | None = None,
        host: str = "127.0.0.1",
        env: Mapping[str, str] | None = None,
        log_dir: str | Path | None = None,
    ) -> None:
        self.host = host
        self.data_dir = Path(data_dir).resolve()
        self.log_dir = Path(log_dir).resolve() if log_dir else self.data_dir / "logs"
        if ports is None:
            defaults = dict(SERVICE_PORTS)
            all_free = all(port_is_free(p, host) for p in defaults.values())
            ports = defaults if all_free else {name: free_port(host) for name in APPS}
        self.ports = dict(ports)
        self.env = self._environment(env or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._deaths: dict[str, list[float]] = {}  # monotonic times each service died
        self._restart_at: dict[str, float] = {}  # when a dead service is started again

    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("STORAGE_ROOT", str(self.data_dir / "storage"))
        env.setdefault("GATEWAY_DB", str(self.data_dir / "gateway.sqlite3"))
        env["MESH_HOST"] = self.host
        for name, port in self.ports.items():
            env[f"{name.upper()}_PORT"] = str(port)
            env[f"{name.upper()}_URL"] = self.url(name)
        project_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [project_root,
                                                          env.get("PYTHONPATH")]))
        env.update(extra)
        return env

    @property
    def default_ports(self) -> bool:
        """Whether the services listen on the contract's ports (not free ones)."""
        return self.ports == dict(SERVICE_PORTS)

    def url(self, service: str) -> str:
        return f"http://{self.host}:{self.ports[service]}"

    def start(self, services: tuple[str, ...] = START_ORDER) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for name in services:
            self.start_one(name)

    def start_one(self, name: str) -> None:
        log_file = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by child
        cmd = [sys.executable, "-m", "uvicorn", APPS[name], "--host", self.host,
               "--port", str(self.ports[name]), "--log-level", "warning",
               "--timeout-graceful-shutdown", "5"]
        self.processes[name] = subprocess.Popen(
            cmd, env=self.env, stdout=log_file, stderr=subprocess.STDOUT, cwd=self.data_dir,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        log_file.close()

    def wait_healthy(self, timeout_sec: float = 120.0,
                     services: tuple[str, ...] | None = None) -> None:
        """Block until every started service answers /health, or raise with its log tail."""
        deadline = time.monotonic() + timeout_sec
        pending = list(services or self.processes)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                name = pending[0]
                proc = self.processes[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n"
                                       f"{self.log_tail(name)}")
                try:
                    if client.get(self.url(name) + "/health").status_code == 200:
                        pending.pop(0)
                        continue
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not become healthy in {timeout_sec:.0f} s:\n"
                                       f"{self.log_tail(name)}")
                time.sleep(0.2)

    def revive(self, *, now: float | None = None) -> list[str]:
        """Start again every service that has exited (a crash, the OOM killer, a stray
        `kill`), each after a back-off pause; call it periodically while the mesh should
        run. The gateway keeps its jobs in its database and resumes them when it comes
        back, and its calls to a service retry, so a job survives a service's death.
        Returns one line per event ("… exited …", "… restarted") for the operator."""
        now = time.monotonic() if now is None else now
        events = []
        for name, proc in self.processes.items():
            code = proc.poll()
            if code is None:
                continue
            if name not in self._restart_at:
                deaths = [t for t in self._deaths.get(name, []) if now - t < RESTART_WINDOW_SEC]
                delay = min(RESTART_MAX_DELAY_SEC, RESTART_FIRST_DELAY_SEC * 2 ** len(deaths))
                self._deaths[name] = [*deaths, now]
                self._restart_at[name] = now + delay
                events.append(f"{name} exited with code {code}; restarting in {delay:g} s "
                              f"(log: {self.log_dir / f'{name}.log'})")
            elif now >= self._restart_at[name]:
                del self._restart_at[name]
                self.start_one(name)
                events.append(f"{name} restarted")
        return events

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop_one(self, name: str, *, sig: int = signal.SIGTERM, timeout_sec: float = 10.0) -> None:
        proc = self.processes.get(name)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        _wait_or_kill(proc, deadline=time.monotonic() + timeout_sec, timeout_sec=timeout_sec)

    def stop(self, *, timeout_sec: float = 10.0) -> None:
        """SIGTERM to every service at once, then wait (each drains for up to uvicorn's
        graceful-shutdown time, so one after the other took up to six times as long)."""
        running = [proc for proc in self.processes.values() if proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_sec
        for proc in running:
            _wait_or_kill(proc, deadline=deadline, timeout_sec=timeout_sec)

    def __enter__(self) -> Mesh:
        self.start()
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

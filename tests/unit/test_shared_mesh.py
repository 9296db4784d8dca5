"""Port choice and restarts of the mesh launcher (the processes themselves:
tests/integration)."""

from __future__ import annotations

import socket
from pathlib import Path

from shared.mesh import Mesh, port_is_free


def _listening() -> socket.socket:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_a_listening_port_is_taken() -> None:
    with _listening() as server:
        assert not port_is_free(server.getsockname()[1])


def test_a_port_whose_server_just_stopped_is_free() -> None:
    # The server closes first, so its port keeps a connection in TIME_WAIT: a plain bind
    # fails, but uvicorn (SO_REUSEADDR) can listen there, and so the mesh keeps its
    # default ports when restarted at once.
    server = _listening()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()
    client.close()
    server.close()
    with socket.socket() as plain:
        try:
            plain.bind(("127.0.0.1", port))
            in_time_wait = False
        except OSError:
            in_time_wait = True
    assert in_time_wait  # the situation this test is about
    assert port_is_free(port)


class _Exited:
    """A stand-in for a Popen whose process has ended with `returncode`."""

    def __init__(self, returncode: int) -> None:
        self.returncode = returncode

    def poll(self) -> int:
        return self.returncode


def test_a_dead_service_is_restarted_after_a_pause_that_grows(tmp_path: Path) -> None:
    mesh = Mesh(data_dir=tmp_path, ports={"separation": 1})
    started: list[str] = []

    def start_one(name: str) -> None:
        started.append(name)
        mesh.processes[name] = _Exited(-9)  # type: ignore[assignment] - dies again at once

    mesh.start_one = start_one  # type: ignore[method-assign]
    mesh.processes["separation"] = _Exited(-9)  # type: ignore[assignment]
    events = mesh.revive(now=100.0)
    assert len(events) == 1 and "separation exited with code -9; restarting in 1 s" in events[0]
    assert mesh.revive(now=100.5) == [] and started == []  # still pausing
    assert mesh.revive(now=101.0) == ["separation restarted"] and started == ["separation"]
    # it died again at once: the next pause is twice as long, and so on up to the cap
    assert "restarting in 2 s" in mesh.revive(now=101.5)[0]
    assert mesh.revive(now=103.0) == []
    assert mesh.revive(now=103.5) == ["separation restarted"]
    delays = []
    for step in range(8):
        now = 200.0 + 40.0 * step
        delays.append(mesh.revive(now=now)[0].split("restarting in ")[1].split(" s")[0])
        mesh.revive(now=now + 35.0)
    assert delays[:4] == ["4", "8", "16", "30"] and delays[-1] == "30"  # capped
    # a service that stayed up for the whole window starts again from the short pause
    mesh.revive(now=5000.0)
    mesh.revive(now=5100.0)
    assert "restarting in 1 s" in mesh.revive(now=5500.0)[0]


def test_a_running_service_is_left_alone(tmp_path: Path) -> None:
    mesh = Mesh(data_dir=tmp_path, ports={"separation": 1})

    class Running:
        def poll(self) -> None:
            return None

    mesh.processes["separation"] = Running()  # type: ignore[assignment]
    assert mesh.revive(now=1.0) == []

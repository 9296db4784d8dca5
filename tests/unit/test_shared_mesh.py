"""Port choice of the mesh launcher (the processes themselves: tests/integration)."""

from __future__ import annotations

import socket

from shared.mesh import port_is_free


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

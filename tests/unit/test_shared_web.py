"""The common app: error shape, body limits, health and metrics."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.web import create_app, json_response, read_model


class Body(BaseModel):
    name: str
    count: int


async def echo(request: Request) -> Response:
    body = await read_model(request, Body, max_bytes=1000)
    return json_response(body)


async def crash(request: Request) -> Response:
    raise RuntimeError("bug")


app = create_app("testsvc", [Route("/echo", echo, methods=["POST"]),
                             Route("/crash", crash, methods=["GET"])], configure_logs=False)
client = TestClient(app, raise_server_exceptions=False)


def test_valid_body() -> None:
    assert client.post("/echo", json={"name": "a", "count": 2}).json() == {"name": "a",
                                                                          "count": 2}


def test_error_shapes() -> None:
    cases = [
        (client.post("/echo", content=b"{bad"), 400, "malformed_json"),
        (client.post("/echo", content=b""), 400, "malformed_json"),
        (client.post("/echo", content=b"\xff\xfe"), 400, "malformed_json"),
        (client.post("/echo", content=b'{"name": "a", "count": NaN}'), 400, "malformed_json"),
        (client.post("/echo", content=b'{"name": "a", "count": -Infinity}'), 400,
         "malformed_json"),
        (client.post("/echo", json=[1, 2]), 422, "invalid_request"),
        (client.post("/echo", json={"name": "a"}), 422, "invalid_request"),
        (client.post("/echo", content=b'{"name": "' + b"x" * 2000 + b'"}'), 413, "too_large"),
        (client.get("/nowhere"), 404, "not_found"),
        (client.get("/echo"), 405, "method_not_allowed"),
        (client.get("/crash"), 500, "internal_error"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]
    assert "NaN" in client.post("/echo", content=b'{"name": NaN}').json()["error"]["message"]
    missing = client.post("/echo", json={"name": "a"}).json()["error"]["message"]
    assert "count" in missing


def test_health_and_metrics() -> None:
    assert client.get("/health").json() == {"status": "ok", "service": "testsvc",
                                            "version": "0.1.0"}
    client.post("/echo", json={"name": "a", "count": 1})
    text = client.get("/metrics").text
    assert 'mesh_http_requests_total{method="POST",route="/echo",service="testsvc",status="200"}' \
        in text
    assert 'mesh_http_requests_in_flight{service="testsvc"}' in text

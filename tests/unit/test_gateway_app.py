"""The gateway's HTTP surface: uploads, validation, status, signed downloads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from shared.mesh import free_port
from tests.conftest import sine_wav_bytes


@pytest.fixture
def client(storage_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[TestClient]:
    monkeypatch.setenv("GATEWAY_DB", str(tmp_path / "gw.sqlite3"))
    monkeypatch.setenv("MAX_UPLOAD_BYTES", str(3_000_000))
    monkeypatch.setenv("CLIENT_MAX_RETRY_SEC", "1")
    monkeypatch.setenv("GATEWAY_STEP_RETRY_SEC", "0")  # jobs fail at once, no waiting
    closed = free_port()  # nothing listens here: every service is "down"
    for name in ("analysis", "scoring", "orchestrator", "separation", "processing"):
        monkeypatch.setenv(f"{name.upper()}_URL", f"http://127.0.0.1:{closed}")
    from gateway.app import app

    with TestClient(app) as test_client:
        yield test_client


def upload(client: TestClient, data: bytes, name: str = "song.wav") -> dict:
    response = client.post("/upload", files={"file": (name, data)})
    return {"status": response.status_code, **response.json()}


def test_health_and_metrics(client: TestClient) -> None:
    assert client.get("/health").json()["service"] == "gateway"
    client.get("/get-mashup-status", params={"jobId": "nope"})
    metrics = client.get("/metrics").text
    assert 'route="/get-mashup-status"' in metrics
    assert "mesh_http_request_duration_seconds" in metrics


def test_upload_is_content_addressed(client: TestClient, storage_root: Path) -> None:
    data = sine_wav_bytes(6.0)
    first = upload(client, data)
    second = upload(client, data, "other-name.wav")
    assert first["status"] == 200 and first["storage_path"] == second["storage_path"]
    assert first["storage_path"].startswith("uploads/") and first["bytes"] == len(data)
    assert (storage_root / first["storage_path"]).read_bytes() == data


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"<html>not a song</html>" * 50, 415, "unsupported_media_type"),
    (sine_wav_bytes(8.0)[:100_000], 422, "truncated_audio"),
    (sine_wav_bytes(2.0), 422, "too_short"),
    (sine_wav_bytes(40.0), 413, "too_large"),
])
def test_bad_uploads(client: TestClient, data: bytes, status: int, code: str) -> None:
    result = upload(client, data)
    assert result["status"] == status
    assert result["error"]["code"] == code
    assert len(result["error"]["message"]) > 10


def test_upload_needs_multipart_file_field(client: TestClient) -> None:
    assert client.post("/upload", content=b"abc",
                       headers={"content-type": "application/octet-stream"}).status_code == 415
    response = client.post("/upload", data={"other": "x"}, files={"nofile": ("a", b"")})
    assert response.status_code == 422


@pytest.mark.parametrize(("body", "status"), [
    (b"{not json", 400),
    (b"", 400),
    (b"[]", 422),
    (b'{"songs": []}', 422),
    (b'{"songs": [{"id": "a", "storage_path": "../../etc/passwd"}, '
     b'{"id": "b", "storage_path": "uploads/b.wav"}]}', 422),
    (b'{"songs": [{"id": "a", "storage_path": "uploads/a.wav"}, '
     b'{"id": "b", "storage_path": "uploads/b.wav"}]}', 422),
    (b'{"songs": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
])
def test_generate_rejects_bad_requests(client: TestClient, body: bytes, status: int) -> None:
    response = client.post("/generate-mashup", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == status
    assert "message" in response.json()["error"]


def test_unknown_job_is_404(client: TestClient) -> None:
    for response in (client.get("/get-mashup-status", params={"jobId": "missing"}),
                     client.post("/get-mashup-status", json={"jobId": "missing"})):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"
    assert client.get("/get-mashup-status").status_code == 422


def test_job_with_services_down_fails_with_a_reason(client: TestClient) -> None:
    a = upload(client, sine_wav_bytes(6.0, freq_hz=440))["storage_path"]
    b = upload(client, sine_wav_bytes(6.0, freq_hz=330))["storage_path"]
    body = {"songs": [{"id": "a", "storage_path": a}, {"id": "b", "storage_path": b}]}
    first = client.post("/generate-mashup", json=body, headers={"Idempotency-Key": "k1"}).json()
    again = client.post("/generate-mashup", json=body, headers={"Idempotency-Key": "k1"}).json()
    assert first["success"] and again["jobId"] == first["jobId"]
    deadline = time.monotonic() + 20
    state: dict = {}
    while time.monotonic() < deadline:
        state = client.post("/get-mashup-status", json={"jobId": first["jobId"]}).json()
        if state["status"] != "processing":
            break
        time.sleep(0.1)
    assert state["status"] == "failed"
    assert state["error_message"].startswith("Analyzing songs failed")
    assert "unreachable" in state["error_message"]
    assert state["songs"][0]["id"] == "a" and "created_at" in state


def test_signed_download(client: TestClient, storage_root: Path) -> None:
    from shared.storage import get_storage, sign_key

    get_storage().put_bytes("mashups/x.wav", b"RIFFdata")
    expires_at, sig = sign_key("mashups/x.wav", expires_in_sec=60)
    ok = client.get(f"/download/mashups/x.wav?expires={expires_at}&sig={sig}")
    assert ok.status_code == 200 and ok.content == b"RIFFdata"
    assert client.get(f"/download/mashups/x.wav?expires={expires_at}&sig=bad").status_code == 403
    assert client.get("/download/mashups/x.wav").status_code == 403
    assert client.get(f"/download/mashups/y.wav?expires={expires_at}&sig={sig}"
                      ).status_code == 403
    expired_at, expired_sig = sign_key("mashups/x.wav", expires_in_sec=-10)
    assert client.get(f"/download/mashups/x.wav?expires={expired_at}&sig={expired_sig}"
                      ).status_code == 403

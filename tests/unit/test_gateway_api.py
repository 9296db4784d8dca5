"""The gateway's job API against stubbed services: cancel, live events (SSE and
WebSocket), rate limits, auth and per-user visibility, and cleanup."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from gateway.auth import Unauthorized, verify_hs256
from gateway.chain import MeshClients
from tests.unit.test_gateway_runner import clients, ok_handlers

JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters"
API_KEY = "k" * 24


def make_app(handlers: dict) -> TestClient:
    from gateway.app import create_gateway_app

    return TestClient(create_gateway_app(clients=lambda: clients(handlers)))


def put_songs(user: str | None = None) -> list[dict[str, str]]:
    from gateway.auth import upload_prefix
    from shared.storage import get_storage

    storage = get_storage()
    songs = []
    for name in ("a", "b"):
        key = f"{upload_prefix(user)}/{name}.wav"
        storage.put_bytes(key, b"RIFF")
        songs.append({"id": name, "storage_path": key})
    return songs


@pytest.fixture
def env(storage_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GATEWAY_DB", str(tmp_path / "gw.sqlite3"))
    monkeypatch.setenv("GATEWAY_EVENTS_POLL_SEC", "0.02")
    yield


def wait_terminal(client: TestClient, job_id: str, headers: dict | None = None) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = client.get("/get-mashup-status", params={"jobId": job_id},
                           headers=headers).json()
        if state["status"] != "processing":
            return state
        time.sleep(0.02)
    raise AssertionError("job never finished")


def hs256(claims: dict, secret: str = JWT_SECRET, alg: str = "HS256") -> str:
    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    head = enc({"alg": alg, "typ": "JWT"}) + "." + enc(claims)
    sig = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def test_sse_streams_every_change_then_the_final_state(env: None) -> None:
    with make_app(ok_handlers([])) as client:
        body = {"songs": put_songs()}
        job_id = client.post("/generate-mashup", json=body).json()["jobId"]
        with client.stream("GET", "/mashup-events", params={"jobId": job_id}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            text = "".join(response.iter_text())
    events = [block for block in text.split("\n\n") if block.startswith("id:")]
    names = [b.split("\n")[1].removeprefix("event: ") for b in events]
    data = [json.loads(b.split("\n")[2].removeprefix("data: ")) for b in events]
    assert names[-1] == "complete" and set(names[:-1]) == {"progress"}
    assert data[-1]["status"] == "complete" and "result_url" in data[-1]
    progress = [d["progress"] for d in data]
    assert progress == sorted(progress)
    steps = [d["currentStep"] for d in data]
    assert len(steps) >= 5 and len(set(zip(steps, progress, strict=True))) == len(steps)


def test_websocket_stream_and_unknown_job(env: None) -> None:
    with make_app(ok_handlers([])) as client:
        job_id = client.post("/generate-mashup", json={"songs": put_songs()}).json()["jobId"]
        received = []
        with client.websocket_connect(f"/mashup-events/ws?jobId={job_id}") as ws:
            while True:
                message = ws.receive_json()
                received.append(message)
                if message["event"] != "progress":
                    break
        assert received[-1]["event"] == "complete"
        with client.websocket_connect("/mashup-events/ws?jobId=nope") as ws:
            assert ws.receive_json()["data"]["code"] == "job_not_found"
        assert client.get("/mashup-events", params={"jobId": "nope"}).status_code == 404


def test_cancel_a_running_job_and_terminal_states_never_change(env: None) -> None:
    handlers = ok_handlers([])

    def slow_separation(request: httpx.Request) -> httpx.Response:
        time.sleep(0.3)
        return httpx.Response(503, json={"error": {"code": "x", "message": "busy"}})

    handlers["separation"] = slow_separation
    with make_app(handlers) as client:
        job_id = client.post("/generate-mashup", json={"songs": put_songs()}).json()["jobId"]
        state = client.post("/cancel-mashup", json={"jobId": job_id})
        assert state.status_code == 200
        assert state.json()["status"] == "failed"
        assert state.json()["error_message"] == "Cancelled by the user."
        again = client.post("/cancel-mashup", json={"jobId": job_id})
        assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"
        time.sleep(0.5)
        final = client.get("/get-mashup-status", params={"jobId": job_id}).json()
        assert final["status"] == "failed" and final["currentStep"] == "Cancelled"
        assert client.post("/cancel-mashup", json={"jobId": "nope"}).status_code == 404


def test_generate_is_rate_limited_per_client(env: None, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_PER_MIN", "6")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_BURST", "2")
    with make_app(ok_handlers([])) as client:
        body = {"songs": put_songs()}
        codes = [client.post("/generate-mashup", json=body).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.post("/generate-mashup", json=body)
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 10
        # X-Forwarded-For is ignored unless the gateway is told to trust it.
        spoofed = client.post("/generate-mashup", json=body,
                              headers={"X-Forwarded-For": "10.0.0.9"})
        assert spoofed.status_code == 429


def test_rate_limit_per_forwarded_client(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_PER_MIN", "6")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_BURST", "1")
    monkeypatch.setenv("GATEWAY_TRUST_FORWARDED_FOR", "true")
    with make_app(ok_handlers([])) as client:
        body = {"songs": put_songs()}

        def post(ip: str) -> int:
            return client.post("/generate-mashup", json=body,
                               headers={"X-Forwarded-For": f"{ip}, 10.0.0.1"}).status_code

        assert [post("1.1.1.1"), post("1.1.1.1"), post("2.2.2.2")] == [200, 429, 200]


def test_auth_and_per_user_visibility(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_API_KEYS", f"ops:{API_KEY}")
    monkeypatch.setenv("SUPABASE_JWT_SECRET", JWT_SECRET)
    alice = {"Authorization": "Bearer " + hs256({"sub": "alice", "aud": "authenticated",
                                                 "exp": time.time() + 60})}
    bob = {"Authorization": "Bearer " + hs256({"sub": "bob", "aud": "authenticated",
                                               "exp": time.time() + 60})}
    ops = {"X-API-Key": API_KEY}
    with make_app(ok_handlers([])) as client:
        body = {"songs": put_songs("user:alice")}
        assert client.post("/generate-mashup", json=body).status_code == 401
        forged = {"Authorization": "Bearer " + hs256({"sub": "alice", "exp": time.time() + 60,
                                                      "aud": "authenticated"}, secret="x" * 40)}
        assert client.post("/generate-mashup", json=body, headers=forged).status_code == 401
        job_id = client.post("/generate-mashup", json=body, headers=alice).json()["jobId"]
        assert wait_terminal(client, job_id, alice)["status"] == "complete"
        for other in (bob, ops):
            assert client.get("/get-mashup-status", params={"jobId": job_id},
                              headers=other).status_code == 404
            assert client.post("/cancel-mashup", json={"jobId": job_id},
                               headers=other).status_code == 404
        assert client.get("/mashup-events", params={"jobId": job_id},
                          headers=bob).status_code == 404
        # Browsers cannot set headers on WebSocket/EventSource: ?access_token= works too.
        alice_token = alice["Authorization"].removeprefix("Bearer ")
        with client.websocket_connect(
                f"/mashup-events/ws?jobId={job_id}&access_token={alice_token}") as ws:
            events = [ws.receive_json()]
            while events[-1]["event"] == "progress":
                events.append(ws.receive_json())
            assert events[-1]["event"] == "complete"
        with client.websocket_connect(f"/mashup-events/ws?jobId={job_id}") as ws:
            assert ws.receive_json()["data"]["code"] == "unauthorized"
        # Uploads land in the caller's own folder.
        from gateway.auth import upload_prefix
        from tests.conftest import sine_wav_bytes

        uploaded = client.post("/upload", files={"file": ("s.wav", sine_wav_bytes(6.0))},
                               headers=alice)
        assert uploaded.json()["storage_path"].startswith(upload_prefix("user:alice") + "/")
        assert client.post("/upload", files={"file": ("s.wav", b"x")}).status_code == 401
        # Songs are per user: bob cannot use alice's uploads, even knowing their paths.
        refused = client.post("/generate-mashup", json=body, headers=bob)
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "unknown_storage_path"
        # The same Idempotency-Key from two users makes two jobs.
        mine = client.post("/generate-mashup", json={"songs": put_songs("key:ops")},
                           headers={**ops, "Idempotency-Key": "same"}).json()
        theirs = client.post("/generate-mashup", json={"songs": put_songs("user:bob")},
                             headers={**bob, "Idempotency-Key": "same"}).json()
        assert mine["jobId"] != theirs["jobId"]
        health = client.get("/health")  # health stays open for probes
        assert health.status_code == 200 and health.json()["store"] == "SQLiteJobStore"
        assert health.json()["replica"] and health.json()["queued_jobs"] == 0


@pytest.mark.parametrize(("claims", "alg"), [
    ({"sub": "a", "exp": 1}, "HS256"),  # expired
    ({"sub": "a", "exp": 4e9, "aud": "other"}, "HS256"),
    ({"exp": 4e9, "aud": "authenticated"}, "HS256"),  # no subject
    ({"sub": "a", "exp": 4e9, "aud": "authenticated"}, "none"),
    ({"sub": "a", "exp": 4e9, "aud": "authenticated", "nbf": 4e9}, "HS256"),
])
def test_jwt_rejections(claims: dict, alg: str) -> None:
    with pytest.raises(Unauthorized):
        verify_hs256(hs256(claims, alg=alg), JWT_SECRET.encode(), audience="authenticated")
    good = hs256({"sub": "a", "exp": 4e9, "aud": "authenticated"})
    assert verify_hs256(good, JWT_SECRET.encode(), audience="authenticated")["sub"] == "a"
    with pytest.raises(Unauthorized):
        verify_hs256(good[:-2] + "xx", JWT_SECRET.encode())


async def test_cleanup_removes_old_jobs_and_unshared_files(storage_root: Path) -> None:
    from gateway.cleanup import cleanup_once
    from gateway.jobs import JobStatus, Step
    from gateway.store import InMemoryJobStore
    from shared.storage import get_storage
    from tests.unit.test_gateway_store import make_job

    storage = get_storage()
    for key in ("uploads/old.wav", "uploads/shared.wav", "mashups/old.wav"):
        storage.put_bytes(key, b"x")
    store = InMemoryJobStore()
    await store.create(make_job("old", songs=("uploads/old.wav", "uploads/shared.wav")))
    await store.create(make_job("live", songs=("uploads/shared.wav",)))
    await store.save_output("old", Step.RENDER.value, {"storage_path": "mashups/old.wav"},
                            98.0, "Rendered")
    await store.finish("old", JobStatus.COMPLETE, "Complete")
    assert (await cleanup_once(store, storage, max_age_sec=3600)).jobs == 0
    report = await cleanup_once(store, storage, max_age_sec=0, now_sec=time.time() + 1)
    assert (report.jobs, report.files) == (1, 2)
    assert not storage.exists("uploads/old.wav") and not storage.exists("mashups/old.wav")
    assert storage.exists("uploads/shared.wav") and await store.get("live") is not None


def test_stub_clients_type() -> None:
    assert isinstance(clients(ok_handlers([])), MeshClients)

"""Property-based fuzzing of every gateway endpoint: whatever the body, query or headers,
the gateway answers with a 2xx/4xx in the error shape, never a 5xx."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.unit.test_gateway_api import make_app, put_songs
from tests.unit.test_gateway_runner import ok_handlers

json_scalars = (st.none() | st.booleans() | st.integers()
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=10), children, max_size=4),
                           max_leaves=12)
keys = st.sampled_from(["uploads/a.wav", "uploads/b.wav", "../etc/passwd", "/abs", "",
                        "http://x/y", "uploads/%2e%2e/x", "a" * 300, "uploads/nope.wav"])
song = st.fixed_dictionaries({"id": st.text(max_size=12) | st.integers(),
                              "storage_path": keys | st.text(max_size=20)},
                             optional={"title": json_values, "artist": st.text(max_size=5)})
generate_bodies = (st.fixed_dictionaries({"songs": st.lists(song, max_size=9)},
                                         optional={"options": json_values})
                   | json_values)
job_ids = st.text(max_size=120) | st.sampled_from(["", "x" * 101, "\x00", "job"])
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=250)
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def check(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
            "application/json"):
        assert "message" in response.json()["error"]


@pytest.fixture
def client(storage_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("GATEWAY_DB", str(tmp_path / "gw.sqlite3"))
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_PER_MIN", "0")
    monkeypatch.setenv("GATEWAY_EVENTS_POLL_SEC", "0.01")
    with make_app(ok_handlers([])) as test_client:
        put_songs()
        yield test_client


def test_fuzz_generate_mashup(client: TestClient) -> None:
    @FUZZ
    @given(body=generate_bodies, idem=st.none() | header_text, raw=st.booleans())
    def run(body: Any, idem: str | None, raw: bool) -> None:
        headers = {"Idempotency-Key": idem} if idem is not None else {}
        content = json.dumps(body).encode()
        if raw:  # also send bytes that are not quite JSON
            content = content[: len(content) // 2]
        check(client.post("/generate-mashup", content=content,
                          headers={**headers, "content-type": "application/json"}))

    run()


def test_fuzz_status_cancel_and_events(client: TestClient) -> None:
    @FUZZ
    @given(job_id=job_ids, body=json_values, which=st.sampled_from(
        ["get", "post", "cancel", "events", "cancel-raw"]))
    def run(job_id: str, body: Any, which: str) -> None:
        if which == "get":
            check(client.get("/get-mashup-status", params={"jobId": job_id}))
        elif which == "post":
            check(client.post("/get-mashup-status", json={"jobId": job_id}))
        elif which == "cancel":
            check(client.post("/cancel-mashup", json={"jobId": job_id}))
        elif which == "cancel-raw":
            check(client.post("/cancel-mashup", json=body))
        else:
            check(client.get("/mashup-events", params={"jobId": job_id}))

    run()


def test_fuzz_download_and_upload(client: TestClient) -> None:
    @FUZZ
    @given(key=st.text(max_size=60), expires=st.text(max_size=12), sig=st.text(max_size=70),
           data=st.binary(max_size=2000), name=st.text(max_size=20))
    def run(key: str, expires: str, sig: str, data: bytes, name: str) -> None:
        check(client.get(f"/download/{quote(key, safe='/')}",
                         params={"expires": expires, "sig": sig}))
        check(client.post("/upload", files={"file": (name or "f", data)}))

    run()


def test_fuzz_auth_headers(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.auth import AuthConfig

    client.app.state.auth = AuthConfig(api_keys={"k" * 20: "ops"}, jwt_secret=b"s" * 32,
                                       jwt_audience="authenticated")

    @FUZZ
    @given(token=header_text | st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.text(max_size=40),
                                         st.text(max_size=40), st.text(max_size=40)))
    def run(token: str) -> None:
        try:
            response = client.get("/get-mashup-status", params={"jobId": "x"},
                                  headers={"Authorization": f"Bearer {token}"})
        except UnicodeEncodeError:
            return  # httpx refuses non-latin-1 header values before sending
        assert response.status_code in (401, 404)
        check(response)

    run()

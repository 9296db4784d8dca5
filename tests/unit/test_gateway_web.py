"""The web app the gateway serves: the page, its assets, and the page-only routes
(format exports, stems, cue sheet, JSON timeline, preview)."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from starlette.testclient import TestClient

from gateway.jobs import Job, JobStatus
from gateway.web.cue import cue_sheet, cue_time
from gateway.web.exports import used_stem_files
from gateway.web.pages import STATIC_DIR
from shared.audio_io import encode_audio
from shared.mesh import free_port
from shared.storage import get_storage

SR_HZ = 22050
STEMS = ("vocals", "drums", "bass", "other")
MASTERPLAN: dict[str, Any] = {
    "title": "Night \"Drive\" Mix", "artistCredits": "A vs B",
    "global": {"targetBPM": 120.0, "targetKey": "A minor", "timeSignature": [4, 4]},
    "timeline": [
        {"time_start_sec": 0.0, "duration_sec": 8.0, "description": "Intro", "energy_level": 0.3,
         "layers": [{"songId": "a", "stem": "instrumental", "volume_db": -3.0, "effects": []}]},
        {"time_start_sec": 8.0, "duration_sec": 61.5, "description": "Drop", "energy_level": 0.9,
         "layers": [{"songId": "b", "stem": "vocals", "volume_db": 0.0, "effects": ["reverb"]},
                    {"songId": "a", "stem": "drums", "volume_db": -1.0, "effects": []}]},
    ],
    "problems_and_solutions": [{"problem": "keys", "solution": "shift b"}],
}


@pytest.fixture
def client(storage_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[TestClient]:
    monkeypatch.setenv("GATEWAY_DB", str(tmp_path / "gw.sqlite3"))
    closed = free_port()  # nothing listens here: every service is "down"
    for name in ("analysis", "scoring", "orchestrator", "separation", "processing"):
        monkeypatch.setenv(f"{name.upper()}_URL", f"http://127.0.0.1:{closed}")
    from gateway.app import app

    with TestClient(app) as test_client:
        yield test_client


def tone(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR_HZ)) / SR_HZ
    return np.stack([0.2 * np.sin(2 * np.pi * 330 * t)] * 2).astype(np.float32)


def add_job(client: TestClient, *, status: JobStatus, outputs: dict[str, Any]) -> str:
    job = Job(job_id=f"job{time.monotonic_ns()}", status=status, progress=50.0,
              current_step="Separating stems",
              request={"songs": [{"id": "a", "storage_path": "uploads/a.wav", "title": "Song A"},
                                 {"id": "b", "storage_path": "uploads/b.wav"}]},
              created_at="2026-01-01T00:00:00+00:00", deadline_at=time.time() + 600,
              outputs=outputs)
    assert client.portal is not None
    client.portal.call(client.app.state.store.create, job)
    return job.job_id


def finished_outputs() -> dict[str, Any]:
    storage = get_storage()
    result = storage.put_bytes("results/r.wav", encode_audio(tone(), sample_rate_hz=SR_HZ))
    stems = {f"{song}-{name}": storage.put_bytes(f"stems/x/{song}-{name}.flac",
                                     encode_audio(tone(1.0), sample_rate_hz=SR_HZ, fmt="flac"))
             for song in ("a", "b") for name in STEMS}
    return {
        "analyze": [{"songId": "a", "bpm": 120.0}, {"songId": "b", "bpm": 121.0}],
        "score": {"overall": 80.0, "pairs": []},
        "plan": {"masterplan": MASTERPLAN, "creative_vision": "Dark and driving.",
                 "planner": "rules"},
        "separate": {song: {"stems": {n: stems[f"{song}-{n}"] for n in STEMS},
                            "backend": "dsp"} for song in ("a", "b")},
        "render": {"storage_path": result, "duration_sec": 2.0, "lufs": -14.0,
                   "true_peak_dbtp": -1.0, "warnings": []},
    }


# --- the page and its assets ---------------------------------------------------------

def test_index_is_html_with_a_strict_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert '<script type="module" src="/static/main.js">' in response.text
    assert 'href="/static/app.css"' in response.text


def test_every_asset_is_served_with_its_content_type(client: TestClient) -> None:
    expected = {".js": "javascript", ".css": "text/css", ".html": "text/html"}
    assets = sorted(p for p in STATIC_DIR.iterdir() if p.suffix in expected)
    assert {p.suffix for p in assets} == set(expected)
    for path in assets:
        response = client.get(f"/static/{path.name}")
        assert response.status_code == 200, path.name
        assert expected[path.suffix] in response.headers["content-type"], path.name
        assert response.content == path.read_bytes()
    assert client.get("/static/nope.js").status_code == 404


def test_modules_import_only_files_that_exist_and_nothing_remote() -> None:
    for path in STATIC_DIR.iterdir():
        # The SVG namespace is a name, not something fetched.
        text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
        # Nothing is fetched from elsewhere at run time: no absolute URLs at all.
        assert not re.search(r"(?:https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}/", text), path.name
        if path.suffix == ".js":
            for target in re.findall(r'from\s+"(\./[^"]+)"', text):
                assert (STATIC_DIR / target).is_file(), f"{path.name} imports {target}"


def test_every_form_control_has_a_label() -> None:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    assert ids
    for control_id in ids:
        assert f'for="{control_id}"' in html, control_id


def test_config_names_the_limits_and_choices(client: TestClient,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1234567")
    config = client.get("/web/config").json()
    assert config["max_upload_bytes"] == 1234567
    assert "plateau-peak" in config["energy_curves"] and len(config["energy_curves"]) == 8
    assert config["output_formats"] == ["wav", "flac", "mp3"]
    assert ".flac" in config["accepted_extensions"]


# --- downloads ----------------------------------------------------------------------

def test_a_finished_job_offers_every_format_the_stems_and_the_plan(client: TestClient) -> None:
    job_id = add_job(client, status=JobStatus.COMPLETE, outputs=finished_outputs())
    files = client.get(f"/web/jobs/{job_id}/files").json()["files"]
    by_group: dict[str, list[str]] = {}
    for item in files:
        by_group.setdefault(item["group"], []).append(item["url"].rsplit("/", 1)[-1])
    assert by_group["mashup"] == ["mashup.wav", "mashup.flac", "mashup.mp3"]
    assert sorted(by_group["plan"]) == ["mashup.cue", "timeline.json"]
    # Only the stems the plan plays: a's instrumental is drums+bass+other, b's vocals.
    assert sorted(i["url"].split("/stems/")[1] for i in files if i["group"] == "stems") == [
        "a/bass.flac", "a/drums.flac", "a/other.flac", "b/vocals.flac"]
    for item in files:
        response = client.get(item["url"])
        assert response.status_code == 200, item
        assert "attachment" in response.headers["content-disposition"]


@pytest.mark.parametrize(("fmt", "media_type"), [
    ("wav", "audio/wav"), ("flac", "audio/flac"), ("mp3", "audio/mpeg")])
def test_the_mashup_is_converted_to_the_asked_format(client: TestClient, fmt: str,
                                                     media_type: str) -> None:
    job_id = add_job(client, status=JobStatus.COMPLETE, outputs=finished_outputs())
    response = client.get(f"/web/jobs/{job_id}/mashup.{fmt}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert f'.{fmt}"' in response.headers["content-disposition"]
    audio, rate_hz = sf.read(io.BytesIO(response.content), always_2d=True)
    assert rate_hz == SR_HZ and audio.shape[1] == 2
    assert abs(audio.shape[0] / rate_hz - 2.0) < 0.1  # mp3 pads a little
    assert client.get(f"/web/jobs/{job_id}/mashup.ogg").status_code == 404


def test_unfinished_and_unknown_jobs_answer_in_words(client: TestClient) -> None:
    outputs = finished_outputs()
    del outputs["render"]
    job_id = add_job(client, status=JobStatus.PROCESSING, outputs=outputs)
    files = client.get(f"/web/jobs/{job_id}/files").json()["files"]
    assert not [f for f in files if f["group"] == "mashup"]
    response = client.get(f"/web/jobs/{job_id}/mashup.mp3")
    assert response.status_code == 409 and response.json()["error"]["code"] == "job_not_complete"
    assert client.get("/web/jobs/nope/files").status_code == 404
    assert client.get("/web/jobs/a..b/files").status_code == 404
    assert client.get(f"/web/jobs/{job_id}/stems/a/piano.flac").status_code == 404


def test_timeline_json_and_cue_sheet(client: TestClient) -> None:
    job_id = add_job(client, status=JobStatus.COMPLETE, outputs=finished_outputs())
    timeline = client.get(f"/web/jobs/{job_id}/timeline.json").json()
    assert timeline["masterplan"] == MASTERPLAN and timeline["planner"] == "rules"
    cue = client.get(f"/web/jobs/{job_id}/mashup.cue")
    assert cue.headers["content-type"].startswith("application/x-cue")
    assert 'FILE "night-drive-mix.wav" WAVE' in cue.text
    assert cue.text.count("TRACK ") == 2


# --- the cue sheet itself -------------------------------------------------------------

def test_cue_times_are_minutes_seconds_frames() -> None:
    assert cue_time(0.0) == "00:00:00"
    assert cue_time(61.0 + 40 / 75) == "01:01:40"
    assert cue_time(3600.0) == "60:00:00"
    assert cue_time(-1.0) == "00:00:00"


def test_cue_sheet_has_a_track_per_section_in_time_order() -> None:
    plan = {**MASTERPLAN, "timeline": list(reversed(MASTERPLAN["timeline"]))}
    text = cue_sheet(plan, audio_filename="m.mp3", fmt="mp3", titles={"a": "Song A"})
    lines = text.split("\r\n")
    assert 'TITLE "Night \'Drive\' Mix"' in lines
    assert 'FILE "m.mp3" MP3' in lines
    indexes = [line.strip() for line in lines if "INDEX 01" in line]
    assert indexes == ["INDEX 01 00:00:00", "INDEX 01 00:08:00"]
    assert '    PERFORMER "b, Song A"' in lines


def test_used_stems_expand_instrumental_and_skip_full() -> None:
    plan = {"timeline": [{"layers": [{"songId": "a", "stem": "instrumental"},
                                     {"songId": "b", "stem": "full"},
                                     {"songId": "b", "stem": "vocals"}]}]}
    assert used_stem_files(plan) == {"a": ["drums", "bass", "other"], "b": ["vocals"]}


# --- preview --------------------------------------------------------------------------

def test_preview_waits_for_the_stems_then_renders_once(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.web import preview

    outputs = finished_outputs()
    render = outputs.pop("render")
    separated = outputs.pop("separate")
    early = add_job(client, status=JobStatus.PROCESSING, outputs=outputs)
    response = client.post(f"/web/jobs/{early}/preview")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "preview_not_ready"

    calls: list[dict[str, Any]] = []

    async def fake_render(body: dict[str, Any]) -> dict[str, Any]:
        calls.append(body)
        return {**render, "duration_sec": 1.5}

    monkeypatch.setattr(preview, "_render", fake_render)
    job_id = add_job(client, status=JobStatus.PROCESSING,
                     outputs={**outputs, "separate": separated})
    body = client.post(f"/web/jobs/{job_id}/preview").json()
    assert body["duration_sec"] == 1.5
    assert client.get(body["url"]).status_code == 200  # a signed, working link
    assert calls[0]["output"] == {"format": "mp3", "preview": True}
    assert calls[0]["masterplan"] == MASTERPLAN
    assert [s["id"] for s in calls[0]["songs"]] == ["a", "b"]
    assert calls[0]["songs"][0]["analysis"] == {"songId": "a", "bpm": 120.0}

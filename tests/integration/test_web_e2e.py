"""The web app in a real browser: headless Debian Chromium, driven by Playwright (no
browser download), against the whole mesh. Upload two songs, start a job, watch progress
advance and the timeline render, play the result and download it. A screenshot of each
stage goes to $TEST_ARTIFACTS_DIR/web_e2e (default: this test's tmp dir)."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf

from shared.audio_io import encode_audio
from shared.mesh import Mesh
from shared.synth import SynthSong

PLAN_SEC = 30
JOB_TIMEOUT_SEC = 420


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


# Skip before any fixture starts the mesh when there is nothing to drive.
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = chromium_path()
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def browser() -> Any:
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            # --no-sandbox: CI runs as root; autoplay: play() without a click gesture.
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    root = Path(os.environ.get("TEST_ARTIFACTS_DIR") or tmp_path) / "web_e2e"
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def song_files(songs: tuple[SynthSong, ...], tmp_path: Path) -> list[Path]:
    """The session's songs as FLAC files (the same bytes the API tests upload, so the
    services' content-hash caches answer quickly)."""
    paths = []
    for song in songs:
        path = tmp_path / f"{song.spec.name}.flac"
        path.write_bytes(encode_audio(song.mix, sample_rate_hz=song.sample_rate_hz, fmt="flac"))
        paths.append(path)
    return paths


def test_make_a_mashup_in_the_browser(mesh: Mesh, browser: Any, song_files: list[Path],
                                      artifacts: Path, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    shot = lambda name: page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)  # noqa: E731
    try:
        drive(page, mesh.url("gateway"), song_files, tmp_path, shot)
    except Exception:
        shot("99-failure")
        raise
    finally:
        context.close()
    # Refused requests (the broken upload, an absent /mashup-events stream) are logged
    # by the browser as failed loads; any other error (a script error, a CSP refusal) fails.
    unexpected = [e for e in console_errors if not e.startswith("Failed to load resource")]
    assert not unexpected, unexpected


def wait_until(page: Any, expression: str, timeout_sec: float = 30.0) -> Any:
    """Poll a JS expression until truthy. (Playwright's wait_for_function evaluates with
    eval(), which the page's Content-Security-Policy rightly refuses.)"""
    deadline = time.monotonic() + timeout_sec
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_sec} s: {expression}")
        page.wait_for_timeout(100)


def drive(page: Any, base_url: str, song_files: list[Path], tmp_path: Path,
          shot: Any) -> None:
    page.goto(base_url + "/")
    page.wait_for_selector("body[data-ready='true']")
    assert page.is_disabled("#start")
    shot("01-empty")

    # Two songs, plus two files the page refuses in plain words: one by its name, one
    # after the gateway looked at its bytes.
    bad_text = tmp_path / "notes.txt"
    bad_text.write_text("not a song")
    bad_audio = tmp_path / "broken.wav"
    bad_audio.write_bytes(b"RIFX" + b"\x00" * 5000)
    page.set_input_files("#file-input", [str(p) for p in (*song_files, bad_text, bad_audio)])
    wait_until(page, "document.querySelectorAll('.upload[data-state=done]').length == 2", 60)
    wait_until(page, "document.querySelectorAll('.upload[data-state=error]').length == 2", 60)
    errors = page.locator(".upload[data-state=error] .upload-status").all_inner_texts()
    assert any("not a song file" in e for e in errors), errors
    assert any(e.startswith("Unsupported file:") for e in errors), errors
    assert page.is_enabled("#start")
    shot("02-uploaded")

    page.fill("#opt-duration", str(PLAN_SEC))
    page.select_option("#opt-curve", "build")
    page.fill("#opt-style", "a bright test mashup")
    page.select_option("#opt-format", "wav")
    page.click("#start")
    page.wait_for_url("**/?job=*")
    job_id = page.url.rsplit("job=", 1)[1]
    assert page.inner_text("#job-id") == job_id

    # Follow the job the way a person would: read the bar and the step text.
    progress_seen: list[float] = []
    steps_seen: list[str] = []
    shots_taken: set[str] = set()
    deadline = time.monotonic() + JOB_TIMEOUT_SEC
    while time.monotonic() < deadline:
        status, value, step = page.evaluate(
            "[document.getElementById('job').dataset.status || '',"
            " Number(document.getElementById('job-progress').value),"
            " document.getElementById('job-step').textContent]")
        progress_seen.append(value)
        if not steps_seen or steps_seen[-1] != step:
            steps_seen.append(step)
        # One shot early in the job, one once the plan is on the page.
        for name, lowest in (("03-progress", 0.0), ("04-planned", 48.0)):
            if name not in shots_taken and lowest < value < 100:
                shot(name)
                shots_taken.add(name)
        if status in ("complete", "failed"):
            break
        page.wait_for_timeout(200)
    status = page.evaluate("document.getElementById('job').dataset.status")
    assert status == "complete", page.inner_text("#job-error")
    assert progress_seen == sorted(progress_seen), "the progress bar went backwards"
    assert progress_seen[-1] == 100
    # The page reads the whole state on each event, so when the session's songs are
    # cached (analysis and stems answer at once) the bar may jump straight to rendering;
    # it must still show the job between start and end, and the job's own record (the
    # event stream, replayed from the start) must carry each step on the way.
    assert any(0 < v < 100 for v in progress_seen), progress_seen
    assert len(steps_seen) >= 2 and steps_seen[-1].startswith("Complete"), steps_seen
    replay = httpx.get(f"{base_url}/mashup-events", params={"jobId": job_id}, timeout=30)
    events = [json.loads(line[len("data: "):])
              for line in replay.text.splitlines() if line.startswith("data: ")]
    recorded = [event["progress"] for event in events]
    assert recorded == sorted(recorded), recorded
    assert len({v for v in recorded if 0 < v < 100}) >= 2, recorded
    assert len({event["currentStep"] for event in events}) >= 3, events

    # Analysis, match and the masterplan timeline are on the page.
    page.wait_for_selector("#plan-panel:not([hidden]) svg.timeline .lane")
    assert page.locator(".song-card").count() == 2
    assert page.locator(".song-card svg.energy-plot polyline.energy-line").count() == 2
    assert page.locator(".song-card svg.energy-plot .sections rect").count() >= 2
    assert "Camelot" in page.inner_text("#song-cards")
    assert "/100" in page.inner_text("#match-score")
    assert "sings over" in page.inner_text("#match")
    lanes = page.locator("svg.timeline .lane").count()
    assert lanes >= 2
    assert page.locator("svg.timeline .section-box").count() >= 2
    assert page.locator("svg.timeline polyline.plan-energy").count() == 1
    assert "rules planner" in page.inner_text("#planner")
    state = httpx.get(f"{base_url}/get-mashup-status", params={"jobId": job_id}).json()
    planned_sec = sum(s["duration_sec"] for s in state["masterplan"]["timeline"])
    assert page.locator("svg.timeline .section-box").count() == len(
        state["masterplan"]["timeline"])
    shot("05-complete")

    # A reload keeps the job (its id is in the URL).
    page.reload()
    page.wait_for_selector("#job[data-status='complete']")
    page.wait_for_selector("svg.timeline .lane")
    assert page.locator("svg.timeline .lane").count() == lanes

    # Play the finished mashup.
    page.wait_for_selector("#result-block:not([hidden])")
    page.evaluate("document.getElementById('result-audio').play()")
    wait_until(page, "document.getElementById('result-audio').currentTime > 0.3")
    duration = page.evaluate("document.getElementById('result-audio').duration")
    assert abs(duration - planned_sec) < 0.5, (duration, planned_sec)
    page.evaluate("document.getElementById('result-audio').pause()")
    page.locator("#listen").scroll_into_view_if_needed()
    shot("06-playing")

    # Download it as MP3 (converted by the gateway) and as the rendered WAV.
    page.wait_for_selector("#downloads:not([hidden]) a[data-format='mp3']")
    for fmt in ("mp3", "wav"):
        with page.expect_download() as info:
            page.click(f".download-group[data-group='mashup'] a[data-format='{fmt}']")
        download = info.value
        assert download.suggested_filename.endswith(f".{fmt}")
        data = Path(download.path()).read_bytes()
        audio, rate_hz = sf.read(io.BytesIO(data), always_2d=True)
        assert abs(audio.shape[0] / rate_hz - planned_sec) < 0.5, fmt
    assert page.locator(".download-group[data-group='stems'] a").count() >= 1
    with page.expect_download() as info:
        page.click(".download-group[data-group='plan'] a[data-format='cue']")
    assert "TRACK 01 AUDIO" in Path(info.value.path()).read_text()
    shot("07-downloads")

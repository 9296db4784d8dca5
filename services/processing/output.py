"""Store a render: content-addressed audio, its timeline JSON and a cue sheet.

The key is the sha256 of everything that decides the sound (the plan, the songs' storage
paths and analyses, the format, preview or not, the render settings), so the same request
always lands on the same key, and since rendering is deterministic, on the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import numpy as np
import soundfile as sf

from services.processing.render import RenderResult
from services.processing.settings import RenderSettings
from shared.audio_io import encode_audio
from shared.contracts.orchestrator import Masterplan
from shared.contracts.processing import RenderResponse, SongRef
from shared.loudness import integrated_lufs
from shared.storage import Storage
from shared.true_peak import true_peak_dbtp

_CUE_FRAMES_PER_SEC = 75
_FLOOR_DBTP = -120.0
_LOSSLESS = frozenset({"wav", "flac"})


def output_key(plan: Masterplan, songs: list[SongRef], *, fmt: str, preview: bool,
               settings: RenderSettings) -> str:
    """`mashups/<sha256>` or `previews/<sha256>` (without extension) for this request."""
    material = {
        "plan": plan.wire(),
        "songs": [[s.id, s.storage_path, s.analysis] for s in songs],
        "format": fmt,
        "preview": preview,
        "settings": settings.key_fields(),
    }
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(blob.encode()).hexdigest()
    return f"{'previews' if preview else 'mashups'}/{digest}"


def _measure(samples: np.ndarray, *, sample_rate_hz: int) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of (channels, n) audio."""
    tp = true_peak_dbtp(samples, sample_rate_hz=sample_rate_hz)
    # JSON has no -inf: a silent file reports a floor instead.
    return integrated_lufs(samples, sample_rate_hz=sample_rate_hz), max(tp, _FLOOR_DBTP)


def _decoded(data: bytes) -> np.ndarray:
    samples, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return np.ascontiguousarray(samples.T)


def encode_checked(audio: np.ndarray, *, sample_rate_hz: int, fmt: str, ceiling_dbtp: float,
                   measured: tuple[float, float] | None = None) -> tuple[bytes, float, float]:
    """Encode and measure what the file holds. A lossless file (24-bit WAV or FLAC) holds
    the samples to within one step of 2^-23 (-138 dBFS), far under the 0.01 dB the figures
    are reported in, so its figures are those of the samples: `measured` (LUFS, dBTP)
    when the caller has them (the master measures its output exactly), else measured
    here. A lossy MP3 is decoded and measured, and as it can overshoot the ceiling between
    samples, then the gain comes down by the overshoot and it is encoded once more."""
    data = encode_audio(audio, sample_rate_hz=sample_rate_hz, fmt=fmt, bit_depth=24)
    if fmt in _LOSSLESS:
        if measured is not None:
            return data, measured[0], max(measured[1], _FLOOR_DBTP)
        lufs, tp = _measure(audio, sample_rate_hz=sample_rate_hz)
        return data, lufs, tp
    lufs, tp = _measure(_decoded(data), sample_rate_hz=sample_rate_hz)
    if tp > ceiling_dbtp:
        trim = 10 ** ((ceiling_dbtp - tp - 0.1) / 20)
        data = encode_audio(audio * np.float32(trim), sample_rate_hz=sample_rate_hz, fmt=fmt,
                            bit_depth=24)
        lufs, tp = _measure(_decoded(data), sample_rate_hz=sample_rate_hz)
    return data, lufs, tp


def cue_sheet(report: dict[str, Any], *, audio_name: str) -> str:
    """A CUE sheet with one track per timeline section (INDEX in mm:ss:ff, 75 frames/s)."""
    lines = [f'TITLE "{_cue_text(str(report.get("title", "mashup")))}"',
             f'FILE "{audio_name}" WAVE']
    offset = float(report.get("window_sec", [0.0])[0])
    for n, section in enumerate(report.get("sections", []), start=1):
        start = float(section["start_sec"]) - offset
        if start < 0 or start >= float(report.get("window_sec", [0, 1e9])[1]) - offset:
            continue
        frames = round(start * _CUE_FRAMES_PER_SEC)
        minutes, rest = divmod(frames, 60 * _CUE_FRAMES_PER_SEC)
        seconds, frame = divmod(rest, _CUE_FRAMES_PER_SEC)
        title = section.get("description") or f"section {n}"
        lines += [f"  TRACK {n:02d} AUDIO", f'    TITLE "{_cue_text(title)}"',
                  f"    INDEX 01 {minutes:02d}:{seconds:02d}:{frame:02d}"]
    return "\n".join(lines) + "\n"


def _cue_text(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")[:80]


def store_render(result: RenderResult, *, base_key: str, fmt: str, storage: Storage,
                 ceiling_dbtp: float) -> RenderResponse:
    """Encode, store audio + `.json` timeline + `.cue`, and answer with final figures."""
    data, lufs, tp = encode_checked(result.audio, sample_rate_hz=result.sample_rate_hz, fmt=fmt,
                                    ceiling_dbtp=ceiling_dbtp,
                                    measured=(result.lufs, result.true_peak_dbtp))
    audio_key = f"{base_key}.{fmt}"
    response = RenderResponse(success=True, storage_path=audio_key,
                              duration_sec=round(result.duration_sec, 4), lufs=round(lufs, 2),
                              true_peak_dbtp=round(tp, 2), warnings=result.warnings)
    report = {**result.report, "response": response.model_dump(mode="json")}
    storage.put_bytes(audio_key, data)
    storage.put_bytes(f"{base_key}.json", json.dumps(report, indent=1, sort_keys=True).encode())
    storage.put_bytes(f"{base_key}.cue",
                      cue_sheet(report, audio_name=audio_key.rsplit("/", 1)[-1]).encode())
    return response


def cached_response(base_key: str, *, fmt: str, storage: Storage) -> RenderResponse | None:
    """The stored answer of an identical earlier request, if both files are there."""
    audio_key, report_key = f"{base_key}.{fmt}", f"{base_key}.json"
    if not (storage.exists(audio_key) and storage.exists(report_key)):
        return None
    try:
        report = json.loads(storage.get_bytes(report_key))
        return RenderResponse.model_validate(report["response"])
    except (ValueError, KeyError, TypeError):
        return None

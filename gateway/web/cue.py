"""A CD-style cue sheet for a finished mashup: one track per masterplan section.

Pure text from the masterplan (no I/O), so a DJ tool or audio editor can jump between the
sections the planner wrote.
"""

from __future__ import annotations

from typing import Any

CUE_FRAMES_PER_SEC = 75  # the cue sheet's time unit: CD frames
CUE_FILE_TYPES = {"wav": "WAVE", "flac": "WAVE", "mp3": "MP3"}
MAX_CUE_TRACKS = 99  # the format's limit


def _quoted(text: Any) -> str:
    # Cue sheets have no escape for a double quote; swap it for a single one.
    cleaned = " ".join(str(text or "").replace('"', "'").split())
    return f'"{cleaned[:200]}"'


def cue_time(time_sec: float) -> str:
    """MM:SS:FF at 75 frames per second (minutes may pass 99 for very long files)."""
    frames_total = round(max(0.0, time_sec) * CUE_FRAMES_PER_SEC)
    minutes, rest = divmod(frames_total, 60 * CUE_FRAMES_PER_SEC)
    seconds, frames = divmod(rest, CUE_FRAMES_PER_SEC)
    return f"{minutes:02d}:{seconds:02d}:{frames:02d}"


def cue_sheet(masterplan: dict[str, Any], *, audio_filename: str, fmt: str = "wav",
              titles: dict[str, str] | None = None) -> str:
    """The cue sheet text; `titles` maps songId → a display name for each track's
    PERFORMER line (the songs heard in that section)."""
    titles = titles or {}
    sections = sorted(masterplan.get("timeline") or [],
                      key=lambda s: float(s.get("time_start_sec", 0.0)))[:MAX_CUE_TRACKS]
    lines = [
        'REM GENERATOR "Mashup Mesh"',
        f"PERFORMER {_quoted(masterplan.get('artistCredits') or 'Mashup Mesh')}",
        f"TITLE {_quoted(masterplan.get('title') or 'Mashup')}",
        f"FILE {_quoted(audio_filename)} {CUE_FILE_TYPES.get(fmt, 'WAVE')}",
    ]
    for number, section in enumerate(sections, start=1):
        song_ids = dict.fromkeys(layer.get("songId") for layer in section.get("layers") or [])
        heard = ", ".join(titles.get(str(sid), str(sid)) for sid in song_ids if sid)
        lines += [
            f"  TRACK {number:02d} AUDIO",
            f"    TITLE {_quoted(section.get('description') or f'Section {number}')}",
            f"    PERFORMER {_quoted(heard or 'Mashup Mesh')}",
            f"    INDEX 01 {cue_time(float(section.get('time_start_sec', 0.0)))}",
        ]
    return "\r\n".join(lines) + "\r\n"

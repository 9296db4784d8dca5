"""Settings of the processing service, read from the environment at call time.

| variable | default | meaning |
|---|---|---|
| PROCESSING_TARGET_LUFS | -14.0 | integrated loudness of every render (LUFS) |
| PROCESSING_CEILING_DBTP | -1.0 | true-peak ceiling of the limiter (dBTP) |
| PROCESSING_SAMPLE_RATE_HZ | 44100 | render rate; inputs are resampled to it |
| PROCESSING_WORKERS | 1 | renders running at once (each in a thread) |
| PROCESSING_QUEUE | 8 | renders waiting before callers get 429 |
| PROCESSING_TIME_MAP | beat | warp knots: beat (lock every beat), bar (downbeats only), constant |
| PROCESSING_STRETCH_QUALITY | high | Rubber Band engine: high (R3) or fast (R2, about 2x faster) |
| PROCESSING_RENDER_THREADS | 2 | stretcher calls (spans of layers) run at once within one render |
| PROCESSING_CROSSFADE_BEATS | 1.0 | crossfade where a layer continues across sections |
| PROCESSING_BUS_COMPRESSION | 1 | gentle 2:1 glue compression before the limiter |
| PROCESSING_PREVIEW_SEC | 30 | longest preview |
| PROCESSING_PREVIEW_QUALITY | fast | Rubber Band engine of previews (fast keeps them ≤ 10 s) |
| PROCESSING_CACHE | 1 | answer a repeated request from the stored render |
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from shared.settings import env_float, env_int, env_str

TimeMapMode = Literal["bar", "beat", "constant"]
RENDER_VERSION = "processing-10"  # part of every output key: bump when the sound changes


@dataclass(frozen=True)
class RenderSettings:
    """Everything that changes the rendered audio (and so belongs in the output key)."""

    sample_rate_hz: int = 44100
    target_lufs: float = -14.0
    ceiling_dbtp: float = -1.0
    time_map: TimeMapMode = "beat"
    stretch_high_quality: bool = True
    crossfade_beats: float = 1.0
    declick_ms: float = 8.0
    loop_splice_ms: float = 10.0
    bus_compression: bool = True
    preview_max_sec: float = 30.0
    render_threads: int = 2  # stretcher calls run at once; does not change the audio
    preview_high_quality: bool = False  # previews favour speed (an audition, ≤ 10 s)

    @classmethod
    def from_env(cls) -> RenderSettings:
        mode = env_str("PROCESSING_TIME_MAP", "beat").lower()
        if mode not in ("bar", "beat", "constant"):
            raise ValueError(f"PROCESSING_TIME_MAP must be bar, beat or constant, not {mode!r}")
        return cls(
            sample_rate_hz=env_int("PROCESSING_SAMPLE_RATE_HZ", 44100),
            target_lufs=env_float("PROCESSING_TARGET_LUFS", -14.0),
            ceiling_dbtp=env_float("PROCESSING_CEILING_DBTP", -1.0),
            time_map=mode,  # type: ignore[arg-type]
            stretch_high_quality=env_str("PROCESSING_STRETCH_QUALITY", "high").lower() != "fast",
            crossfade_beats=env_float("PROCESSING_CROSSFADE_BEATS", 1.0),
            bus_compression=env_str("PROCESSING_BUS_COMPRESSION", "1") not in ("0", "false"),
            preview_max_sec=env_float("PROCESSING_PREVIEW_SEC", 30.0),
            render_threads=max(1, env_int("PROCESSING_RENDER_THREADS", 2)),
            preview_high_quality=env_str("PROCESSING_PREVIEW_QUALITY", "fast").lower()
            == "high",
        )

    def for_preview(self) -> RenderSettings:
        """The settings a preview renders with (its own stretch engine)."""
        return replace(self, stretch_high_quality=self.preview_high_quality)

    def with_changes(self, **changes: object) -> RenderSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def key_fields(self) -> dict[str, object]:
        """The fields that go into the content-addressed output key."""
        return {
            "version": RENDER_VERSION,
            "sample_rate_hz": self.sample_rate_hz,
            "target_lufs": self.target_lufs,
            "ceiling_dbtp": self.ceiling_dbtp,
            "time_map": self.time_map,
            "stretch_high_quality": self.stretch_high_quality,
            "crossfade_beats": self.crossfade_beats,
            "bus_compression": self.bus_compression,
            "preview_max_sec": self.preview_max_sec,
        }


@dataclass(frozen=True)
class ServiceSettings:
    workers: int
    queue: int
    cache: bool
    # Decoded song and stem files kept in memory between jobs (`decoded`); 0 turns it off.
    # A two-song 3-minute job decodes ~0.6 GB of float32 samples.
    decode_cache_mb: int = 1024

    @classmethod
    def from_env(cls) -> ServiceSettings:
        return cls(
            workers=env_int("PROCESSING_WORKERS", 1),
            queue=env_int("PROCESSING_QUEUE", 8),
            cache=env_str("PROCESSING_CACHE", "1") not in ("0", "false"),
            decode_cache_mb=env_int("PROCESSING_DECODE_CACHE_MB", 1024),
        )

"""Decode and encode audio bytes, with the checks every service applies to input.

Decoding goes through libsndfile (soundfile), which reads WAV, FLAC, MP3, OGG/Vorbis,
AIFF and more; MP3 encoding uses pedalboard's bundled LAME. Samples are float32 arrays of
shape (channels, n_samples), the layout pedalboard uses.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from shared.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from shared.settings import AudioLimits

SILENCE_PEAK = 10 ** (-80 / 20)  # below -80 dBFS everywhere counts as silence
FORMAT_EXTENSIONS = {"wav": "wav", "flac": "flac", "mp3": "mp3", "ogg": "ogg", "aiff": "aiff"}


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32, shape (channels, n_samples), in [-1, 1]
    sample_rate_hz: int
    format: str  # one of FORMAT_EXTENSIONS

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_sec(self) -> float:
        return self.samples.shape[1] / self.sample_rate_hz


def sniff_format(data: bytes) -> str | None:
    """The container named by the file's magic bytes, or None when it is not audio."""
    head = data[:16]
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06):
        return "mp3"  # an MPEG audio frame header (layer bits non-zero)
    return None


def _wav_truncated(data: bytes) -> bool:
    """True when the WAV's data chunk declares more bytes than the file holds."""
    if data[:4] != b"RIFF":
        return False
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos:pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4:pos + 8])
        if chunk_id == b"data":
            if size in (0, 0xFFFFFFFF):  # streaming writers leave the size open
                return False
            return pos + 8 + size > len(data) + 1
        pos += 8 + size + (size & 1)
    return True  # no data chunk at all


def _flac_declared_frames(data: bytes) -> int | None:
    # STREAMINFO is the first metadata block: 36 bits of total samples at bytes 21..26.
    if len(data) < 42 or data[:4] != b"fLaC":
        return None
    info = int.from_bytes(data[18:26], "big")
    total = info & ((1 << 36) - 1)
    return total or None


def decode_audio(
    data: bytes,
    *,
    limits: AudioLimits | None = None,
    reject_silent: bool = True,
) -> DecodedAudio:
    """Decode file bytes to float32 (channels, n_samples).

    Raises UnsupportedMediaType (415) for bytes that are not a known audio container,
    Unprocessable (422) for corrupt, truncated, empty, too short or silent audio, and
    PayloadTooLarge (413) for files over the size or duration caps.
    """
    limits = limits or AudioLimits.from_env()
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"The file is {len(data) / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB."
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise UnsupportedMediaType(
            "This file is not audio we can read; send WAV, FLAC, MP3, OGG/Vorbis or AIFF."
        )
    if fmt == "wav" and _wav_truncated(data):
        raise Unprocessable("The WAV file is truncated: it ends before its audio data does.",
                            code="truncated_audio")
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise Unprocessable(f"The {fmt.upper()} file is corrupt or unreadable ({exc}).",
                            code="corrupt_audio") from exc
    if info.samplerate <= 0 or info.channels <= 0:
        raise Unprocessable("The file declares no audio channels.", code="corrupt_audio")
    if info.frames > 0 and info.frames / info.samplerate > limits.max_duration_sec:
        raise PayloadTooLarge(
            f"The song is {info.frames / info.samplerate / 60:.1f} min long; the limit is "
            f"{limits.max_duration_sec / 60:.0f} min.", code="too_long"
        )
    try:
        frames, sample_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise Unprocessable(f"The {fmt.upper()} file is corrupt or truncated ({exc}).",
                            code="corrupt_audio") from exc
    declared = _flac_declared_frames(data) if fmt == "flac" else None
    if declared and frames.shape[0] < declared * 0.99:
        raise Unprocessable("The FLAC file is truncated: it holds less audio than it declares.",
                            code="truncated_audio")
    if frames.shape[1] > 2:
        # Fold surround down to stereo: the mesh works on mono or stereo.
        samples = np.stack([frames[:, 0::2].mean(axis=1), frames[:, 1::2].mean(axis=1)])
    else:
        samples = np.ascontiguousarray(frames.T)
    del frames  # a 10-minute song is 212 MB per copy: keep one
    if not _all_finite(samples):
        raise Unprocessable("The file contains invalid (NaN or infinite) samples.",
                            code="corrupt_audio")
    duration_sec = samples.shape[1] / sample_rate
    if duration_sec > limits.max_duration_sec:
        raise PayloadTooLarge(f"The song is longer than {limits.max_duration_sec / 60:.0f} min.",
                              code="too_long")
    if duration_sec < limits.min_duration_sec:
        raise Unprocessable(
            f"The song is {duration_sec:.1f} s long; at least {limits.min_duration_sec:.0f} s "
            "is needed.", code="too_short"
        )
    if reject_silent and float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise Unprocessable("The song is silent (nothing above -80 dBFS).", code="silent_audio")
    np.clip(samples, -1.0, 1.0, out=samples)
    return DecodedAudio(samples=samples, sample_rate_hz=int(sample_rate), format=fmt)


def _all_finite(samples: np.ndarray, *, block_samples: int = 1 << 20) -> bool:
    """np.isfinite(...).all() a block at a time (no song-sized boolean array)."""
    return all(bool(np.isfinite(samples[..., i:i + block_samples]).all())
               for i in range(0, samples.shape[-1], block_samples))


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(channels, n) or (n,) → (n,) float32."""
    if samples.ndim == 1:
        return samples.astype(np.float32, copy=False)
    return samples.mean(axis=0).astype(np.float32)


def resample(samples: np.ndarray, *, from_rate_hz: int, to_rate_hz: int) -> np.ndarray:
    """Polyphase resampling along the last axis; returns float32."""
    if from_rate_hz == to_rate_hz:
        return samples.astype(np.float32, copy=False)
    g = np.gcd(int(from_rate_hz), int(to_rate_hz))
    out = resample_poly(samples, to_rate_hz // g, from_rate_hz // g, axis=-1)
    return out.astype(np.float32)


def encode_audio(samples: np.ndarray, *, sample_rate_hz: int, fmt: str = "wav",
                 bit_depth: int = 24) -> bytes:
    """Encode float32 (channels, n) to file bytes (wav, flac or mp3)."""
    if samples.ndim == 1:
        samples = samples[None, :]
    samples = np.clip(samples.astype(np.float32), -1.0, 1.0)
    buf = io.BytesIO()
    if fmt in ("wav", "flac"):
        subtype = {16: "PCM_16", 24: "PCM_24"}[bit_depth]
        sf.write(buf, samples.T, sample_rate_hz, format=fmt.upper(), subtype=subtype)
    elif fmt == "mp3":
        from pedalboard.io import AudioFile

        with AudioFile(buf, "w", samplerate=sample_rate_hz, num_channels=samples.shape[0],
                       format="mp3", quality="320") as fh:
            fh.write(samples)
    else:
        raise ValueError(f"unsupported output format {fmt!r}; use wav, flac or mp3")
    return buf.getvalue()

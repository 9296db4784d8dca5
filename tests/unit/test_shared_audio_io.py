from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from shared.audio_io import decode_audio, encode_audio, resample, sniff_format
from shared.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from shared.settings import AudioLimits
from tests.conftest import sine_wav_bytes

LIMITS = AudioLimits(max_bytes=10_000_000, max_duration_sec=60.0, min_duration_sec=5.0)


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG", "AIFF", "MP3"])
def test_decodes_every_container(fmt: str) -> None:
    data = sine_wav_bytes(6.0, fmt=fmt) if fmt != "MP3" else encode_audio(
        np.tile(np.sin(np.arange(6 * 44100) * 2 * np.pi * 440 / 44100) * 0.3, (2, 1)),
        sample_rate_hz=44100, fmt="mp3")
    decoded = decode_audio(data, limits=LIMITS)
    assert decoded.format == fmt.lower()
    assert decoded.channels == 2
    assert decoded.duration_sec == pytest.approx(6.0, abs=0.06)
    assert decoded.samples.dtype == np.float32


def test_mono_and_other_sample_rates() -> None:
    decoded = decode_audio(sine_wav_bytes(6.0, sample_rate_hz=22050, channels=1), limits=LIMITS)
    assert decoded.channels == 1 and decoded.sample_rate_hz == 22050


def _wav(frames: np.ndarray, subtype: str = "FLOAT") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, frames, 44100, format="WAV", subtype=subtype)
    return buf.getvalue()


def test_surround_folds_to_stereo_and_loud_samples_are_clipped() -> None:
    t = np.arange(6 * 44100) / 44100
    left, right = 0.2 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 660 * t)
    # 4 channels L R Ls Rs: the fold averages the even and the odd channels.
    frames = np.stack([left, right, 0.5 * left, 3.0 * right], axis=1).astype(np.float32)
    decoded = decode_audio(_wav(frames), limits=LIMITS)
    assert decoded.samples.shape == (2, frames.shape[0])
    np.testing.assert_allclose(decoded.samples[0], 0.75 * left, atol=1e-6)
    np.testing.assert_allclose(decoded.samples[1], np.clip(2.0 * right, -1, 1), atol=1e-6)
    assert decoded.samples.flags.c_contiguous


def test_nan_samples_are_422() -> None:
    frames = np.full((6 * 44100, 2), 0.1, dtype=np.float32)
    frames[5 * 44100, 1] = np.nan
    with pytest.raises(Unprocessable, match="NaN"):
        decode_audio(_wav(frames), limits=LIMITS)


def test_not_audio_is_415() -> None:
    with pytest.raises(UnsupportedMediaType):
        decode_audio(b"%PDF-1.7 this is a document" * 100, limits=LIMITS)
    assert sniff_format(b"") is None


def test_truncated_wav_is_422() -> None:
    data = sine_wav_bytes(8.0)
    with pytest.raises(Unprocessable) as info:
        decode_audio(data[: len(data) // 2], limits=LIMITS)
    assert info.value.code == "truncated_audio"


def test_truncated_flac_is_422() -> None:
    data = sine_wav_bytes(8.0, fmt="FLAC")
    with pytest.raises(Unprocessable):
        decode_audio(data[: len(data) // 2], limits=LIMITS)


def test_corrupt_header_is_422() -> None:
    data = bytearray(sine_wav_bytes(6.0, fmt="FLAC"))
    data[8:60] = b"\x00" * 52
    with pytest.raises(Unprocessable):
        decode_audio(bytes(data), limits=LIMITS)


def test_silent_short_and_long() -> None:
    buf = io.BytesIO()
    sf.write(buf, np.zeros((44100 * 6, 2), np.float32), 44100, format="WAV")
    with pytest.raises(Unprocessable) as info:
        decode_audio(buf.getvalue(), limits=LIMITS)
    assert info.value.code == "silent_audio"
    assert decode_audio(buf.getvalue(), limits=LIMITS, reject_silent=False).duration_sec == 6.0
    with pytest.raises(Unprocessable) as info:
        decode_audio(sine_wav_bytes(2.0), limits=LIMITS)
    assert info.value.code == "too_short"
    with pytest.raises(PayloadTooLarge):
        decode_audio(sine_wav_bytes(61.0, sample_rate_hz=8000), limits=LIMITS)
    with pytest.raises(PayloadTooLarge):
        decode_audio(sine_wav_bytes(6.0), limits=AudioLimits(1000, 60.0, 5.0))


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_lossless_round_trip(fmt: str) -> None:
    rng = np.random.default_rng(0)
    samples = (rng.standard_normal((2, 44100 * 6)) * 0.1).astype(np.float32)
    decoded = decode_audio(encode_audio(samples, sample_rate_hz=44100, fmt=fmt), limits=LIMITS)
    assert np.max(np.abs(decoded.samples - samples)) < 2 ** -22


def test_resample_keeps_duration_and_pitch() -> None:
    t = np.arange(48000) / 48000
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    out = resample(tone, from_rate_hz=48000, to_rate_hz=44100)
    assert out.shape[-1] == 44100
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == pytest.approx(1000, abs=1)

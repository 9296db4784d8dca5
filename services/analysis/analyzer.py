"""The whole analysis of one song as a pure function: samples in, AnalysisResult out.

Each algorithm runs at the lowest rate it allows: the beat tracker and key at 44.1 kHz
mono (RhythmExtractor2013 is tuned for it), the shared spectrogram at 22.05 kHz mono, the
vocal detector at 16 kHz stereo; loudness and the spectral profile use the input as is.
"""

from __future__ import annotations

import numpy as np

from services.analysis import features
from services.analysis.cues import cue_points
from services.analysis.downbeats import estimate_downbeats
from services.analysis.energy import (
    ENERGY_HOP_SEC,
    energy_curve,
    overall_energy,
    spectral_profile,
)
from services.analysis.key import estimate_key
from services.analysis.loops import loop_grid
from services.analysis.sections import segment_song
from services.analysis.settings import ANALYSIS_VERSION
from services.analysis.tempo import RHYTHM_RATE_HZ, estimate_tempo
from shared.audio_io import resample, to_mono
from shared.contracts.analysis import (
    AnalysisResult,
    CuePoint,
    EnergyCurve,
    SongSection,
    SpectralProfile,
)
from shared.loudness import integrated_lufs
from shared.vocal_activity import detect_vocals

BEATS_PER_BAR = 4


def _times(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def analyze_audio(samples: np.ndarray, *, sample_rate_hz: int, song_id: str) -> AnalysisResult:
    """Analyse float32 audio (channels, n) or (n,) at `sample_rate_hz`.

    Raises ValueError for empty input; silence yields a result with zero confidences
    (the service refuses silent files before they get here)."""
    audio = samples if samples.ndim == 2 else samples[None, :]
    if audio.shape[1] == 0:
        raise ValueError("no samples to analyse")
    duration_sec = audio.shape[1] / sample_rate_hz
    mono = to_mono(audio)
    mono_rhythm = resample(mono, from_rate_hz=sample_rate_hz, to_rate_hz=RHYTHM_RATE_HZ)
    mono_features = resample(mono_rhythm, from_rate_hz=RHYTHM_RATE_HZ,
                             to_rate_hz=features.FEATURE_RATE_HZ)

    spec = features.compute_spectrogram(mono_features, sample_rate_hz=features.FEATURE_RATE_HZ)
    onsets = features.onset_envelopes(spec)
    chroma = features.chroma(spec)
    frame_times = spec.frame_times_sec()

    tempo = estimate_tempo(mono_rhythm, sample_rate_hz=RHYTHM_RATE_HZ, onsets=onsets)
    loop = loop_grid(tempo, duration_sec=duration_sec, onsets=onsets)
    if loop is not None:  # a short loop: whole bars from its first beat, a downbeat
        tempo, downbeats = loop, loop.beats_sec[::BEATS_PER_BAR]
    else:
        downbeats = estimate_downbeats(tempo.beats_sec, onsets=onsets, chroma=chroma,
                                       frame_times_sec=frame_times, duration_sec=duration_sec,
                                       steady=tempo.steady)

    loudness_lufs = integrated_lufs(audio, sample_rate_hz=sample_rate_hz)
    curve = energy_curve(mono_features, sample_rate_hz=features.FEATURE_RATE_HZ,
                         hop_sec=ENERGY_HOP_SEC)
    profile = spectral_profile(mono, sample_rate_hz=sample_rate_hz)
    vocal_intervals = detect_vocals(audio, sample_rate_hz=sample_rate_hz)

    form = segment_song(downbeats_sec=downbeats, duration_sec=duration_sec, chroma=chroma,
                        log_mel=features.log_mel(spec), rms=features.frame_rms(spec),
                        frame_times_sec=frame_times, energy_curve=curve,
                        energy_hop_sec=ENERGY_HOP_SEC, vocal_intervals_sec=vocal_intervals)
    bar_sec = BEATS_PER_BAR * 60.0 / tempo.tempo_bpm
    # The phrase-tonic check trusts only phrases counted from the first bar of music: a grid that
    # phrase_phase() moved by contrast is a guess, and a phrase start one bar off lands
    # on the next chord (V or IV), which the check would take for the tonic; on such a
    # grid estimate_key only looks for the bar phase where the phrases open most alike.
    key = estimate_key(mono_rhythm, sample_rate_hz=RHYTHM_RATE_HZ,
                       phrase_starts_sec=form.phrase_starts_sec, bar_sec=bar_sec,
                       phrases_guessed=form.phase_guessed)
    cues = cue_points(sections=form.sections, phrase_starts_sec=form.phrase_starts_sec,
                      bar_sec=bar_sec, energy_curve=curve, energy_hop_sec=ENERGY_HOP_SEC,
                      duration_sec=duration_sec)

    return AnalysisResult(
        songId=song_id,
        duration_sec=round(duration_sec, 4),
        sample_rate=int(sample_rate_hz),
        channels=int(audio.shape[0]),
        bpm=round(tempo.tempo_bpm, 3),
        bpm_confidence=round(tempo.confidence, 4),
        beats=_times(tempo.beats_sec),
        downbeats=_times(downbeats),
        time_signature=(BEATS_PER_BAR, 4),
        key=key.key,
        camelot=key.camelot,
        key_confidence=round(key.confidence, 4),
        loudness_lufs=round(loudness_lufs, 2),
        energy=round(overall_energy(loudness_lufs), 4),
        energy_curve=EnergyCurve(hop_sec=ENERGY_HOP_SEC,
                                 values=[round(float(v), 4) for v in curve]),
        sections=[SongSection(label=s.label, start_sec=s.start_sec, end_sec=s.end_sec,
                              energy=s.energy) for s in form.sections],
        cue_points=[CuePoint(type=kind, time_sec=time_sec) for kind, time_sec in cues],
        vocal_intervals=vocal_intervals,
        spectral_profile=SpectralProfile(**profile),
        analysis_version=ANALYSIS_VERSION,
    )

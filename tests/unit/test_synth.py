"""Tests for shared.synth: invariants of the synthetic songs and their ground truth.

Choices checked here (see the module docstring of shared.synth):
* the first beat is a downbeat at 0.05–0.3 s and the first section starts exactly on it;
* sections are contiguous, every boundary is a downbeat, each is 4, 8 or 16 bars long, and the
  part of the song after the last section (a fading tail) is shorter than five bars;
* `vocal_intervals` are where the vocal stem sounds (breaths outside are > 30 dB quieter).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shared.synth import (
    SECTION_LABELS,
    STEM_NAMES,
    SongSpec,
    SynthSong,
    demo_song_specs,
    demo_songs,
    key_to_pitch_class,
    midi_to_hz,
    synthesize_song,
)

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@pytest.fixture(scope="module")
def demos() -> tuple[SynthSong, SynthSong]:
    return demo_songs()


@pytest.fixture(scope="module")
def short_songs() -> list[SynthSong]:
    """One short song per style (22.05 kHz keeps them cheap)."""
    specs = [
        SongSpec("t_hiphop", 85.0, "D", "minor", 40.0, seed=3, style="hiphop",
                 sample_rate_hz=22050),
        SongSpec("t_house", 128.0, "F#", "major", 40.0, seed=4, style="house",
                 sample_rate_hz=22050),
        SongSpec("t_dnb", 174.0, "G#", "minor", 30.0, seed=5, style="dnb",
                 sample_rate_hz=22050),
        SongSpec("t_pop", 100.0, "E", "major", 45.0, seed=6, style="pop",
                 sample_rate_hz=22050),
        SongSpec("t_rock", 140.0, "B", "minor", 35.0, seed=7, style="rock",
                 sample_rate_hz=22050, with_vocals=False),
    ]
    return [synthesize_song(s) for s in specs]


def _all_songs(demos, short_songs) -> list[SynthSong]:
    return [*demos, *short_songs]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x), dtype=np.float64))) if x.size else 0.0


def _mask(n: int, sr: int, intervals) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    for a, b in intervals:
        m[round(a * sr):round(b * sr)] = True
    return m


# ---- helpers ---------------------------------------------------------------------------------


def test_key_helpers():
    assert [key_to_pitch_class(p) for p in PITCH_CLASSES] == list(range(12))
    assert key_to_pitch_class("Bb") == key_to_pitch_class("A#")
    assert midi_to_hz(69) == pytest.approx(440.0)
    assert midi_to_hz(57) == pytest.approx(220.0)
    assert midi_to_hz(60) == pytest.approx(261.6256, rel=1e-6)
    with pytest.raises(ValueError):
        key_to_pitch_class("H")


# ---- audio invariants --------------------------------------------------------------------------


def test_shapes_dtypes_and_stems_sum_to_mix(demos, short_songs):
    for song in _all_songs(demos, short_songs):
        sr = song.spec.sample_rate_hz
        n = round(song.spec.duration_sec * sr)
        assert song.sample_rate_hz == sr
        assert song.mix.dtype == np.float32
        assert song.mix.shape == (2, n)
        assert tuple(song.stems) == STEM_NAMES
        for name in STEM_NAMES:
            stem = song.stems[name]
            assert stem.dtype == np.float32
            assert stem.shape == (2, n)
            assert np.isfinite(stem).all()
        chunk = 1 << 17
        for a in range(0, n, chunk):  # float64 sum, chunked to keep memory small
            total = sum(song.stems[k][:, a:a + chunk].astype(np.float64) for k in STEM_NAMES)
            assert np.max(np.abs(total - song.mix[:, a:a + chunk])) <= 1e-5


def test_peak_level_and_no_clipping(demos, short_songs):
    for song in _all_songs(demos, short_songs):
        peak = max(float(song.mix.max()), -float(song.mix.min()))
        assert 0.8 < peak < 0.9  # about -1.5 dBFS
        # no run of samples stuck at the peak (no hard clipping)
        at_peak = (song.mix >= peak * 0.9999).sum() + (song.mix <= -peak * 0.9999).sum()
        assert at_peak < 4
        for stem in song.stems.values():
            assert max(float(stem.max()), -float(stem.min())) < 1.0


def test_every_stem_is_audible(demos):
    for song in demos:
        for name in STEM_NAMES:
            assert _rms(song.stems[name]) > 0.01, name


def test_vocals_centred_and_other_stem_has_width(demos):
    song = demos[0]
    assert np.array_equal(song.stems["vocals"][0], song.stems["vocals"][1])
    assert np.array_equal(song.stems["bass"][0], song.stems["bass"][1])
    left, right = song.stems["other"]
    assert _rms(left - right) > 0.05 * _rms(left + right)


def test_deterministic_and_seed_dependent():
    spec = SongSpec("det", 120.0, "G", "major", 24.0, seed=11, style="pop", sample_rate_hz=22050)
    a = synthesize_song(spec)
    b = synthesize_song(spec)
    assert np.array_equal(a.mix, b.mix)
    for name in STEM_NAMES:
        assert np.array_equal(a.stems[name], b.stems[name])
    assert np.array_equal(a.truth.beats_sec, b.truth.beats_sec)
    assert a.truth.sections == b.truth.sections
    assert a.truth.vocal_intervals == b.truth.vocal_intervals

    c = synthesize_song(SongSpec("det", 120.0, "G", "major", 24.0, seed=12, style="pop",
                                 sample_rate_hz=22050))
    assert not np.array_equal(a.mix, c.mix)
    assert not np.allclose(a.stems["vocals"], c.stems["vocals"], atol=1e-3)
    assert c.truth.key == a.truth.key and c.truth.tempo_bpm == a.truth.tempo_bpm


# ---- ground truth: grid ------------------------------------------------------------------------


def test_beat_grid(demos, short_songs):
    for song in _all_songs(demos, short_songs):
        t = song.truth
        period = 60.0 / song.spec.tempo_bpm
        assert t.tempo_bpm == song.spec.tempo_bpm
        assert t.beats_sec.dtype == np.float64 and t.beats_sec.ndim == 1
        assert 0.05 <= t.beats_sec[0] <= 0.3
        np.testing.assert_allclose(np.diff(t.beats_sec), period, atol=1e-9)
        assert t.beats_sec[-1] < song.spec.duration_sec
        assert song.spec.duration_sec - t.beats_sec[-1] <= period + 1e-9
        np.testing.assert_array_equal(t.downbeats_sec, t.beats_sec[::4])
        assert np.all(np.isin(t.downbeats_sec, t.beats_sec))


def test_sections_form(demos, short_songs):
    for song in _all_songs(demos, short_songs):
        t = song.truth
        bar = 240.0 / song.spec.tempo_bpm
        secs = t.sections
        assert len(secs) >= 2
        assert secs[0].start_sec == pytest.approx(t.downbeats_sec[0])
        for a, b in itertools.pairwise(secs):
            assert a.end_sec == pytest.approx(b.start_sec)
        for s in secs:
            assert s.label in SECTION_LABELS
            bars = (s.end_sec - s.start_sec) / bar
            assert round(bars) in (4, 8, 16)
            assert bars == pytest.approx(round(bars), abs=1e-6)
            # boundaries are downbeats
            assert np.min(np.abs(t.downbeats_sec - s.start_sec)) < 1e-6
        assert secs[-1].end_sec <= song.spec.duration_sec
        assert song.spec.duration_sec - secs[-1].end_sec < 5 * bar
        if len(secs) >= 4:
            assert secs[0].label == "intro" and secs[-1].label == "outro"


def test_section_energy_varies(demos):
    for song in demos:
        sr = song.sample_rate_hz
        rms = {}
        for s in song.truth.sections:
            seg = song.mix[:, int(s.start_sec * sr):int(s.end_sec * sr)]
            rms.setdefault(s.label, []).append(_rms(seg))
        loud = max(np.mean(rms.get(k, [0.0])) for k in ("chorus", "drop"))
        quiet = min(np.mean(v) for k, v in rms.items() if k in ("intro", "breakdown"))
        assert loud > 1.5 * quiet  # > 3.5 dB


def test_drums_accent_downbeats(demos):
    """Low-frequency drum energy right after downbeats beats that after other beats."""
    song = demos[0]
    sr = song.sample_rate_hz
    kick = song.stems["drums"][0].astype(np.float64)
    win = int(0.08 * sr)

    def energy(times):
        return np.mean([_rms(kick[int(x * sr):int(x * sr) + win]) for x in times])

    beats = song.truth.beats_sec
    others = np.setdiff1d(beats, song.truth.downbeats_sec)
    assert energy(song.truth.downbeats_sec) > 1.05 * energy(others)


# ---- ground truth: vocals ----------------------------------------------------------------------


def test_vocal_intervals(demos, short_songs):
    for song in _all_songs(demos, short_songs):
        iv = song.truth.vocal_intervals
        vox = song.stems["vocals"][0]
        sr = song.sample_rate_hz
        if not song.spec.with_vocals:
            assert iv == ()
            assert not np.any(vox)
            continue
        assert len(iv) >= 2
        for (a0, a1), (b0, _) in itertools.pairwise(iv):
            assert a0 < a1 < b0
            assert b0 - a1 >= 0.5
        sections = song.truth.sections
        for a, b in iv:
            assert 0.0 <= a < b <= song.spec.duration_sec
            mid = 0.5 * (a + b)
            label = next(s.label for s in sections if s.start_sec <= mid < s.end_sec)
            assert label not in ("intro", "outro")
        inside = _mask(vox.size, sr, iv)
        assert _rms(vox[~inside]) * 30 < _rms(vox[inside])  # > 30 dB apart
        # it really sounds throughout each interval (no long silent stretch inside)
        for a, b in iv:
            seg = vox[int(a * sr):int(b * sr)]
            frames = seg[: seg.size // 1024 * 1024].reshape(-1, 1024)
            frame_rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
            assert np.mean(frame_rms > 0.05 * frame_rms.max()) > 0.9


def test_vocal_pitch_in_key(demos):
    """The lead's pitch (autocorrelation per 40 ms frame) mostly falls on the key's scale."""
    for song in demos:
        sr = song.sample_rate_hz
        vox = song.stems["vocals"][0].astype(np.float64)
        tonic = key_to_pitch_class(song.spec.key_tonic)
        steps = (0, 2, 4, 5, 7, 9, 11) if song.spec.key_mode == "major" else \
            (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor plus the leading tone over V
        scale = {(tonic + s) % 12 for s in steps}
        hits = total = 0
        frame = int(0.04 * sr)
        for a, b in song.truth.vocal_intervals[:6]:
            for start in np.arange(int(a * sr) + frame, int(b * sr) - 2 * frame, 4 * frame):
                x = vox[start:start + frame]
                ac = np.correlate(x, x, "full")[frame - 1:]
                lo, hi = int(sr / 900), int(sr / 120)
                lag = lo + int(np.argmax(ac[lo:hi]))
                midi = 69 + 12 * np.log2(sr / lag / 440.0)
                total += 1
                hits += round(midi) % 12 in scale
        assert total > 20
        assert hits / total > 0.8


# ---- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["major", "minor"])
@pytest.mark.parametrize("tonic", PITCH_CLASSES)
def test_all_keys_tonic_chord_on_section_downbeats(tonic, mode):
    """Pads play the tonic triad in each section's first bar; the bass plays the tonic root."""
    spec = SongSpec(f"k_{tonic}_{mode}", 120.0, tonic, mode, 17.0, seed=1, style="pop",
                    sample_rate_hz=22050, with_vocals=False)
    song = synthesize_song(spec)
    assert song.truth.key == f"{tonic} {mode}"
    sr = song.sample_rate_hz
    pc = key_to_pitch_class(tonic)
    triad = {pc, (pc + (4 if mode == "major" else 3)) % 12, (pc + 7) % 12}
    for sec in song.truth.sections:
        a = int((sec.start_sec + 0.2) * sr)
        b = int((sec.start_sec + 1.9) * sr)
        for stem, fmin, fmax, top in (("other", 100.0, 1000.0, 3), ("bass", 40.0, 130.0, 1)):
            x = song.stems[stem][0, a:b].astype(np.float64)
            spec_mag = np.abs(np.fft.rfft(x * np.hanning(x.size)))
            freqs = np.fft.rfftfreq(x.size, 1.0 / sr)
            sel = (freqs >= fmin) & (freqs <= fmax)
            pcs = np.round(12 * np.log2(freqs[sel] / 440.0) + 69).astype(int) % 12
            chroma = np.bincount(pcs, weights=spec_mag[sel] ** 2, minlength=12)
            strongest = set(np.argsort(chroma)[-top:].tolist())
            expected = triad if top == 3 else {pc}
            if stem == "other" and chroma.sum() == 0:
                continue
            assert strongest == expected, (stem, sec.label, chroma.round(1))


# ---- demos and Essentia ----------------------------------------------------------------------


def test_demo_songs_differ_and_fit(demos):
    a, b = demo_song_specs()
    assert (a.key_tonic, a.key_mode) != (b.key_tonic, b.key_mode)
    assert a.tempo_bpm != b.tempo_bpm
    assert abs(a.tempo_bpm - b.tempo_bpm) / b.tempo_bpm < 0.08  # close enough to mash
    for spec, song in zip((a, b), demos, strict=True):
        assert 60.0 <= spec.duration_sec <= 90.0
        assert song.spec == spec
    assert demos[0].truth.key != demos[1].truth.key


def _mono(song: SynthSong) -> np.ndarray:
    assert song.sample_rate_hz == 44100
    return np.ascontiguousarray(song.mix.mean(axis=0), dtype=np.float32)


def _essentia():
    es = pytest.importorskip("essentia.standard")
    import essentia

    essentia.log.infoActive = False
    essentia.log.warningActive = False
    return es


def test_essentia_tempo_matches_truth(demos):
    """Multifeature (slow, accurate) on 32 s of demo A from its first drop; degara (fast) on
    all of demo B. (Multifeature on both whole songs agrees too but takes ~5 s.)
    """
    es = _essentia()
    first_drop = next(s.start_sec for s in demos[0].truth.sections if s.label == "drop")
    for song, method, span in zip(demos, ("multifeature", "degara"),
                                  ((first_drop, first_drop + 32.0), None), strict=True):
        mono = _mono(song)
        if span is not None:
            mono = mono[int(span[0] * song.sample_rate_hz):int(span[1] * song.sample_rate_hz)]
        bpm = es.RhythmExtractor2013(method=method)(mono)[0]
        assert abs(bpm - song.truth.tempo_bpm) / song.truth.tempo_bpm < 0.02, (method, bpm)


def test_essentia_key_matches_truth(demos):
    es = _essentia()
    for song in demos:
        key, scale, strength = es.KeyExtractor()(_mono(song))
        tonic = key_to_pitch_class(key)  # Essentia spells some keys with flats
        assert f"{PITCH_CLASSES[tonic]} {scale}" == song.truth.key, (key, scale, strength)

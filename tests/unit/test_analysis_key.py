"""Key and Camelot code for all 24 keys."""

from __future__ import annotations

import numpy as np
import pytest

from services.analysis.key import FALLBACK_KEY, estimate_key
from shared.audio_io import to_mono
from shared.camelot import key_to_camelot
from shared.synth import SongSpec, synthesize_song

TONICS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
KEYS = [(tonic, mode) for tonic in TONICS for mode in ("major", "minor")]


@pytest.mark.parametrize(("tonic", "mode"), KEYS)
def test_key_and_camelot_for_every_key(tonic: str, mode: str) -> None:
    # Four bars at 128 BPM: the shortest song the generator makes, enough for the key.
    index = TONICS.index(tonic)
    spec = SongSpec(
        f"key-{tonic}-{mode}",
        128.0,
        tonic,
        mode,
        8.0,
        seed=index,
        style=("pop", "house", "rock")[index % 3],
    )
    synth = synthesize_song(spec)
    estimate = estimate_key(to_mono(synth.mix), sample_rate_hz=synth.sample_rate_hz)
    assert estimate.key == synth.truth.key
    assert estimate.camelot == key_to_camelot(synth.truth.key)
    assert 0.0 < estimate.confidence <= 1.0


def test_silence_gets_the_fallback_key_with_zero_confidence() -> None:
    estimate = estimate_key(np.zeros(44100, dtype=np.float32), sample_rate_hz=44100)
    assert (estimate.key, estimate.confidence) == (FALLBACK_KEY, 0.0)
    assert estimate.camelot == key_to_camelot(FALLBACK_KEY)


def _pcp(levels: dict[str, float]) -> np.ndarray:
    return np.array([levels.get(name, 0.0) for name in TONICS])


def test_tonic_neighbour_takes_the_dominant_tonic_when_the_telling_note_is_inconclusive() -> None:
    from services.analysis.key import tonic_neighbour

    # Lithium's profile: G minor and C minor share six notes; A and G# (the notes that
    # tell them apart) are about equal, and G sounds far more than C.
    lithium = _pcp(
        {"G": 1.0, "C": 0.71, "D#": 0.66, "D": 0.56, "F": 0.51, "A#": 0.48, "A": 0.43, "G#": 0.37}
    )
    assert tonic_neighbour("C minor", lithium) == "G minor"
    assert tonic_neighbour("G minor", lithium) == "G minor"


def test_tonic_neighbour_keeps_the_key_when_the_telling_note_decides() -> None:
    from services.analysis.key import tonic_neighbour

    # C major with a loud dominant: F is there and F# is not, so it is not G major.
    c_major = _pcp({"C": 0.8, "D": 0.4, "E": 0.6, "F": 0.5, "G": 1.0, "A": 0.4, "B": 0.4})
    assert tonic_neighbour("C major", c_major) == "C major"
    # Inconclusive telling note but no stronger neighbouring tonic: kept as well.
    flat = _pcp({"C": 1.0, "D": 0.4, "E": 0.6, "F": 0.5, "F#": 0.45, "G": 0.9, "A": 0.4})
    assert tonic_neighbour("C major", flat) == "C major"
    # A D major song whose C sharp and C are both nearly absent (seed 5000's trap): the
    # telling note is not inconclusive but missing, and the profile's answer stands.
    d_major = _pcp(
        {"C": 0.17, "C#": 0.17, "D": 0.72, "E": 0.21, "F#": 0.24, "G": 1.0, "A": 0.62, "B": 0.62}
    )
    assert tonic_neighbour("D major", d_major) == "D major"


def test_pitch_class_profile_of_a_chord_peaks_on_its_notes() -> None:
    from services.analysis.key import pitch_class_profile
    from shared.synth import midi_to_hz

    sr = 44100
    t = np.arange(2 * sr) / sr
    chord = sum(np.sin(2 * np.pi * midi_to_hz(m) * t) for m in (57, 60, 64))  # A3 C4 E4
    pcp = pitch_class_profile(chord.astype(np.float32), sample_rate_hz=sr)
    assert pcp.shape == (12,) and pcp.max() == pytest.approx(1.0)
    top = {TONICS[i] for i in np.argsort(pcp)[-3:]}
    assert top == {"A", "C", "E"}
    assert not pitch_class_profile(np.zeros(sr, dtype=np.float32), sample_rate_hz=sr).any()


def _bass_frames(roots: list[int], *, frames_per_bar: int) -> np.ndarray:
    """Bass pitch-class frames for one root per bar (a little of the fifth as well)."""
    frames = np.zeros((len(roots) * frames_per_bar, 12))
    for bar, root in enumerate(roots):
        rows = slice(bar * frames_per_bar, (bar + 1) * frames_per_bar)
        frames[rows, root] = 1.0
        frames[rows, (root + 7) % 12] = 0.3
    return frames


def test_phrase_tonic_is_the_bass_note_that_opens_the_phrases() -> None:
    from services.analysis.key import phrase_tonic

    # A minor "leaning to C": Am F C G, the loop opening on A every four bars.
    loop = [9, 5, 0, 7]
    frames = _bass_frames(loop * 6, frames_per_bar=10)
    hop_sec, bar_sec = 0.2, 2.0
    starts = np.arange(0.0, 48.0, 4 * bar_sec)
    assert phrase_tonic(frames, hop_sec=hop_sec, phrase_starts_sec=starts, bar_sec=bar_sec) == 9
    # Phrases opening on two different notes equally often: no tonic.
    mixed = _bass_frames([9, 5, 0, 7, 5, 5, 0, 7] * 3, frames_per_bar=10)
    assert phrase_tonic(mixed, hop_sec=hop_sec, phrase_starts_sec=starts, bar_sec=bar_sec) is None
    # Too few phrases, or no bass: no tonic.
    assert (
        phrase_tonic(frames, hop_sec=hop_sec, phrase_starts_sec=starts[:2], bar_sec=bar_sec) is None
    )
    assert (
        phrase_tonic(
            np.zeros_like(frames), hop_sec=hop_sec, phrase_starts_sec=starts, bar_sec=bar_sec
        )
        is None
    )


def test_with_phrase_tonic_takes_the_tonic_and_its_third() -> None:
    from services.analysis.key import with_phrase_tonic

    a_minor = _pcp({"A": 1.0, "C": 0.9, "E": 0.8, "G": 0.6, "F": 0.5, "D": 0.4, "B": 0.3})
    assert with_phrase_tonic("C major", a_minor, 9) == "A minor"
    # The relative's tonic gives the relative key whatever the thirds measure.
    assert with_phrase_tonic("A minor", a_minor, 0) == "C major"
    # G dorian (the notes of F major, E natural): the third B flat makes it G minor.
    g_dorian = _pcp({"G": 1.0, "A#": 0.6, "D": 0.7, "C": 0.8, "E": 0.5, "F": 0.5, "A": 0.4})
    assert with_phrase_tonic("C major", g_dorian, 7) == "G minor"
    # Same tonic: the profile's mode stands; no phrase tonic: the key stands.
    assert with_phrase_tonic("A major", a_minor, 9) == "A major"
    assert with_phrase_tonic("C major", a_minor, None) == "C major"


def _chord_bars(chords: list[tuple[int, ...]], *, bar_sec: float, sr: int) -> np.ndarray:
    """One chord (MIDI notes) per bar, each note a bright tone (six partials at 1/k, as a
    sawtooth's): the fifth partial of the root lands on its major third."""
    from shared.synth import midi_to_hz

    t = np.arange(int(bar_sec * sr)) / sr
    bars = [
        sum(np.sin(2 * np.pi * k * midi_to_hz(m) * t) / k for m in chord for k in range(1, 7))
        for chord in chords
    ]
    return (0.1 * np.concatenate(bars)).astype(np.float32)


@pytest.mark.parametrize(
    ("first_bar", "expected"),
    [
        ((53, 56, 60), "F minor"),  # F3 Ab3 C4: the tonic chord is minor
        ((53, 57, 60), "F major"),  # F3 A3 C4: major
    ],
)
def test_tonic_chord_mode_takes_the_third_of_the_phrase_opening_chord(
    first_bar: tuple[int, ...], expected: str
) -> None:
    from services.analysis.key import pitch_class_frames, tonic_chord_mode

    # F dorian, i IV i IV: the IV (B flat major) brings D, and the profile may answer
    # "F major"; the first bar of each 4-bar phrase holds the tonic chord.
    sr, bar_sec = 44100, 1.0
    b_flat = (58, 62, 65)
    audio = _chord_bars([first_bar, b_flat, first_bar, b_flat] * 3, bar_sec=bar_sec, sr=sr)
    full, _, hop_sec = pitch_class_frames(audio, sample_rate_hz=sr)
    starts = np.arange(0.0, 12.0, 4 * bar_sec)
    for key in ("F major", "F minor"):
        assert (
            tonic_chord_mode(key, full, hop_sec=hop_sec, phrase_starts_sec=starts, bar_sec=bar_sec)
            == expected
        )


def test_tonic_chord_mode_keeps_the_mode_when_both_thirds_sound() -> None:
    from services.analysis.key import pitch_class_frames, tonic_chord_mode

    # Blues: F7 with its sharp ninth (A and A flat): no evidence, the key's mode stands.
    sr, bar_sec = 44100, 1.0
    audio = _chord_bars([(53, 57, 60, 63, 68)] * 8, bar_sec=bar_sec, sr=sr)
    full, _, hop_sec = pitch_class_frames(audio, sample_rate_hz=sr)
    starts = np.arange(0.0, 8.0, 4 * bar_sec)
    for key in ("F major", "F minor"):
        assert (
            tonic_chord_mode(key, full, hop_sec=hop_sec, phrase_starts_sec=starts, bar_sec=bar_sec)
            == key
        )
    assert (
        tonic_chord_mode(
            "F major", full, hop_sec=hop_sec, phrase_starts_sec=np.array([20.0]), bar_sec=bar_sec
        )
        == "F major"
    )


def test_relative_by_openings_takes_the_relative_that_opens_most_phrases() -> None:
    from services.analysis.key import relative_by_openings

    # F major I vi IV vi read "D minor"; a kick drum in the intro makes the first two
    # phrase openings G sharp, so no note opens 75 % of them, but F opens the rest.
    assert relative_by_openings("D minor", [8, 8, 5, 5, 5, 5]) == "F major"
    # The key's tonic opening as many phrases as the relative's: the key stands.
    assert relative_by_openings("D minor", [2, 2, 2, 5, 5, 5]) == "D minor"
    # The relative's tonic opening fewer than half, or too few phrases: the key stands.
    assert relative_by_openings("D minor", [8, 8, 8, 0, 5, 5]) == "D minor"
    assert relative_by_openings("D minor", [5, 5]) == "D minor"


def _two_loop_song() -> np.ndarray:
    """F minor bass: an intro and verse on i III VII VI, a chorus on i VI III VII (both
    loops open on F), one root per bar, 10 frames a bar."""
    verse, chorus = [5, 8, 3, 1], [5, 1, 8, 3]
    return _bass_frames(verse * 3 + chorus * 3 + verse, frames_per_bar=10)


def test_loop_opening_finds_the_bar_phase_where_the_loops_open_alike() -> None:
    from services.analysis.key import loop_opening

    frames, hop_sec, bar_sec = _two_loop_song(), 0.2, 2.0
    # A phrase grid one bar late (on III or VI): the phase one bar earlier opens every
    # phrase on F, the others split between the two loops' chords.
    late = np.arange(bar_sec, 28 * bar_sec, 4 * bar_sec)
    assert loop_opening(frames, hop_sec=hop_sec, phrase_starts_sec=late, bar_sec=bar_sec) == 5
    # One loop all through: every phase opens alike, nothing tells the phrase start.
    one_loop = _bass_frames([5, 8, 3, 1] * 7, frames_per_bar=10)
    assert (
        loop_opening(one_loop, hop_sec=hop_sec, phrase_starts_sec=late, bar_sec=bar_sec) is None
    )


def test_phrase_checks_on_a_guessed_grid_take_only_the_loop_openings_relative() -> None:
    from services.analysis.key import phrase_checks

    frames, hop_sec, bar_sec = _two_loop_song(), 0.2, 2.0
    late = np.arange(bar_sec, 28 * bar_sec, 4 * bar_sec)
    grid = {"hop_sec": hop_sec, "phrase_starts_sec": late, "bar_sec": bar_sec}
    assert phrase_checks("G# major", frames, frames, phrases_guessed=True, **grid) == "F minor"
    # The key's own tonic or a note that is no relative's: the key stands.
    assert phrase_checks("F minor", frames, frames, phrases_guessed=True, **grid) == "F minor"
    assert phrase_checks("C# major", frames, frames, phrases_guessed=True, **grid) == "C# major"

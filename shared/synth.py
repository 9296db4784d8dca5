"""Deterministic synthetic songs with known ground truth.

`synthesize_song` renders a short 4/4 song (drums, bass, chord pads/stabs and a sung-like
lead) from a `SongSpec` and returns the stereo mix, the four exact stems (which sum to the mix)
and the ground truth: tempo, key, every beat and downbeat, the section form and where the
lead vocal sounds. It is pure numpy/scipy and does no I/O; the same spec always gives the
same samples, a different seed gives different melodies, patterns and sounds.

Conventions
-----------
* Times are in seconds, frequencies in hertz, levels are linear amplitudes (1.0 = 0 dBFS).
* Tuning is A4 = 440 Hz; keys are spelled with sharps ("F# major", "A minor").
* The beat grid starts at a small seeded offset (0.05–0.3 s); the first beat is a downbeat.
* Sections are contiguous, start on the first downbeat, have boundaries on downbeats and are
  4, 8 or 16 bars long. The last section ends on the last whole 4-bar phrase that fits; the
  short remainder of the song (less than four bars plus a part bar) continues the last section
  and fades out. `beats_sec` covers the whole song, that tail included.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy import signal
from scipy.ndimage import uniform_filter1d

from shared.camelot import SCALE_STEPS

__all__ = [
    "GROOVES",
    "HARMONIES",
    "SECTION_LABELS",
    "STEM_NAMES",
    "STYLES",
    "Section",
    "SongSpec",
    "SongTruth",
    "SynthSong",
    "Variation",
    "demo_song_specs",
    "demo_songs",
    "key_to_pitch_class",
    "midi_to_hz",
    "synthesize_song",
]

STEM_NAMES = ("vocals", "drums", "bass", "other")
STYLES = ("pop", "house", "hiphop", "dnb", "rock")
SECTION_LABELS = ("intro", "verse", "chorus", "build", "drop", "breakdown", "bridge", "outro")

GROOVES = ("style", "halftime", "breakbeat", "syncopated", "four")
HARMONIES = ("tonal", "modal", "ambiguous")

_PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_ALIASES = {"DB": "C#", "EB": "D#", "GB": "F#", "AB": "G#", "BB": "A#", "CB": "B",
                 "FB": "E", "E#": "F", "B#": "C"}

_TARGET_PEAK = 0.84  # about -1.5 dBFS
_MIN_VOCAL_GAP_SEC = 0.6  # silence between two sung phrases (breath), seconds


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variation:
    """Departures from the generator's house style, for stress-testing analysers. The
    defaults change nothing: a spec with `Variation()` renders the very same samples.

    swing: 0 (straight) .. 1 (triplet shuffle): the off-beat eighth moves from half to two
    thirds of the beat; every part (drums, bass, stabs, vocal notes) follows it.
    humanize_ms: standard deviation of random timing errors of each drum and bass hit
    (the truth beats stay on the grid the players aim at).
    tempo_drift: peak relative tempo deviation (0.03 = ±3 %) of a slow sinusoidal drift
    over the song; the truth beats follow it and the truth tempo is the mean tempo.
    groove: "style" (the style's own drum pattern) | "halftime" (snare on beat 3) |
    "breakbeat" (syncopated kicks, ghost snares) | "syncopated" (funk kicks off the beat) |
    "four" (four on the floor).
    drumless_intro: the intro has only pads (no drums, no bass).
    vocal_pan: -1 (left) .. 1 (right), constant-power pan of the lead.
    vocal_double: a second take of the lead (its own vibrato, drift and 10-30 ms lag),
    the two takes panned hard left and right, as stacked pop vocals are.
    tuning_hz: frequency of A4 for every pitched part (e.g. 435..445).
    harmony: "tonal" (the generator's loops) | "modal" (dorian for minor, mixolydian for
    major: no leading tone) | "ambiguous" (loops that lean to the relative key, the tonic
    still starting every loop and ending phrases).
    stem_gain_db: per-stem level changes, e.g. (("vocals", -6.0), ("bass", 6.0)).
    pad_rolloff: spectral slope of the pad wavetable (1.4: the default; 0.8 brighter,
    2.5 darker).
    """

    swing: float = 0.0
    humanize_ms: float = 0.0
    tempo_drift: float = 0.0
    groove: str = "style"
    drumless_intro: bool = False
    vocal_pan: float = 0.0
    vocal_double: bool = False
    tuning_hz: float = 440.0
    harmony: str = "tonal"
    stem_gain_db: tuple[tuple[str, float], ...] = ()
    pad_rolloff: float = 1.4

    @property
    def moves_time(self) -> bool:
        return self.swing != 0.0 or self.tempo_drift != 0.0


@dataclass(frozen=True)
class SongSpec:
    """What to synthesise.

    tempo_bpm: beats per minute (quarter notes, 4/4). key_tonic: sharps spelling ("C#"),
    key_mode: "major" or "minor". duration_sec: length of the audio in seconds.
    seed: any int; changes melody, patterns, sounds and the grid offset.
    sample_rate_hz: output rate in Hz. style: "pop" | "house" | "hiphop" | "dnb" | "rock".
    with_vocals: False gives a silent vocal stem and no vocal intervals.
    variation: departures from the house style (see `Variation`); not part of the seed.
    """

    name: str
    tempo_bpm: float
    key_tonic: str
    key_mode: str
    duration_sec: float
    seed: int = 0
    sample_rate_hz: int = 44100
    style: str = "pop"
    with_vocals: bool = True
    variation: Variation = Variation()


@dataclass(frozen=True)
class Section:
    """A section of the form: label and [start_sec, end_sec) in seconds."""

    label: str
    start_sec: float
    end_sec: float


@dataclass(frozen=True)
class SongTruth:
    """Ground truth of a synthesised song (all times in seconds from the first sample)."""

    tempo_bpm: float
    key: str
    beats_sec: np.ndarray
    downbeats_sec: np.ndarray
    sections: tuple[Section, ...]
    vocal_intervals: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class SynthSong:
    """Rendered song: float32 (2, n_samples) mix and stems at `sample_rate_hz` Hz."""

    spec: SongSpec
    mix: np.ndarray
    stems: dict[str, np.ndarray]
    sample_rate_hz: int
    truth: SongTruth


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def key_to_pitch_class(tonic: str) -> int:
    """Pitch class 0..11 (C = 0) of a tonic name such as "F#", "Bb" or "a"."""
    name = tonic.strip()
    if not name:
        raise ValueError("empty tonic")
    name = name[0].upper() + name[1:].replace("♯", "#").replace("♭", "b")
    name = name[0] + name[1:].upper()
    name = _FLAT_ALIASES.get(name, name)
    if name not in _PITCH_CLASSES:
        raise ValueError(f"not a tonic: {tonic!r}")
    return _PITCH_CLASSES.index(name)


def midi_to_hz(midi: float) -> float:
    """Frequency in Hz of a (possibly fractional) MIDI note number, A4 = 69 = 440 Hz."""
    return float(440.0 * 2.0 ** ((midi - 69.0) / 12.0))


def _midi_to_hz_array(midi: np.ndarray) -> np.ndarray:
    return 440.0 * np.exp2((midi - 69.0) / 12.0)


def _song_seed(spec: SongSpec) -> list[int]:
    """Entropy for the song's random generator, derived from every musical field of the spec."""
    text = f"{spec.name}|{spec.tempo_bpm!r}|{spec.key_tonic}|{spec.key_mode}|{spec.style}"
    return [int(spec.seed) & 0xFFFFFFFF, zlib.crc32(text.encode()), int(spec.sample_rate_hz)]


def _add(buf: np.ndarray, start: int, sig: np.ndarray, gain: float = 1.0) -> None:
    """Add `sig` (1-D or (2, n)) into `buf` (same rank) at sample `start`, clipped to bounds."""
    n_buf = buf.shape[-1]
    n_sig = sig.shape[-1]
    if start >= n_buf or start + n_sig <= 0 or gain == 0.0:
        return
    a = max(start, 0)
    b = min(start + n_sig, n_buf)
    buf[..., a:b] += gain * sig[..., a - start:b - start]


def _wavetable(amplitudes: np.ndarray, size: int = 4096) -> np.ndarray:
    """One cycle (`size` + 1 samples, wrapped) of a sum of sine harmonics with given amplitudes."""
    t = np.arange(size + 1) / size
    k = np.arange(1, len(amplitudes) + 1)[:, None]
    table = (np.asarray(amplitudes)[:, None] * np.sin(2 * np.pi * k * t)).sum(axis=0)
    return table / np.max(np.abs(table))


def _lookup(table: np.ndarray, phase_cycles: np.ndarray) -> np.ndarray:
    """Linear-interpolated wavetable read at non-negative phases given in cycles.

    `table` holds one cycle of a power-of-two length plus the wrapped first sample.
    """
    size = len(table) - 1
    x = phase_cycles * size
    i = x.astype(np.int64)
    frac = x - i
    i &= size - 1
    lo = table[i]
    return lo + frac * (table[i + 1] - lo)


def _env_adsr(n: int, sr: int, attack: float, decay: float, sustain: float,
              release_start: int, release: float) -> np.ndarray:
    """ADSR envelope of `n` samples; the release begins at sample `release_start`."""
    t = np.arange(n) / sr
    env = np.where(t < attack, t / max(attack, 1e-6),
                   sustain + (1 - sustain) * np.exp(-(t - attack) / max(decay, 1e-6)))
    if release_start < n:
        tr = (np.arange(n - release_start)) / sr
        level = env[release_start] if release_start > 0 else 0.0
        env[release_start:] = level * np.exp(-tr / max(release, 1e-6) * 4.0)
    return env


def _butter(kind: str, freq: float | tuple[float, float], sr: int, order: int = 2) -> np.ndarray:
    return signal.butter(order, freq, btype=kind, fs=sr, output="sos")


# --------------------------------------------------------------------------------------------
# Harmony
# --------------------------------------------------------------------------------------------

_QUALITY = {"maj": (0, 4, 7), "min": (0, 3, 7)}

# (root offset from tonic in semitones, quality); one chord per bar, four-bar loops that all
# start on the tonic and close on it or on its dominant so the key is unambiguous. Minor loops
# avoid i-VI-III-VII: it is (rightly) heard as the relative major by key detectors.
_PROGRESSIONS = {
    "major": (
        ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")),   # I V vi IV
        ((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")),   # I IV V I
        ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj")),   # I vi IV V
    ),
    "minor": (
        ((0, "min"), (10, "maj"), (8, "maj"), (7, "maj")),  # i VII VI V (Andalusian)
        ((0, "min"), (5, "min"), (8, "maj"), (7, "maj")),   # i iv VI V
        ((0, "min"), (5, "min"), (7, "maj"), (0, "min")),   # i iv V i
        ((0, "min"), (8, "maj"), (10, "maj"), (0, "min")),  # i VI VII i
        ((0, "min"), (8, "maj"), (5, "min"), (7, "maj")),   # i VI iv V
    ),
}


# Variation.harmony "modal": dorian minor (major IV) and mixolydian major (flat VII), and
# "ambiguous": loops that lean towards the relative key; with the scales their melodies use.
_MODAL_PROGRESSIONS = {
    "major": (
        ((0, "maj"), (10, "maj"), (5, "maj"), (0, "maj")),  # I bVII IV I
        ((0, "maj"), (7, "min"), (5, "maj"), (0, "maj")),   # I v IV I
    ),
    "minor": (
        ((0, "min"), (5, "maj"), (0, "min"), (5, "maj")),   # i IV i IV
        ((0, "min"), (5, "maj"), (10, "maj"), (0, "min")),  # i IV VII i
    ),
}
_AMBIGUOUS_PROGRESSIONS = {
    "major": (
        ((0, "maj"), (9, "min"), (5, "maj"), (9, "min")),   # I vi IV vi
        ((0, "maj"), (4, "min"), (9, "min"), (5, "maj")),   # I iii vi IV
    ),
    "minor": (
        ((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")),  # i VI III VII
        ((0, "min"), (3, "maj"), (10, "maj"), (8, "maj")),  # i III VII VI
    ),
}
_MODAL_SCALES = {"major": (0, 2, 4, 5, 7, 9, 10), "minor": (0, 2, 3, 5, 7, 9, 10)}


@dataclass(frozen=True)
class _Chord:
    root_pc: int  # absolute pitch class of the chord root
    quality: str

    @property
    def pcs(self) -> tuple[int, ...]:
        return tuple((self.root_pc + i) % 12 for i in _QUALITY[self.quality])


# --------------------------------------------------------------------------------------------
# Form
# --------------------------------------------------------------------------------------------

# (label, preferred 4-bar blocks, minimum preferred blocks, drop rank: higher drops first, 0 never)
_FORMS = {
    "pop": (
        ("intro", 2, 1, 0), ("verse", 4, 2, 0), ("build", 1, 1, 6), ("chorus", 4, 2, 0),
        ("verse", 4, 2, 5), ("build", 1, 1, 7), ("chorus", 4, 2, 0), ("bridge", 2, 2, 8),
        ("chorus", 4, 2, 9), ("outro", 2, 1, 0),
    ),
    "rock": (
        ("intro", 2, 1, 0), ("verse", 4, 2, 0), ("chorus", 4, 2, 0), ("verse", 4, 2, 6),
        ("chorus", 4, 2, 0), ("bridge", 2, 2, 7), ("chorus", 4, 2, 8), ("outro", 2, 1, 0),
    ),
    "hiphop": (
        ("intro", 2, 1, 0), ("verse", 4, 2, 0), ("chorus", 2, 2, 0), ("verse", 4, 2, 6),
        ("chorus", 2, 2, 0), ("bridge", 2, 1, 7), ("chorus", 2, 2, 8), ("outro", 2, 1, 0),
    ),
    "house": (
        ("intro", 4, 1, 0), ("build", 2, 1, 5), ("drop", 4, 2, 0), ("breakdown", 4, 1, 0),
        ("build", 2, 1, 0), ("drop", 4, 2, 0), ("outro", 4, 1, 0),
    ),
    "dnb": (
        ("intro", 4, 1, 0), ("build", 2, 1, 5), ("drop", 4, 2, 0), ("breakdown", 4, 1, 0),
        ("build", 2, 1, 0), ("drop", 4, 2, 0), ("outro", 4, 1, 0),
    ),
}
_MAX_BLOCKS = {"build": 2}  # builds are at most 8 bars
_SHRINK_FIRST = ("intro", "outro", "breakdown", "build", "bridge", "verse", "chorus", "drop")
_GROW_FIRST = ("chorus", "drop", "verse", "breakdown", "bridge", "intro", "outro", "build")


def _plan_form(style: str, n_blocks: int) -> list[tuple[str, int]]:
    """Fit the style's form to `n_blocks` four-bar blocks; returns (label, blocks) pairs.

    Every section is 1, 2 or 4 blocks (4, 8 or 16 bars) and the total is exactly `n_blocks`.
    """
    hook = "drop" if style in ("house", "dnb") else "chorus"
    if n_blocks <= 0:
        return []
    if n_blocks == 1:
        return [(hook, 1)]
    if n_blocks == 2:
        return [("build" if hook == "drop" else "verse", 1), (hook, 1)]
    entries = [[label, pref, pmin, rank] for label, pref, pmin, rank in _FORMS[style]]

    def total() -> int:
        return sum(e[1] for e in entries)

    def dedupe() -> None:
        # Dropping a section can leave two equal neighbours (chorus, chorus): drop the later.
        i = 1
        while i < len(entries):
            if entries[i][0] == entries[i - 1][0]:
                entries.pop(i)
            else:
                i += 1

    def shrink(floor_of) -> bool:
        # Halve the biggest shrinkable section (ties: by _SHRINK_FIRST, then the later one).
        cands = [(e[1], -_SHRINK_FIRST.index(e[0]), i) for i, e in enumerate(entries)
                 if e[1] // 2 >= floor_of(e)]
        if not cands:
            return False
        i = max(cands)[2]
        entries[i][1] //= 2
        return True

    while total() > n_blocks and shrink(lambda e: e[2]):
        pass
    while total() > n_blocks:
        droppable = [(e[3], i) for i, e in enumerate(entries) if e[3] > 0]
        if not droppable:
            break
        entries.pop(max(droppable)[1])
        dedupe()
    while total() > n_blocks and shrink(lambda e: 1):
        pass
    while total() > n_blocks:  # very short songs: keep the ends, drop from the middle
        entries.pop(len(entries) // 2)
        dedupe()
    while total() < n_blocks:
        room = n_blocks - total()
        cands = [(_GROW_FIRST.index(e[0]), i) for i, e in enumerate(entries)
                 if e[1] < _MAX_BLOCKS.get(e[0], 4) and e[1] <= room]
        if cands:
            entries[min(cands)[1]][1] *= 2
            continue
        # Everything is at 16 bars: add another section before the outro.
        size = 4 if room >= 4 else (2 if room >= 2 else 1)
        body = entries[-1:] if entries[-1][0] == "outro" else []
        prev = entries[-2][0] if body else entries[-1][0]
        label = "breakdown" if prev == hook else hook
        entries.insert(len(entries) - len(body), [label, size, size, 0])
    return [(e[0], e[1]) for e in entries]


# --------------------------------------------------------------------------------------------
# Section energy
# --------------------------------------------------------------------------------------------

# Per section label: gains for kick, snare, hats, open hat, bass, pad, stabs, vocal level.
_ENERGY = {
    "intro":     dict(kick=0.75, snare=0.0, hat=0.55, open=0.0, bass=0.0, pad=0.65, stab=0.0,
                      vocal=0.0),
    "verse":     dict(kick=0.9, snare=0.8, hat=0.7, open=0.0, bass=0.85, pad=0.6, stab=0.0,
                      vocal=0.85),
    "chorus":    dict(kick=1.0, snare=1.0, hat=0.85, open=0.7, bass=1.0, pad=0.85, stab=0.6,
                      vocal=1.0),
    "build":     dict(kick=0.85, snare=0.0, hat=0.7, open=0.0, bass=0.6, pad=0.75, stab=0.0,
                      vocal=0.0),
    "drop":      dict(kick=1.0, snare=1.0, hat=0.85, open=0.75, bass=1.0, pad=0.7, stab=0.8,
                      vocal=1.0),
    "breakdown": dict(kick=0.0, snare=0.0, hat=0.25, open=0.0, bass=0.0, pad=0.9, stab=0.0,
                      vocal=0.8),
    "bridge":    dict(kick=0.6, snare=0.55, hat=0.5, open=0.0, bass=0.7, pad=0.8, stab=0.0,
                      vocal=0.85),
    "outro":     dict(kick=0.8, snare=0.4, hat=0.6, open=0.0, bass=0.5, pad=0.6, stab=0.0,
                      vocal=0.0),
}

_STEM_GAIN = {"vocals": 0.75, "drums": 0.85, "bass": 0.4, "other": 0.8}


# --------------------------------------------------------------------------------------------
# Drums
# --------------------------------------------------------------------------------------------


def _drum_kit(rng: np.random.Generator, sr: int) -> dict[str, np.ndarray]:
    """One-shots (mono unless noted) for kick, snare, clap, hats, crash (stereo) and tom."""
    kit: dict[str, np.ndarray] = {}

    # Kick: sine with a fast downward pitch sweep plus a short click.
    n = int(0.45 * sr)
    t = np.arange(n) / sr
    f_end = rng.uniform(45.0, 55.0)
    f_start = rng.uniform(140.0, 180.0)
    freq = f_end + (f_start - f_end) * np.exp(-t / 0.035)
    phase = np.cumsum(freq) / sr
    body = np.sin(2 * np.pi * phase) * np.exp(-t / rng.uniform(0.18, 0.26))
    click = signal.sosfilt(_butter("highpass", 1500.0, sr), rng.standard_normal(n))
    click *= np.exp(-t / 0.004)
    kick = body + 0.25 * click
    kick[: int(0.002 * sr)] *= np.linspace(0, 1, int(0.002 * sr))
    kit["kick"] = kick / np.max(np.abs(kick))

    # Snare: two damped tones plus band-passed noise.
    n = int(0.3 * sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(170.0, 210.0)
    tone = (np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(2 * np.pi * 1.7 * f0 * t)) * np.exp(-t / 0.05)
    noise = signal.sosfilt(_butter("bandpass", (1200.0, 9000.0), sr), rng.standard_normal(n))
    noise *= np.exp(-t / rng.uniform(0.07, 0.11))
    snare = 0.6 * tone + noise / np.max(np.abs(noise))
    kit["snare"] = snare / np.max(np.abs(snare))

    # Clap: three quick noise bursts and a tail.
    n = int(0.3 * sr)
    t = np.arange(n) / sr
    noise = signal.sosfilt(_butter("bandpass", (900.0, 4000.0), sr), rng.standard_normal(n))
    env = np.zeros(n)
    for k, off in enumerate((0.0, 0.011, 0.022)):
        i = int(off * sr)
        env[i:] += (0.8 if k < 2 else 1.0) * np.exp(-(t[: n - i]) / (0.006 if k < 2 else 0.09))
    clap = noise * env
    kit["clap"] = clap / np.max(np.abs(clap))

    # Hats: high-passed noise, closed (short) and open (long).
    hp = _butter("highpass", 7000.0, sr, order=4)
    for name, dur, tau in (("hat", 0.08, 0.018), ("open", 0.4, 0.12)):
        n = int(dur * sr)
        t = np.arange(n) / sr
        hat = signal.sosfilt(hp, rng.standard_normal(n)) * np.exp(-t / tau)
        kit[name] = hat / np.max(np.abs(hat))

    # Crash: long stereo noise (independent channels) high-passed around 4 kHz.
    n = int(1.8 * sr)
    t = np.arange(n) / sr
    crash = signal.sosfilt(_butter("highpass", 3500.0, sr, order=2), rng.standard_normal((2, n)))
    crash *= np.exp(-t / 0.55)
    crash[:, : int(0.003 * sr)] *= np.linspace(0, 1, int(0.003 * sr))
    kit["crash"] = crash / np.max(np.abs(crash))

    # Tom (for fills): pitched sweep.
    n = int(0.35 * sr)
    t = np.arange(n) / sr
    freq = 110.0 + 80.0 * np.exp(-t / 0.05)
    tom = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.14)
    kit["tom"] = tom / np.max(np.abs(tom))
    return kit


def _drum_pattern(style: str, tempo: float, rng: np.random.Generator) -> dict[str, list]:
    """Steps (0..15, sixteenth notes) and velocities for one bar of the style's groove."""
    eighths = list(range(0, 16, 2))
    if style == "house":
        kick = [(0, 1.0), (4, 0.85), (8, 0.9), (12, 0.85)]
        snare = [(4, 0.9), (12, 0.9)]
        hat = [(s, 0.8) for s in (2, 6, 10, 14)] + [(s, 0.3) for s in range(1, 16, 2)]
        open_ = [(s, 0.6) for s in (2, 6, 10, 14)]
        return dict(kick=kick, snare=snare, hat=hat, open=open_, snare_kind="clap")
    if style == "dnb":
        extra = [(7, 0.55)] if rng.random() < 0.5 else [(11, 0.6)]
        kick = [(0, 1.0), (10, 0.85), *extra]
        snare = [(4, 1.0), (12, 1.0), (15, 0.25)]
        hat = [(s, 0.7 if s % 4 == 2 else 0.45) for s in eighths]
        open_ = [(14, 0.5)]
        return dict(kick=kick, snare=snare, hat=hat, open=open_, snare_kind="snare")
    if style == "hiphop":
        if tempo >= 110.0:  # trap-like half-time: snare on beat 3, rolling sixteenth hats
            kick = [(0, 1.0), (6, 0.8), (10, 0.85)]
            snare = [(8, 1.0)]
            hat = [(s, 0.75 if s % 2 == 0 else 0.4) for s in range(16)]
        else:  # boom-bap backbeat
            kick = [(0, 1.0), (7, 0.75), (10, 0.85)] if rng.random() < 0.5 else \
                [(0, 1.0), (3, 0.7), (10, 0.85)]
            snare = [(4, 1.0), (12, 1.0)]
            hat = [(s, 0.75 if s % 4 == 0 else 0.5) for s in eighths]
        return dict(kick=kick, snare=snare, hat=hat, open=[(14, 0.45)], snare_kind="snare")
    if style == "rock":
        kick = [(0, 1.0), (8, 0.9)] + ([(10, 0.75)] if rng.random() < 0.6 else [(6, 0.7)])
        snare = [(4, 1.0), (12, 1.0)]
        hat = [(s, 0.85 if s % 4 == 0 else 0.6) for s in eighths]
        return dict(kick=kick, snare=snare, hat=hat, open=[(s, 0.45) for s in (0, 4, 8, 12)],
                    snare_kind="snare")
    # pop
    var = rng.integers(3)
    kick = [(0, 1.0), (8, 0.9)] + [[(10, 0.7)], [(7, 0.65)], [(3, 0.6), (10, 0.7)]][var]
    snare = [(4, 0.95), (12, 0.95)]
    hat = [(s, 0.8 if s % 4 == 0 else 0.55) for s in eighths]
    return dict(kick=kick, snare=snare, hat=hat, open=[(14, 0.5)],
                snare_kind="clap" if rng.random() < 0.4 else "snare")


def _groove_pattern(groove: str, pattern: dict[str, list]) -> dict[str, list]:
    """`pattern` with its kick, snare and hats replaced by a `Variation.groove`."""
    eighths = list(range(0, 16, 2))
    if groove == "halftime":
        kick, snare = [(0, 1.0), (10, 0.8)], [(8, 1.0)]
        hat = [(s, 0.7 if s % 4 == 0 else 0.45) for s in eighths]
    elif groove == "breakbeat":  # after the "amen" break: kicks on 1, 1+, 3+ and 3a
        kick = [(0, 1.0), (2, 0.8), (10, 0.85), (11, 0.7)]
        snare = [(4, 1.0), (7, 0.35), (9, 0.35), (12, 1.0), (15, 0.35)]
        hat = [(s, 0.6) for s in eighths]
    elif groove == "syncopated":  # funk: kicks on the "a" of one and the "and" of three
        kick = [(0, 1.0), (3, 0.75), (6, 0.6), (10, 0.85), (13, 0.6)]
        snare = [(4, 1.0), (12, 1.0), (14, 0.3)]
        hat = [(s, 0.7 if s % 2 == 0 else 0.35) for s in range(16)]
    elif groove == "four":
        kick = [(0, 1.0), (4, 0.9), (8, 0.95), (12, 0.9)]
        snare = [(4, 0.9), (12, 0.9)]
        hat = [(s, 0.75) for s in (2, 6, 10, 14)]
    else:
        raise ValueError(f"unknown groove {groove!r}; expected one of {GROOVES}")
    return {**pattern, "kick": kick, "snare": snare, "hat": hat}


class _TimeWarp:
    """Musical time (sixteenth steps from the first downbeat) to seconds for a swung and/or
    drifting grid: beat k lasts 60 / (tempo * (1 + drift * sin(...))) seconds, and within a
    beat the off-beat eighth sits at (2 + swing * 2/3) sixteenths instead of 2."""

    def __init__(self, *, offset_sec: float, tempo_bpm: float, variation: Variation,
                 n_beats: int, phase: float) -> None:
        k = np.arange(n_beats)
        # One slow cycle over about 96 beats (two to three minutes), from a seeded phase.
        factor = 1.0 + variation.tempo_drift * np.sin(2 * np.pi * k / 96.0 + phase)
        durations_sec = 60.0 / (tempo_bpm * factor)
        self.beats_sec = offset_sec + np.concatenate([[0.0], np.cumsum(durations_sec)])
        self.off_steps = 2.0 + variation.swing * 2.0 / 3.0

    def time_sec(self, step: float) -> float:
        k = int(np.floor(step / 4.0))
        pos = step - 4.0 * k
        off = self.off_steps
        warped = pos * off / 2.0 if pos < 2.0 else off + (pos - 2.0) * (4.0 - off) / 2.0
        k = min(max(k, 0), len(self.beats_sec) - 2)
        start, end = self.beats_sec[k], self.beats_sec[k + 1]
        return float(start + (end - start) * warped / 4.0)


# --------------------------------------------------------------------------------------------
# Pitched parts
# --------------------------------------------------------------------------------------------


def _bass_pattern(style: str, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """One bar of (step, length in sixteenths, interval above the chord root in semitones)."""
    options = {
        "house": (
            [(0, 1, 0), (2, 2, 0), (6, 2, 0), (10, 2, 0), (14, 2, 12)],
            [(0, 2, 0), (2, 2, 12), (6, 2, 0), (8, 2, 0), (10, 2, 12), (14, 2, 7)],
        ),
        "pop": (
            [(0, 3, 0), (3, 1, 0), (4, 2, 0), (6, 2, 7), (8, 3, 0), (11, 1, 0), (12, 2, 12),
             (14, 2, 7)],
            [(0, 6, 0), (6, 2, 0), (8, 6, 0), (14, 2, 7)],
        ),
        "rock": (
            [(s, 2, 0) for s in range(0, 12, 2)] + [(12, 2, 7), (14, 2, 7)],
            [(s, 2, 0) for s in range(0, 16, 2)],
        ),
        "hiphop": (
            [(0, 6, 0), (7, 3, 0), (10, 4, 0), (14, 2, 12)],
            [(0, 3, 0), (3, 4, 0), (10, 6, 0)],
        ),
        "dnb": (
            [(0, 10, 0), (10, 6, 0)],
            [(0, 6, 0), (6, 4, 12), (10, 6, 0)],
        ),
    }[style]
    return options[int(rng.integers(len(options)))]


def _bass_note(midi: int, n: int, sr: int, table: np.ndarray,
               tuning_ratio: float = 1.0) -> np.ndarray:
    """Bass note of `n` samples (plus release) with a plucky envelope."""
    rel = int(0.05 * sr)
    total = n + rel
    f = midi_to_hz(midi) * tuning_ratio
    t = np.arange(total) / sr
    tone = _lookup(table, f * t) + 0.6 * np.sin(2 * np.pi * f * t)
    env = _env_adsr(total, sr, 0.004, 0.15, 0.65, n, 0.05)
    return tone * env


def _pad_chord(midis: list[int], n: int, sr: int, table: np.ndarray,
               rng: np.random.Generator, tuning_ratio: float = 1.0) -> np.ndarray:
    """Stereo detuned pad chord of `n` samples plus release: voice pairs spread left/right."""
    rel = int(0.25 * sr)
    total = n + rel
    t = np.arange(total) / sr
    out = np.zeros((2, total))
    for m in midis:
        f = midi_to_hz(m) * tuning_ratio
        for side, cents in ((0, -7.0), (1, 7.0)):
            ph = f * 2 ** (cents / 1200.0) * t + rng.random()
            v = _lookup(table, ph)
            out[side] += 0.72 * v
            out[1 - side] += 0.28 * v
    env = _env_adsr(total, sr, 0.06, 0.6, 0.75, n, 0.25)
    return out * env / len(midis)


def _stab_chord(midis: list[int], sr: int, table: np.ndarray,
                tuning_ratio: float = 1.0) -> np.ndarray:
    """Short bright stereo chord stab (about 0.2 s)."""
    n = int(0.22 * sr)
    t = np.arange(n) / sr
    out = np.zeros((2, n))
    for j, m in enumerate(midis):
        f = midi_to_hz(m + 12) * tuning_ratio
        v = _lookup(table, f * t)
        pan = 0.35 + 0.3 * (j % 2)
        out[0] += (1 - pan) * v
        out[1] += pan * v
    env = np.exp(-t / 0.06) * np.minimum(t / 0.003, 1.0)
    return out * env / len(midis)


def _voicing(chord: _Chord) -> list[int]:
    """Pad voicing: root an octave low plus a close triad around middle C."""
    root = 48 + chord.root_pc  # C3..B3
    if root > 54:
        root -= 12
    triad = [root + 12 + i for i in _QUALITY[chord.quality]]
    return [root, *triad]


# --------------------------------------------------------------------------------------------
# Vocals
# --------------------------------------------------------------------------------------------

# Formant frequencies (Hz) and bandwidths (Hz) of a few sung vowels.
_VOWELS = (
    ((800.0, 1150.0, 2900.0), (80.0, 90.0, 120.0)),   # a
    ((400.0, 1700.0, 2600.0), (70.0, 80.0, 100.0)),   # e
    ((300.0, 2200.0, 3000.0), (60.0, 90.0, 110.0)),   # i
    ((450.0, 800.0, 2830.0), (70.0, 80.0, 100.0)),    # o
    ((350.0, 650.0, 2500.0), (60.0, 70.0, 90.0)),     # u
)


def _formant_sos(vowel: int, sr: int) -> np.ndarray:
    """Cascade of DC-normalised two-pole resonators (Klatt style) for one vowel."""
    freqs, bws = _VOWELS[vowel]
    rows = []
    for f, bw in zip(freqs, bws, strict=True):
        r = np.exp(-np.pi * bw / sr)
        a1 = -2 * r * np.cos(2 * np.pi * f / sr)
        a2 = r * r
        rows.append([1 + a1 + a2, 0.0, 0.0, 1.0, a1, a2])
    return np.array(rows)


@dataclass
class _Note:
    start: float  # seconds
    dur: float  # seconds
    midi: int
    vowel: int


def _phrase_melody(rng: np.random.Generator, chords: list[_Chord], scale_pcs: list[int],
                   low: int, high: int, eighth: float, start: float, max_end: float,
                   prev_midi: int) -> list[_Note]:
    """Notes of one sung phrase over two bars (chord per bar), favouring chord tones."""
    notes: list[_Note] = []
    t_steps = 0 if rng.random() < 0.6 else 1  # on the downbeat or an eighth later
    vowel_pair = rng.choice(len(_VOWELS), size=2, replace=False)  # two vowels a phrase
    max_steps = int(np.floor((max_end - start) / eighth + 1e-9))
    max_steps = min(max_steps, 14)
    want = int(rng.integers(9, 13))
    end_steps = min(max_steps, want)
    cand = np.arange(low, high + 1)
    midi = prev_midi
    while t_steps < end_steps:
        left = end_steps - t_steps
        length = int(rng.choice([1, 1, 2, 2, 2, 3, 4]))
        length = min(length, left)
        if left - length == 1:
            length = left  # no one-eighth orphan at the end
        bar = min(int((t_steps * eighth) // (8 * eighth)), len(chords) - 1)
        chord_pcs = chords[bar].pcs
        pcs = cand % 12
        in_chord = np.isin(pcs, chord_pcs)
        in_scale = np.isin(pcs, scale_pcs)
        w = np.where(in_chord, 3.0, np.where(in_scale, 1.0, 0.0))
        dist = np.abs(cand - midi)
        w = w * np.exp(-dist / 2.5) * (dist > 0 if rng.random() < 0.8 else 1)
        if t_steps + length >= end_steps:  # end the phrase on a chord tone
            w = w * in_chord
        if w.sum() <= 0:
            w = in_chord.astype(float)
        midi = int(rng.choice(cand, p=w / w.sum()))
        notes.append(_Note(start + t_steps * eighth, length * eighth, midi,
                           int(vowel_pair[int(rng.integers(2))])))
        t_steps += length
    return notes


def _render_phrase(notes: list[_Note], sr: int, table: np.ndarray, rng: np.random.Generator,
                   level: float, tuning_ratio: float = 1.0) -> tuple[int, np.ndarray]:
    """Mono vocal phrase; returns (start sample, samples). Ends with a 0.12 s release."""
    rel_sec = 0.12
    start = round(notes[0].start * sr)
    note_starts = np.array([round(nt.start * sr) for nt in notes]) - start
    end = round((notes[-1].start + notes[-1].dur) * sr) - start
    n = end + int(rel_sec * sr)
    lengths = np.diff(np.append(note_starts, n))
    idx = np.repeat(np.arange(len(notes)), lengths)
    t = np.arange(n) / sr
    t_in = t - np.repeat(note_starts / sr, lengths)

    midi = np.array([nt.midi for nt in notes], dtype=float)[idx]
    glide = max(3, int(0.07 * sr))
    midi = uniform_filter1d(uniform_filter1d(midi, glide, mode="nearest"), glide, mode="nearest")
    rate = rng.uniform(5.2, 5.9)
    vib_env = np.clip((t_in - 0.15) / 0.3, 0.0, 1.0)
    vib = 0.30 * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)) * vib_env
    drift_len = max(8, n // int(0.25 * sr) + 2)
    drift = np.interp(t, np.linspace(0, t[-1] + 1e-9, drift_len),
                      rng.normal(0.0, 0.05, drift_len))  # slow pitch wander, semitones
    f0 = _midi_to_hz_array(midi + vib + drift) * tuning_ratio
    source = _lookup(table, np.cumsum(f0) / sr + rng.random())
    source += 0.015 * rng.standard_normal(n)  # aspiration

    vowels = sorted({nt.vowel for nt in notes})
    weights = np.zeros((len(vowels), n))
    vowel_of = np.array([vowels.index(nt.vowel) for nt in notes])[idx]
    weights[vowel_of, np.arange(n)] = 1.0
    weights = uniform_filter1d(weights, max(3, int(0.05 * sr)), axis=1, mode="nearest")
    out = np.zeros(n)
    for j, v in enumerate(vowels):
        out += weights[j] * signal.sosfilt(_formant_sos(v, sr), source)

    # Envelopes: soft consonant-like dip at each note onset, phrase attack and release.
    t_to_next = np.repeat(np.append(note_starts[1:] / sr, np.inf), lengths) - t
    near = np.minimum(np.where(idx > 0, t_in, np.inf), t_to_next)  # to the nearest note change
    amp = 1.0 - 0.35 * np.exp(-((near / 0.025) ** 2))
    amp *= 1.0 - 0.12 * np.clip(t_in / 1.5, 0, 1)
    amp *= np.clip(t / 0.04, 0.0, 1.0)
    rel_start = end
    amp[rel_start:] *= np.cos(np.linspace(0, np.pi / 2, n - rel_start)) ** 2
    out *= amp
    rms = float(np.sqrt(np.mean(out[:end] ** 2))) + 1e-12
    return start, out * (level * 0.25 / rms)


def _warp_note(note: _Note, warp: _TimeWarp, *, grid_start_sec: float,
               step_sec: float) -> _Note:
    """`note` planned on the straight grid, moved onto the swung / drifting one."""
    start_steps = (note.start - grid_start_sec) / step_sec
    end_steps = start_steps + note.dur / step_sec
    start = warp.time_sec(start_steps)
    return _Note(start, warp.time_sec(end_steps) - start, note.midi, note.vowel)


def _breath(rng: np.random.Generator, sr: int) -> np.ndarray:
    n = int(0.16 * sr)
    t = np.arange(n) / sr
    noise = signal.sosfilt(_butter("bandpass", (1500.0, 5000.0), sr), rng.standard_normal(n))
    return noise * np.sin(np.pi * t / t[-1]) ** 2 * 0.012 / (np.std(noise) + 1e-12)


# --------------------------------------------------------------------------------------------
# Song
# --------------------------------------------------------------------------------------------


def synthesize_song(spec: SongSpec) -> SynthSong:
    """Render `spec` into a stereo mix, four exact stems and the ground truth.

    The result is fully determined by `spec`. Audio is float32 (2, round(duration_sec * sr))
    at `spec.sample_rate_hz` Hz, the mix peak is about 0.84 (-1.5 dBFS).
    """
    if spec.style not in STYLES:
        raise ValueError(f"unknown style {spec.style!r}; expected one of {STYLES}")
    if spec.key_mode not in ("major", "minor"):
        raise ValueError(f"key_mode must be 'major' or 'minor', not {spec.key_mode!r}")
    if not 30.0 <= spec.tempo_bpm <= 300.0:
        raise ValueError("tempo_bpm must be within 30..300")
    var = spec.variation
    if var.harmony not in HARMONIES:
        raise ValueError(f"unknown harmony {var.harmony!r}; expected one of {HARMONIES}")
    if var.groove not in GROOVES:
        raise ValueError(f"unknown groove {var.groove!r}; expected one of {GROOVES}")
    tonic = key_to_pitch_class(spec.key_tonic)
    sr = int(spec.sample_rate_hz)
    n = round(spec.duration_sec * sr)
    beat = 60.0 / spec.tempo_bpm
    bar = 4.0 * beat
    sixteenth = beat / 4.0
    rng = np.random.default_rng(_song_seed(spec))

    offset = float(rng.uniform(0.05, 0.3))
    # Variations draw from their own generator, so the default stream stays as it was.
    var_rng = np.random.default_rng([*_song_seed(spec), 0x5EED])
    warp = None
    if var.moves_time:
        warp = _TimeWarp(offset_sec=offset, tempo_bpm=spec.tempo_bpm, variation=var,
                         n_beats=int(spec.duration_sec / beat * 1.3) + 16,
                         phase=float(var_rng.uniform(0, 2 * np.pi)))
    if warp is None:
        if spec.duration_sec < offset + 4 * bar:
            raise ValueError("duration_sec must hold at least four bars")
        n_beats = int(np.floor((spec.duration_sec - offset) / beat - 1e-9)) + 1
        beats = offset + beat * np.arange(n_beats, dtype=np.float64)
        n_full_bars = int(np.floor((spec.duration_sec - offset) / bar + 1e-9))
        n_bars_render = int(np.ceil((spec.duration_sec - offset) / bar))
    else:
        grid = warp.beats_sec
        if spec.duration_sec < grid[16]:
            raise ValueError("duration_sec must hold at least four bars")
        beats = grid[grid < spec.duration_sec - 1e-9].copy()
        n_full_bars = int(np.sum(grid[4::4] <= spec.duration_sec + 1e-9))
        n_bars_render = int(np.sum(grid[::4] < spec.duration_sec))
    downbeats = beats[::4].copy()

    def at_sec(b: int, step: float) -> float:
        """Time of sixteenth `step` of bar `b`."""
        if warp is None:
            return offset + b * bar + step * sixteenth
        return warp.time_sec(16 * b + step)

    # ---- form -------------------------------------------------------------------------
    form = _plan_form(spec.style, n_full_bars // 4)
    bar_label: list[str] = []
    bar_in_section: list[int] = []
    bar_section: list[int] = []
    section_first_bar: list[int] = []
    sections = []
    b0 = 0
    for si, (label, blocks) in enumerate(form):
        nb = 4 * blocks
        # same arithmetic as `beats`, so section bounds equal the downbeat times exactly
        if warp is None:
            sections.append(Section(label, offset + beat * (4 * b0),
                                    offset + beat * (4 * (b0 + nb))))
        else:
            sections.append(Section(label, at_sec(b0, 0), at_sec(b0 + nb, 0)))
        section_first_bar.append(b0)
        bar_label += [label] * nb
        bar_in_section += list(range(nb))
        bar_section += [si] * nb
        b0 += nb
    form_bars = b0
    last_si = len(form) - 1
    for k in range(n_bars_render - form_bars):  # tail: the last section goes on and fades
        bar_label.append(form[-1][0])
        bar_in_section.append(4 * form[-1][1] + k)
        bar_section.append(last_si)

    def section_len(si: int) -> int:
        return 4 * form[si][1]

    # ---- harmony ---------------------------------------------------------------------
    mode = spec.key_mode
    progs = {"tonal": _PROGRESSIONS, "modal": _MODAL_PROGRESSIONS,
             "ambiguous": _AMBIGUOUS_PROGRESSIONS}[var.harmony][mode]
    prog_verse = progs[int(rng.integers(len(progs)))]
    prog_chorus = progs[int(rng.integers(len(progs)))]
    hook_labels = ("chorus", "drop")

    def chord_at(b: int) -> _Chord:
        prog = prog_chorus if bar_label[b] in hook_labels else prog_verse
        off, quality = prog[bar_in_section[b] % 4]
        return _Chord((tonic + off) % 12, quality)

    scale = SCALE_STEPS["major" if mode == "major" else "minor"]
    if var.harmony == "modal":
        scale = _MODAL_SCALES[mode]
    scale_pcs = [(tonic + s) % 12 for s in scale]
    tuning = var.tuning_hz / 440.0

    def bar_start(b: int) -> int:
        return round(at_sec(b, 0) * sr)

    def step_sample(b: int, step: float) -> int:
        return round(at_sec(b, step) * sr)

    def hit_sample(b: int, step: float) -> int:
        """A played hit: on the grid, or off it by a human error when humanised."""
        if var.humanize_ms <= 0:
            return step_sample(b, step)
        return step_sample(b, step) + round(var_rng.normal(0.0, var.humanize_ms) * sr / 1000)

    def energy(b: int) -> dict[str, float]:
        if var.drumless_intro and bar_label[b] == "intro":
            return {**_ENERGY["intro"], "kick": 0.0, "snare": 0.0, "hat": 0.0, "open": 0.0,
                    "bass": 0.0}
        return _ENERGY[bar_label[b]]

    bar_n = round(bar * sr)

    # ---- drums -------------------------------------------------------------------------
    kit = _drum_kit(rng, sr)
    pattern = _drum_pattern(spec.style, spec.tempo_bpm, rng)
    if var.groove != "style":
        pattern = _groove_pattern(var.groove, pattern)
    f32 = np.float32
    drums = np.zeros((2, n), f32)
    mono_drums = drums[0]  # kick, snare, toms: centred; copied to the right channel below
    hat_pan = np.array([[0.28], [0.42]])  # hats a little to the right
    stereo_hits: list[tuple[int, np.ndarray, float]] = []  # crashes and hats, added after
    snare_kind = pattern["snare_kind"]
    for b in range(n_bars_render):
        e = energy(b)
        si = bar_section[b]
        ib = bar_in_section[b]
        last_bar = b < form_bars and ib == section_len(si) - 1 and si < last_si
        next_label = form[si + 1][0] if si < last_si else None
        silent = var.drumless_intro and bar_label[b] == "intro"
        if ib == 0 and not silent:  # section start accent: crash plus a full downbeat kick
            stereo_hits.append((bar_start(b), kit["crash"], 0.55 if e["kick"] > 0 else 0.3))
            _add(mono_drums, bar_start(b), kit["kick"], 1.0 if e["kick"] > 0 else 0.7)
        fill = last_bar and next_label not in ("breakdown",) and bar_label[b] != "build"
        for step, vel in pattern["kick"]:
            if ib == 0 and step == 0:
                continue
            if fill and step >= 8:
                continue
            _add(mono_drums, hit_sample(b, step), kit["kick"], e["kick"] * vel)
        if bar_label[b] == "build":
            # Snare roll: quarters, then eighths, then sixteenths in the last bar, rising.
            n_sec = section_len(si)
            frac = ib / max(n_sec, 1)
            every = 4 if frac < 0.5 else (2 if ib < n_sec - 1 else 1)
            for step in range(0, 16, every):
                vel = 0.35 + 0.55 * (ib + step / 16) / n_sec
                _add(mono_drums, hit_sample(b, step), kit["snare"], vel)
        else:
            for step, vel in pattern["snare"]:
                if fill and step >= 8:
                    continue
                _add(mono_drums, hit_sample(b, step), kit[snare_kind], e["snare"] * vel)
        if fill and e["snare"] + e["kick"] > 0:
            for j, step in enumerate(range(8, 16)):
                name = "tom" if j % 4 == 3 else "snare"
                _add(mono_drums, hit_sample(b, step), kit[name], 0.45 + 0.06 * j)
        for step, vel in pattern["hat"]:
            stereo_hits.append((hit_sample(b, step), kit["hat"], e["hat"] * vel))
        if e["open"] > 0:
            for step, vel in pattern["open"]:
                stereo_hits.append((hit_sample(b, step), kit["open"], e["open"] * vel))
    drums[1] = mono_drums
    for start, sound, gain in stereo_hits:
        _add(drums, start, sound if sound.ndim == 2 else hat_pan * sound, gain)

    # ---- bass --------------------------------------------------------------------------
    bass_table = _wavetable(np.array([1.0, 0.55, 0.3, 0.18, 0.1, 0.06, 0.03, 0.02]))
    bass_pat = _bass_pattern(spec.style, rng)
    bass_st = np.zeros((2, n), f32)
    bass = bass_st[0]  # centred: copied to the right channel when done
    note_cache: dict[tuple[int, int], np.ndarray] = {}
    for b in range(n_bars_render):
        g = energy(b)["bass"]
        if g <= 0:
            continue
        root = 33 + (chord_at(b).root_pc - 9) % 12  # A1 (55 Hz) .. G#2 (104 Hz)
        for step, length, interval in bass_pat:
            key = (root + interval, length)
            if key not in note_cache:
                ln = round(length * sixteenth * sr * 0.92)
                note_cache[key] = _bass_note(root + interval, ln, sr, bass_table, tuning)
            _add(bass, hit_sample(b, step), note_cache[key], g * (1.0 if step == 0 else 0.85))

    # ---- other (pads, stabs, risers) ---------------------------------------------------
    pad_table = _wavetable(1.0 / np.arange(1, 13) ** var.pad_rolloff)
    stab_table = _wavetable(1.0 / np.arange(1, 17) ** 1.0)
    other = np.zeros((2, n), f32)
    pad_cache: dict[tuple[int, str], np.ndarray] = {}
    stab_cache: dict[tuple[int, str], np.ndarray] = {}
    stab_steps = {"house": (2, 6, 10, 14), "dnb": (0, 6, 12), "pop": (0, 3, 6, 10),
                  "rock": (0, 6, 8, 14), "hiphop": (0, 10)}[spec.style]
    for b in range(n_bars_render):
        e = energy(b)
        ch = chord_at(b)
        key = (ch.root_pc, ch.quality)
        if key not in pad_cache:
            pad_cache[key] = _pad_chord(_voicing(ch), bar_n, sr, pad_table, rng, tuning)
            stab_cache[key] = _stab_chord(_voicing(ch)[1:], sr, stab_table, tuning)
        _add(other, bar_start(b), pad_cache[key], e["pad"])
        if e["stab"] > 0:
            for step in stab_steps:
                _add(other, hit_sample(b, step), stab_cache[key], 1.6 * e["stab"])
    for si, (label, blocks) in enumerate(form):
        if label != "build":
            continue
        a = bar_start(section_first_bar[si])
        m = bar_start(section_first_bar[si] + 4 * blocks) - a
        t = np.arange(m) / m
        riser = signal.sosfilt(_butter("highpass", 2500.0, sr), rng.standard_normal((2, m)))
        _add(other, a, riser * (0.12 * t**2))

    # ---- vocals ------------------------------------------------------------------------
    vocals_st = np.zeros((2, n), f32)
    vocals = vocals_st[0]  # centred: copied to the right channel when done
    double = np.zeros(n, f32) if var.vocal_double else None  # the second take
    vocal_intervals: list[tuple[float, float]] = []
    if spec.with_vocals:
        voc_table = _wavetable(1.0 / np.arange(1, 25) ** 1.0)
        base = 60 + tonic
        if base > 66:
            base -= 12
        low, high = base - 3, base + 12
        eighth = beat / 2.0
        prev = base + 4
        seed_words = _song_seed(spec)
        for si, (label, blocks) in enumerate(form):
            level = _ENERGY[label]["vocal"]
            if level <= 0:
                continue
            b_first = section_first_bar[si]
            for p in range(2 * blocks):  # one phrase per two bars
                b = b_first + 2 * p
                phrase_rng = np.random.default_rng(
                    [*seed_words, SECTION_LABELS.index(label), p % 4, 7])
                start = offset + b * bar
                max_end = offset + (b + 2) * bar - max(_MIN_VOCAL_GAP_SEC, beat) - 0.12
                notes = _phrase_melody(
                    phrase_rng, [chord_at(b), chord_at(b + 1)], scale_pcs,
                    low + (2 if label in hook_labels else 0), high, eighth, start, max_end,
                    prev)
                if not notes:
                    continue
                prev = notes[-1].midi
                if warp is not None:
                    notes = [_warp_note(nt, warp, grid_start_sec=offset, step_sec=sixteenth)
                             for nt in notes]
                a, sig = _render_phrase(notes, sr, voc_table, phrase_rng, level, tuning)
                _add(vocals, a, sig)
                br = _breath(phrase_rng, sr)
                _add(vocals, a - len(br) - int(0.06 * sr), br, level)
                s0 = a / sr
                s1 = (a + len(sig)) / sr
                if double is not None:
                    take_rng = np.random.default_rng([*seed_words, SECTION_LABELS.index(label),
                                                      p, 8])
                    lag = round(take_rng.uniform(0.01, 0.03) * sr)
                    a2, sig2 = _render_phrase(notes, sr, voc_table, take_rng, level, tuning)
                    _add(double, a2 + lag, sig2)
                    s1 = (a2 + lag + len(sig2)) / sr
                if vocal_intervals and s0 - vocal_intervals[-1][1] < 0.5:
                    vocal_intervals[-1] = (vocal_intervals[-1][0], s1)
                else:
                    vocal_intervals.append((s0, s1))

    # ---- mix ---------------------------------------------------------------------------
    bass_st[1] = bass
    vocals_st[1] = vocals if double is None else double
    if var.vocal_pan != 0.0:
        angle = (var.vocal_pan + 1.0) * np.pi / 4.0  # constant power, centre = unity
        vocals_st[0] *= f32(np.sqrt(2.0) * np.cos(angle))
        vocals_st[1] *= f32(np.sqrt(2.0) * np.sin(angle))
    stems = {"vocals": vocals_st, "drums": drums, "bass": bass_st, "other": other}
    for name, gain_db in var.stem_gain_db:
        stems[name] *= f32(10.0 ** (gain_db / 20.0))
    # Tail after the last section: cosine fade to silence at the very end of the song.
    tail_a = min(bar_start(form_bars), n - 1)
    fade = (np.cos(np.linspace(0.0, np.pi / 2, n - tail_a)) ** 2).astype(f32)
    mix = np.zeros((2, n), f32)
    for name in STEM_NAMES:
        stems[name] *= f32(_STEM_GAIN[name])
        stems[name][:, tail_a:] *= fade
        mix += stems[name]
    peak = max(float(mix.max()), -float(mix.min()))
    scale_gain = f32(_TARGET_PEAK / peak if peak > 0 else 1.0)
    mix.fill(0.0)
    for name in STEM_NAMES:
        stems[name] *= scale_gain
        mix += stems[name]

    truth_tempo_bpm = float(spec.tempo_bpm)
    if warp is not None and len(beats) > 1:  # the mean tempo of the drifting grid
        truth_tempo_bpm = 60.0 * (len(beats) - 1) / float(beats[-1] - beats[0])
    truth = SongTruth(
        tempo_bpm=truth_tempo_bpm,
        key=f"{_PITCH_CLASSES[tonic]} {mode}",
        beats_sec=beats,
        downbeats_sec=downbeats,
        sections=tuple(sections),
        vocal_intervals=tuple((round(a, 6), round(b, 6)) for a, b in vocal_intervals),
    )
    return SynthSong(spec=spec, mix=mix, stems=stems, sample_rate_hz=sr, truth=truth)


# --------------------------------------------------------------------------------------------
# Demo songs
# --------------------------------------------------------------------------------------------


def demo_song_specs() -> tuple[SongSpec, SongSpec]:
    """Two demo songs that mash well: A minor house at 124 BPM and C major pop at 118 BPM.

    The keys are relatives (Camelot 8A / 8B) and the tempi are within 5 %.
    """
    return (
        SongSpec(name="demo_a", tempo_bpm=124.0, key_tonic="A", key_mode="minor",
                 duration_sec=72.0, seed=1, style="house"),
        SongSpec(name="demo_b", tempo_bpm=118.0, key_tonic="C", key_mode="major",
                 duration_sec=84.0, seed=2, style="pop"),
    )


def demo_songs() -> tuple[SynthSong, SynthSong]:
    """Synthesise both demo songs (see `demo_song_specs`)."""
    a, b = demo_song_specs()
    return synthesize_song(a), synthesize_song(b)

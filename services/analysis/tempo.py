"""Tempo and beats: Essentia's RhythmExtractor2013 (degara), brought to the metrical level
a DJ counts and, when the tempo is steady, snapped to a constant grid; when it is not,
the tracker's beats are moved back onto the beat where it slid off (`realign_beats`) and
counted on through stretches without drums (`bridge_weak_beats`). The metrical level
and the beat's half are the drums' (kick, snare, subdivisions, the bar's accents). The
confidence is our own (the degara tracker reports none): how regular the tracked beats
are times how much stronger the drum onsets are on them than elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from services.analysis.algorithms import rhythm_extractor
from services.analysis.features import OnsetEnvelopes

RHYTHM_RATE_HZ = 44100  # RhythmExtractor2013 is tuned for 44.1 kHz only
DJ_MIN_BPM = 78.0  # below this a DJ counts double time (60 → 120)
DJ_MAX_BPM = 180.0  # above this a DJ counts half time (200 → 100)
FALLBACK_BPM = 120.0
SILENCE_PEAK = 1e-4  # -80 dBFS: below this everywhere there is no pulse to track
REGULAR_INTERVAL = 0.1  # an inter-beat interval within 10 % of the median is regular
MISFIT_RATIO = 0.8  # see beat_misfits_bars
FULL_SALIENCE_RATIO = 2.5  # onsets this many times stronger on the beats: salience 1
STEADY_MAX_RESIDUAL_SEC = 0.03  # RMS deviation of tracked beats from a constant grid
STEADY_MIN_INLIERS = 0.65  # share of tracked beats within 70 ms of the grid (trackers
# wander through drumless breakdowns, so a steady song may keep only two thirds)
MAX_DRIFT = 0.008  # local tempo this far (0.8 %) from the song's: it drifts, no grid
DRIFT_WINDOW_BEATS = 16  # local tempo measured over this many tracked beats
TIGHT_GRID_INLIERS = 0.95  # a grid fitting this share of the beats stands (grid_is_unsteady)
TIGHT_GRID_MAX_RESIDUAL_SEC = 0.02  # ... with its residual this small
MAX_GRID_SLIP = 0.003  # a grid's period this far (0.3 %) from the tracked beats' (grid_slip)
DECISIVE_VOTE = 0.75  # share of tracked beats on one half-beat phase that settles it
PHASE_OVERRULE_RATIO = 1.2  # kick and snare together (geometric mean) this much stronger
# on the tracker's off-beats: it sits on the off-beat, however steadily (onsets_overrule)
DOUBLE_TIME_RATIO = 1.5  # kick and snare each this much stronger on opposite half-beats
# A beat level has subdivisions (eighths of hats, guitar, piano, syllables): below
# BARE_SUBDIVISION the onsets between beats are hardly stronger than anywhere, while
# at half the tempo the in-between beat is at least FULL_SUBDIVISION times as strong.
BARE_SUBDIVISION = 1.4
FULL_SUBDIVISION = 2.5
SWING_FRACTIONS = (0.5, 0.583, 0.667)  # where an off-beat eighth sits, straight to shuffle
CLEAR_SWING = 1.3  # see swing_fraction
# From a swung off-beat eighth to the next beat, in beats (see swung_offbeat_lead).
SWUNG_LEADS = tuple(round(1.0 - f, 3) for f in SWING_FRACTIONS[1:])
# A half-time groove (snare on 3) at a fast tempo is tracked at half speed, where its
# eighths fill every sixteenth of the slow beat while the kick never lands on the slow
# off-beat. Only slow tempi up to HALF_TIME_MAX_SLOW_BPM are doubled (to 156-176: drum &
# bass, fast trap), where both readings are DJ tempi; faster ones (hip-hop at 90+) stay.
HALF_TIME_MAX_SLOW_BPM = 88.0
SIXTEENTH_MIN = 1.3  # broadband onsets at every sixteenth at least this much stronger
KICK_OFFBEAT_MAX = 0.6  # kick on the slow off-beat weaker than this share of on the beat
HOMOGENEOUS_HALF = 0.8  # see counted_every_other_beat
# Beat realignment of drifting songs (`realign_beats`): shifts tried within half a beat
# (1/16 beat apart), the cost of moving the shift one step from beat to beat (in units of
# the onset evidence: about 1 per envelope where nothing sounds, up to CUE_CAP on a hit),
# and the cap per envelope. At a cost of 1 the path also chases syncopations: applied to
# the raw ticks of songs the tracker got right it moved Potassium's (real hip-hop) beats
# (F 1.00 -> 0.95) and a stress song's (0.98 -> 0.48); at 2 it leaves those alone and
# still undoes the slides (stress 5000/6000 beat F of the drifting songs 0.60-0.87 ->
# 0.98-1.00, except two).
# Tried on the 288 tuning songs and not kept: a move cost of 1.5 (beat F .9897 -> .9915,
# all from one song, 6000/14 .49 -> 1, while others moved both ways), and evidence that
# also subtracts half the onsets at the quarter-beats, so that a path following a slide
# through the sixteenths pays for it (.9897 -> .9913: 6000/14 .49 -> 1 but 19000/17
# .97 -> .85). Breakdowns where the tracker slid are `bridge_weak_beats`'s instead.
PHASE_STEPS = 8
PHASE_MOVE_COST = 2.0
CUE_CAP = 4.0
# On top of the move cost, TIMING_COST per step that a moved beat strays from the local
# period (the median interval of BRIDGE_EDGE_BEATS beats either side): staying with a
# tracker that slid late by a longer interval costs, a shift that shrinks by as much does
# not. Of 267 tuning songs that drift or swing, 16 gain (14000/17 beat F .39 -> .91,
# 15000/21 .57 -> 1.0, 22000/23 .92 -> .99), 3 lose .02; at 0.5 and 1.0 fewer gained,
# at 3.0 the moved beats lost two songs whose trackers wandered a whole beat through a
# breakdown (16000/7, 23000/8: 1.0 -> .40, .69).
TIMING_COST = 2.0
# Beats the drums do not mark (`bridge_weak_beats`): a run of at least WEAK_RUN_BEATS
# beats whose onset evidence is under WEAK_SHARE of the song's median.
WEAK_SHARE = 0.5
WEAK_RUN_BEATS = 4
BRIDGE_EDGE_BEATS = 8  # strong beats each side that give the local period
BAR_ACCENT_RATIO = 1.2  # see bar_accents_off_the_beat
BACKBEAT_OFF_RATIO = 1.3  # see backbeat_overrule
BACKBEAT_MIN_CONTRAST = 1.5
# A snare that alternates on the counted beats (`backbeat_contrast`) by LEVEL_CONTRAST
# is the backbeat of two and four at the counted tempo, which no doubling may take for
# half time and which a count twice as fast has on every fourth beat
# (`is_double_time`, `counted_every_other_beat`, `backbeat_on_every_other_beat`). On
# stress tuning songs: breakbeats and backbeats at 80-91 BPM counted right 1.90-3.8;
# drum & bass, rock and breakbeats at 156-175 counted at half (the backbeat on every
# slow beat or off-beat) 1.02-1.52 (3000/11, a swung breakbeat at 174.5 whose two
# snares of the bar differ in strength), so 1.5 would halve that one.
LEVEL_CONTRAST = 1.7
# A slow backbeat whose two and four are less distinct (MODERATE_CONTRAST up to
# LEVEL_CONTRAST: the kick's click and a loud bass fill the snare band on one and three)
# still marks the slow count where the bar's strongest kick lands on a slow beat
# (`backbeat_marks_the_count`, `kick_leads_the_bar`): drifting syncopated house at 81.3
# tracked at 162 measured 1.34 on its slow beats (stress 42000/3, read 161.8), its beat
# one's kick 1.3 times its strongest between them. Drum & bass, rock and breakbeats
# counted right at 156-175 put their kicks between the slow beats that carry their
# snare (stress 3000/11: contrast 1.56 there, its strongest kick 0.43 times as strong
# on them as between them), and the halving's other tests (`is_double_time` there) hold.
MODERATE_CONTRAST = 1.3
# Stretches of a drifting song's beats on the off-beat (`offbeat_runs`): the phase tests
# look STRETCH_HALF_WINDOW_BEATS beats either side of each beat (about four bars in all),
# and a run must last MIN_OFFBEAT_RUN_BEATS (eight bars) to be moved: shorter ones
# (a syncopated intro, 24-29 beats in three tuning songs) are phrases, not slides.
STRETCH_HALF_WINDOW_BEATS = 8
MIN_OFFBEAT_RUN_BEATS = 32
# A third test of the stretches (`bar_accent_leads`, where the mean tests find no run;
# see `offbeat_runs`), and of whole songs on a grid (`bar_accents_lead`): the bar's
# strongest kick-drum hit and strongest snare, over ACCENT_HALF_WINDOW_BEATS beats
# either side (about eight bars in all), both at least ACCENT_OFF_RATIO times as strong
# at a point a lead (0.5 or SWUNG_LEADS) of a beat after the beats as on them. On the
# truth beats of 504 stress tuning songs the product of the two ratios over the whole
# song is at most .83 on the beat and at least 1.04 on the (swung) off-beat; within
# windows of 32 beats they overlap (syncopated house at 170: 1.05 on the beat, .89 off
# it), hence the wide window. Stress tuning seeds, songs 0-47 (864 songs): three move
# and no other, all drifting house: 13000/26 (half-time, wholly on the off-beat: beat F
# 0 -> 1.0), 6000/20 (half-time, its last third off: .62 -> .98), 18000/6 (syncopated,
# swung: .26 -> .53). Requiring only the product (kick and snare may disagree) fixed
# more of 18000/6 (.93) but moved a drifting swung syncopated house song that was right
# (held-out 24000/7, 1.0 -> .69: its beats 30 ms late, the kick 0.79 times as strong
# off the beat, the snare band's open hats 1.56 times); with both required, a ratio of
# .9-1.1 changes nothing. Widening each point's reach (the envelope's peak within 5 or
# 8 % of a beat) moved a syncopated hip-hop song that was right (16000/22 .95 -> .87).
ACCENT_HALF_WINDOW_BEATS = 16
ACCENT_OFF_RATIO = 1.0
BEATS_PER_BAR_ACCENTS = 4  # a bar's positions (4/4)
# Four on the floor counted on its eighths (`kick_on_every_other_beat`): the kick drum on
# both beats of one half of every four counted beats within KICK_PULSE_EVEN of each other,
# on the other half under KICK_PULSE_GAP of that, and the snare's strongest beat on the
# kick's half SNARE_WITH_KICK times its strongest on the other.
KICK_PULSE_EVEN = 0.6
KICK_PULSE_GAP = 0.5
SNARE_WITH_KICK = 1.3


@dataclass(frozen=True)
class TempoEstimate:
    tempo_bpm: float
    confidence: float  # 0..1
    beats_sec: np.ndarray  # float64 (n,), increasing
    steady: bool  # True when the beats are a fitted constant-tempo grid


def pulse_confidence(*, regularity: float, beats_sec: np.ndarray,
                     onsets: OnsetEnvelopes | None) -> float:
    """0..1 confidence in a beat grid: the mean of its regularity (0..1: the share of
    tracked beats on the fitted grid, or of regular intervals) and its salience (0 when
    the kick and snare onsets are no stronger on the beats than anywhere, 1 when they
    are FULL_SALIENCE_RATIO times stronger)."""
    if onsets is None or not len(beats_sec):
        return float(np.clip(regularity, 0.0, 1.0))
    ratio = np.mean([relative_strength(env, onsets, beats_sec)
                     for env in (onsets.kick, onsets.snare)])
    salience = float(np.clip((ratio - 1.0) / (FULL_SALIENCE_RATIO - 1.0), 0.0, 1.0))
    return float(np.clip(0.5 * (regularity + salience), 0.0, 1.0))


def dj_tempo(tempo_bpm: float) -> tuple[float, float]:
    """Fold a tempo into the DJ range [78, 180]: returns (tempo_bpm, factor) where factor
    is what the input was multiplied by (a power of two)."""
    factor = 1.0
    if tempo_bpm <= 0:
        return tempo_bpm, factor
    # 1 % slack: a track annotated at 180 BPM must not be halved for measuring 180.4.
    while tempo_bpm * factor < DJ_MIN_BPM * 0.99:
        factor *= 2.0
    while tempo_bpm * factor > DJ_MAX_BPM * 1.01:
        factor /= 2.0
    return tempo_bpm * factor, factor


def rescale_beats(beats_sec: np.ndarray, *, factor: float) -> np.ndarray:
    """Beats at `factor` (a power of two) times the tempo: 2 inserts midpoints, 0.5 keeps
    every other beat."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    while factor > 1.0 and len(beats) >= 2:
        mids = (beats[:-1] + beats[1:]) / 2.0
        beats = np.sort(np.concatenate([beats, mids]))
        factor /= 2.0
    while factor < 1.0 and len(beats) >= 2:
        beats = beats[0::2]
        factor *= 2.0
    return beats


def fit_grid(beats_sec: np.ndarray, *, period_sec: float) -> tuple[float, float, float, float]:
    """Fit a constant grid t = origin + k * period / 2 to tracked beats.

    Trackers lock onto the off-beats for stretches of a song (offbeat hats and bass in
    house music), so the fit works on half-beats: a beat on either phase counts. First the
    period that makes the beats most phase-coherent is searched within ±3 % of
    `period_sec`; then the half-beat index of every beat within 70 ms of that grid is
    regressed on its time by least squares, which gives sub-frame precision.

    Returns (origin_sec, period_sec, rms_residual_sec, inlier_share); the origin may sit
    on an off-beat (see `beat_phase_origin`)."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    periods = period_sec * np.linspace(0.97, 1.03, 601)
    # Doubling the frequency (4π instead of 2π) makes on- and off-beats the same phase.
    phasors = np.exp(4j * np.pi * beats[None, :] / periods[:, None])
    best = int(np.argmax(np.abs(phasors.mean(axis=1))))
    half = float(periods[best]) / 2.0
    origin = float(np.angle(phasors[best].mean()) / (2.0 * np.pi) * half)
    inliers = np.zeros(len(beats), dtype=bool)
    for _ in range(2):
        index = np.round((beats - origin) / half)
        inliers = np.abs(beats - (origin + index * half)) < min(0.07, half / 2.0)
        if inliers.sum() < 2 or len(np.unique(index[inliers])) < 2:
            break
        half, origin = (float(v) for v in np.polyfit(index[inliers], beats[inliers], 1))
    residual = beats - (origin + np.round((beats - origin) / half) * half)
    rms = float(np.sqrt(np.mean(residual[inliers] ** 2))) if inliers.any() else np.inf
    return origin, 2.0 * half, rms, float(inliers.mean())


def tempo_drift(beats_sec: np.ndarray, *, period_sec: float) -> float:
    """How far (0.02 = 2 %) the local beat period typically strays from `period_sec`: the
    upper quartile over windows of DRIFT_WINDOW_BEATS tracked beats (half overlapping)
    of |local / period_sec - 1|, or 0 when there are too few beats.

    The local period is the Theil-Sen slope of beat time against beat index, which a
    skipped or doubled beat and the tracker's frame quantisation (11.6 ms) barely move;
    the first DRIFT_WINDOW_BEATS / 2 beats, where the tracker is still locking on, are
    left out, and the upper quartile ignores a breakdown where it wandered. A steady
    song scores well under 0.5 %, a drifting recording or a band that speeds up more,
    and a constant grid would lose it."""
    local = _local_periods(beats_sec)
    if not len(local) or period_sec <= 0:
        return 0.0
    return float(np.percentile(np.abs(local / period_sec - 1.0), 75))


def _local_periods(beats_sec: np.ndarray) -> np.ndarray:
    """The local beat period (seconds) of every window of DRIFT_WINDOW_BEATS tracked beats
    (half overlapping, the first DRIFT_WINDOW_BEATS / 2 beats left out): the Theil-Sen
    slope of beat time against beat index (see `tempo_drift`); empty for too few beats."""
    beats = np.asarray(beats_sec, dtype=np.float64)[DRIFT_WINDOW_BEATS // 2:]
    if len(beats) < DRIFT_WINDOW_BEATS:
        return np.zeros(0)
    upper = np.triu_indices(DRIFT_WINDOW_BEATS, k=1)
    periods = []
    for start in range(0, len(beats) - DRIFT_WINDOW_BEATS + 1, DRIFT_WINDOW_BEATS // 2):
        window = beats[start:start + DRIFT_WINDOW_BEATS]
        slopes = (window[upper[1]] - window[upper[0]]) / (upper[1] - upper[0])
        periods.append(float(np.median(slopes)))
    return np.asarray(periods)


def grid_slip(beats_sec: np.ndarray, *, period_sec: float) -> float:
    """How far (0.005 = 0.5 %) a fitted grid's `period_sec` is from the tracked beats' own
    (the median of their local periods, `_local_periods`), or 0 with too few beats.

    `fit_grid` fits half-beats so that a tracker on the off-beat for a stretch still fits;
    on a drifting song that lets the grid slip half a beat against the beats wherever
    their drift has carried them a quarter beat away, and the best fit is a period that
    keeps slipping: tracked beats drifting ±1 % around 167.2 BPM fit grids at 166.3 or
    168.0 with 93-96 % of them within 70 ms, residuals of 22-25 ms and, against that
    period, local tempi under MAX_DRIFT in some draws (stress 30000/14, a drum & bass
    breakbeat: its grid at 167.9 ran half a beat off the beat for half the song, beat
    F .46, the tracked beats .98). The tracker's local periods keep the true tempo
    whichever half it is on; a steady song's grid agrees with them within 0.16 % (the
    33 of stress tuning seeds 13000 and 45000 that keep a grid)."""
    local = _local_periods(beats_sec)
    if not len(local) or period_sec <= 0:
        return 0.0
    return abs(float(np.median(local)) / period_sec - 1.0)


def extend_beats(beats_sec: np.ndarray, *, duration_sec: float,
                 edge_beats: int = 8) -> np.ndarray:
    """Tracked beats continued back to the start and on to the end of the song at the
    local period (the median of the first / last `edge_beats` intervals). A tracker starts
    only once it has locked on, seconds into a song (later still after a drumless intro),
    and bars and phrases are counted from the first beat, so the beats must begin where
    the music does."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if len(beats) < 2:
        return beats
    intervals = np.diff(beats)
    head = float(np.median(intervals[:edge_beats]))
    tail = float(np.median(intervals[-edge_beats:]))
    before = beats[0] - head * np.arange(int(beats[0] // head), 0, -1)
    after = beats[-1] + tail * np.arange(1, int((duration_sec - beats[-1]) // tail) + 1)
    return np.concatenate([before, beats, after[after < duration_sec]])


def _capped_cue(onsets: OnsetEnvelopes, times_sec: np.ndarray) -> np.ndarray:
    """Onset evidence at each time (same shape as `times_sec`): the kick, snare and
    broadband envelopes relative to their means, each capped at CUE_CAP so that one
    loud hit does not outweigh a bar of steady ones, summed."""
    flat = np.asarray(times_sec, dtype=np.float64).ravel()
    total = np.zeros(len(flat))
    for envelope in (onsets.kick, onsets.snare, onsets.broadband):
        if envelope is None:
            continue
        strength = onsets.strength_at(envelope, flat) / (envelope.mean() + 1e-9)
        total += np.minimum(strength, CUE_CAP)
    return total.reshape(np.shape(times_sec))


def swing_fraction(onsets: OnsetEnvelopes, beats_sec: np.ndarray) -> float:
    """Where between tracked beats the off-beat eighth sits (one of SWING_FRACTIONS): the
    fraction of the interval at which the broadband onsets are strongest, where that is
    at least CLEAR_SWING times their strength half-way (else 0.5: a light swing is
    within the onsets' reach of the straight off-beat anyway)."""
    if onsets.broadband is None or len(beats_sec) < 2:
        return 0.5
    beats = np.asarray(beats_sec, dtype=np.float64)
    intervals = np.diff(beats)
    strengths = [relative_strength(onsets.broadband, onsets, beats[:-1] + f * intervals)
                 for f in SWING_FRACTIONS]
    best = int(np.argmax(strengths))
    if strengths[best] < CLEAR_SWING * strengths[SWING_FRACTIONS.index(0.5)]:
        return 0.5
    return float(SWING_FRACTIONS[best])


def realign_beats(beats_sec: np.ndarray, onsets: OnsetEnvelopes | None) -> np.ndarray:
    """Tracked beats of a drifting song (no constant grid) moved back onto the song's
    half-beat grid where the tracker slid off it, all on one half of it.

    A tracker that loses the beat in a breakdown, a syncopated stretch or under an
    off-beat bass slides, over a few beats, half a beat away and later back; its
    intervals stay plausible, so nothing in them shows it. The onsets do: each beat k is
    moved by psi_k of its interval, psi chosen by a Viterbi path over PHASE_STEPS shifts
    within half a beat that maximises the onset evidence (`_capped_cue`) on the moved
    beat and half a beat after it (both: the grid, whichever half is the beat) minus
    PHASE_MOVE_COST per step the shift moves from one beat to the next and TIMING_COST
    per step the moved beat strays from the local tempo. Where the tracker slid about a
    quarter beat, the onsets cannot tell whether it went a quarter beat late or a
    quarter beat early from the off-beat; its intervals can: they grew where it slid
    late, and the beat did not move. A path that
    wraps past half a beat flips which of the pair is the beat, so counting the wraps
    keeps the beats on one half all through. That half is the one the tracker kept most
    of the time: the onsets are no guide to it here (an off-beat bass in the kick band,
    off-beat hats in the snare band outweigh the beat for whole sections of real songs),
    and where the tracker slid away it mostly slid back."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if onsets is None or onsets.broadband is None or len(beats) < 8:
        return beats
    intervals = np.diff(beats)
    intervals = np.append(intervals, intervals[-1])
    shifts = np.arange(PHASE_STEPS) / (2.0 * PHASE_STEPS)  # fractions of a beat, < 0.5
    positions = beats[:, None] + shifts[None, :] * intervals[:, None]
    # The other half of the grid: half a beat later, or where a swung off-beat sits (the
    # song's own swing, `swing_fraction`); at 0.5 a heavy shuffle's late eighths pulled
    # the beats a sixth of a beat late, off the beat for whole sections.
    off = _capped_cue(onsets, positions + 0.5 * intervals[:, None])
    swing = swing_fraction(onsets, beats)
    if swing != 0.5:
        off = np.maximum(off, _capped_cue(onsets, positions + swing * intervals[:, None]))
    evidence = _capped_cue(onsets, positions) + off
    steps = np.arange(PHASE_STEPS)
    raw = steps[None, :] - steps[:, None]  # (from, to)
    # Shifts wrap at half a beat: a move from one to another goes the shorter way round.
    # A move of a quarter beat or more would leave it open which way it went (and so
    # which of the pair is the beat): the path may move less, over more beats.
    moves = (raw + PHASE_STEPS // 2) % PHASE_STEPS - PHASE_STEPS // 2
    allowed = 2 * np.abs(moves) < PHASE_STEPS
    # The tracker's own slide (steps per beat): where its interval is longer than the
    # local period, the shift must shrink by as much for the moved beat to keep time.
    local_sec = _local_period(intervals, half_window=BRIDGE_EDGE_BEATS)
    slide = (intervals[:-1] / local_sec[:-1] - 1.0) * 2.0 * PHASE_STEPS
    score = evidence[0].copy()
    back = np.zeros((len(beats), PHASE_STEPS), dtype=np.int64)
    for k in range(1, len(beats)):
        stray = np.abs(moves + slide[k - 1])
        cost = np.where(allowed, PHASE_MOVE_COST * np.abs(moves) + TIMING_COST * stray, np.inf)
        total = score[:, None] - cost  # (from, to)
        back[k] = np.argmax(total, axis=0)
        score = total[back[k], steps] + evidence[k]
    path = np.empty(len(beats), dtype=np.int64)
    path[-1] = int(np.argmax(score))
    for k in range(len(beats) - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    # Unwrap: a move across the half-beat boundary adds or removes half a beat.
    taken = np.diff(path)
    wraps = np.where(taken < -(PHASE_STEPS // 2), 1, np.where(taken > PHASE_STEPS // 2, -1, 0))
    psi = shifts[path] + 0.5 * np.concatenate([[0], np.cumsum(wraps)])
    psi = (psi + 0.5) % 1.0 - 0.5  # nearest to the tracked beat: within half a beat
    # A shift within a step of the tracked beat or of its off-beat is the tracker's own
    # jitter (its 11.6 ms frames), not a slide: keep its beat, which is finer than a step.
    grid = 0.5 * np.round(psi / 0.5)
    psi = np.where(np.abs(psi - grid) <= 1.0 / (2.0 * PHASE_STEPS) + 1e-9, grid, psi)
    on_tracked = float(np.mean(np.abs(psi) < 0.25))
    shift = psi if on_tracked >= 0.5 else (psi + 1.0) % 1.0 - 0.5
    return np.sort(beats + shift * intervals)


def _local_period(intervals_sec: np.ndarray, *, half_window: int) -> np.ndarray:
    """The median of the intervals (n,) within `half_window` beats each side of each
    (n,): the tempo around a beat, which a slide over a few beats barely moves."""
    padded = np.pad(intervals_sec, half_window, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_window + 1)
    return np.median(windows, axis=1)


def bridge_weak_beats(beats_sec: np.ndarray, onsets: OnsetEnvelopes | None) -> np.ndarray:
    """Tracked beats of a drifting song where, through a stretch the drums do not mark (a
    breakdown, a drumless intro or outro), the count goes on at the tempo around it.

    With nothing to lock on, a tracker wanders: it slides towards the off-beat over a
    few beats and back when the drums return, and `realign_beats` cannot pull it back,
    for there is no onset there to pull it to. A DJ keeps counting through a breakdown at
    the tempo before it and finds the drums back on the count. So a run of WEAK_RUN_BEATS
    or more beats whose onset evidence (`_capped_cue` on the beat and half a beat later,
    either half of the grid; its median over three beats) is under WEAK_SHARE of the
    song's median is replaced: inside the song by beats evenly spaced between the strong
    beats either side, as many as the local period of the BRIDGE_EDGE_BEATS strong beats
    either side implies (a tracker that slid a whole beat dropped one), at the song's
    start or end by that local period counted back or on.

    Stress tuning seeds (288 songs): beat F .990 -> .992, downbeat F .986 -> .988
    (drumless intros 6000/3 .85 -> 1, 11000/8 .95 -> 1, breakdowns 5000/19 .92 -> 1,
    18000/7 .90 -> 1; 18000/6, off the beat already, .267 -> .258); their songs 24-47
    (288 more) beat F .978 -> .983 with one loss: a drumless intro of 24 beats in a song
    drifting 2.8 % (5000/40, 1.0 -> .86), where the constant period counted back strays
    (a quadratic fit of the beat times instead fixed it, .86 -> .96, but cost three
    others: .996 -> .991 overall, rejected)."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if onsets is None or onsets.broadband is None or len(beats) < 2 * BRIDGE_EDGE_BEATS:
        return beats
    intervals = np.append(np.diff(beats), beats[-1] - beats[-2])
    evidence = _capped_cue(onsets, beats) + _capped_cue(onsets, beats + 0.5 * intervals)
    # A median over three beats: a lone fill or crash inside a breakdown does not split it
    # (an anchor on the tracker's off-beat beat would carry its slide over), and one quiet
    # beat among the drums is no breakdown.
    padded = np.pad(evidence, 1, mode="edge")
    smoothed = np.median(np.lib.stride_tricks.sliding_window_view(padded, 3), axis=1)
    weak = smoothed < WEAK_SHARE * float(np.median(evidence))
    runs, start = [], None
    for k, is_weak in enumerate(np.append(weak, False)):
        if is_weak and start is None:
            start = k
        elif not is_weak and start is not None:
            if k - start >= WEAK_RUN_BEATS:
                runs.append((start, k))  # beats start..k-1 are weak
            start = None
    if not runs:
        return beats
    strong = np.flatnonzero(~weak)
    pieces: list[np.ndarray] = []
    cursor = 0
    for first, end in runs:
        before = strong[strong < first][-BRIDGE_EDGE_BEATS:]
        after = strong[strong >= end][:BRIDGE_EDGE_BEATS]
        if len(before) < 2 and len(after) < 2:
            continue
        pieces.append(beats[cursor:first])
        if len(before) >= 2 and len(after) >= 2:
            period = float(np.median(np.concatenate([np.diff(beats[before]) / np.diff(before),
                                                     np.diff(beats[after]) / np.diff(after)])))
            left, right = beats[first - 1], beats[end]
            count = max(1, round((right - left) / period))
            pieces.append(left + (right - left) * np.arange(1, count) / count)
        elif len(after) >= 2:  # the song starts without drums: count back from them
            period = float(np.median(np.diff(beats[after]) / np.diff(after)))
            right = beats[end]
            n_back = int(np.floor((right - beats[first]) / period + 0.5))
            pieces.append(right - period * np.arange(n_back, 0, -1))
        else:  # it ends without drums: count on
            period = float(np.median(np.diff(beats[before]) / np.diff(before)))
            left = beats[first - 1]
            n_on = int(np.floor((beats[end - 1] - left) / period + 0.5))
            pieces.append(left + period * np.arange(1, n_on + 1))
        cursor = end
    pieces.append(beats[cursor:])
    merged = np.concatenate(pieces)
    return merged[merged >= 0.0]


def grid_beats(*, origin_sec: float, period_sec: float, duration_sec: float) -> np.ndarray:
    """A constant grid through `origin_sec`, covering [0, duration_sec)."""
    first = origin_sec - np.floor(origin_sec / period_sec) * period_sec
    return np.arange(first, duration_sec, period_sec)


def relative_strength(envelope: np.ndarray, onsets: OnsetEnvelopes,
                       times_sec: np.ndarray) -> float:
    """Mean envelope at `times_sec` relative to its mean everywhere."""
    if not len(times_sec):
        return 0.0
    return float(onsets.strength_at(envelope, times_sec).mean() / (envelope.mean() + 1e-9))


def _half_phase_strengths(onsets: OnsetEnvelopes, *, origin_sec: float, period_sec: float,
                          duration_sec: float, hits: bool = False,
                          fraction: float = 0.5) -> np.ndarray:
    """(2, 2) relative strengths: rows are the grid through origin and the one `fraction`
    of a beat (half) later, columns kick (the kick drum's own hits when `hits`, else the
    kick band) and snare."""
    kick = onsets.kick_hits_or_band if hits else onsets.kick
    out = np.zeros((2, 2))
    for row in range(2):
        grid = grid_beats(origin_sec=origin_sec + row * fraction * period_sec,
                          period_sec=period_sec, duration_sec=duration_sec)
        out[row] = [relative_strength(kick, onsets, grid),
                    relative_strength(onsets.snare, onsets, grid)]
    return out


def _tick_strengths(onsets: OnsetEnvelopes, ticks_sec: np.ndarray, *,
                    hits: bool = False, fraction: float = 0.5) -> np.ndarray:
    """(2, 2) like `_half_phase_strengths` for beats that are not a grid: rows are the
    tracked beats and the points `fraction` of the way to the next (the midpoints),
    columns kick and snare."""
    mids = ticks_sec[:-1] + fraction * np.diff(ticks_sec)
    kick = onsets.kick_hits_or_band if hits else onsets.kick
    return np.array([[relative_strength(env, onsets, times) for env in (kick, onsets.snare)]
                     for times in (ticks_sec, mids)])


def onsets_overrule(strengths: np.ndarray) -> bool:
    """True when the kick and the snare/clap both hit harder half a beat after the beats
    than on them, together clearly (`strengths`: rows beats and off-beats, columns kick
    and snare): the beats sit on the off-beat. A tracker locks there for a whole song
    under an off-beat bass as loud as the kick (house), and its vote is then unanimous
    and wrong. Both cues must lean the same way: off-beat hats alone lift the snare band,
    a syncopated kick alone the kick band; where they agree, one clear cue (a kick on
    the beat, with the clap there barely above the off-beat open hats) settles it."""
    beat, off = np.asarray(strengths, dtype=np.float64)
    if not np.all(beat > 0) or not np.all(off > beat):
        return False
    return bool(np.sqrt(np.prod(off / beat)) >= PHASE_OVERRULE_RATIO)


def _on_and_off_beat(onsets: OnsetEnvelopes, envelope: np.ndarray, beats_sec: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """`envelope`'s strength at each beat that has a next one, and half-way to the next."""
    mids = beats_sec[:-1] + 0.5 * np.diff(beats_sec)
    return onsets.strength_at(envelope, beats_sec[:-1]), onsets.strength_at(envelope, mids)


def _window_bar_max(values: np.ndarray, half_window: int) -> np.ndarray:
    """For each beat k of `values` (n,), the largest of the four means over every fourth
    beat within `half_window` beats either side of it: the bar's strongest position."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    index = np.arange(n)
    low = np.maximum(0, index - half_window)
    high = np.minimum(n, index + half_window + 1)
    out = np.zeros(n)
    for position in range(BEATS_PER_BAR_ACCENTS):
        mask = (index % BEATS_PER_BAR_ACCENTS == position).astype(np.float64)
        sums = np.concatenate([[0.0], np.cumsum(values * mask)])
        counts = np.concatenate([[0.0], np.cumsum(mask)])
        total, count = sums[high] - sums[low], counts[high] - counts[low]
        out = np.maximum(out, np.where(count > 0, total / np.maximum(count, 1.0), 0.0))
    return out


def bar_accent_leads(onsets: OnsetEnvelopes, beats_sec: np.ndarray, *,
                     half_window: int = ACCENT_HALF_WINDOW_BEATS
                     ) -> tuple[np.ndarray, np.ndarray]:
    """For each beat that has a next one (n - 1,): whether the bar's strongest accents sit
    a lead of a beat after the beats, and that lead (0.5 or one of SWUNG_LEADS). The
    bar's strongest accent of an envelope is the largest of its four means over every
    fourth beat within `half_window` beats either side (`_window_bar_max`: bars counted
    from any beat); both the kick drum's hits' and the snare's must be ACCENT_OFF_RATIO
    times as strong at the lead as on the beats, and of the leads where they are, the
    one where the product of the two ratios is largest is taken.

    In swung or syncopated house the means mislead: the kick lands more often off the
    beat than on it (funk kicks on the "and", a half-time kick on the "and" of three),
    and the open hats on every off-beat outweigh the snare band's backbeat or its clap
    on three, so neither `onsets_overrule` nor `backbeat_overrule` sees the beat. The
    single strongest hits of the bar still mark it: beat one's kick and the backbeat
    (or the half-time snare on three) sit on beats. A tracker on a swung off-beat is
    less than half a beat before the next beat, hence the swung leads."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    n = len(beats) - 1
    intervals = np.diff(beats)
    envelopes = (onsets.kick_hits_or_band, onsets.snare)
    on_max = [_window_bar_max(onsets.strength_at(env, beats[:-1]), half_window)
              for env in envelopes]
    best, best_lead = np.zeros(n), np.full(n, 0.5)
    for lead in (0.5, *SWUNG_LEADS):
        later = beats[:-1] + lead * intervals
        product = np.ones(n)
        both_off = np.ones(n, dtype=bool)
        for envelope, on in zip(envelopes, on_max, strict=True):
            off = _window_bar_max(onsets.strength_at(envelope, later), half_window)
            ratio = off / np.maximum(on, 1e-9)
            product *= ratio
            both_off &= ratio >= ACCENT_OFF_RATIO
        better = both_off & (product > best)
        best[better], best_lead[better] = product[better], lead
    return best > 0, best_lead


def bar_accents_lead(onsets: OnsetEnvelopes | None, beats_sec: np.ndarray) -> float | None:
    """`bar_accent_leads` over the whole song: the lead by which every beat must move to
    carry the bar's strongest accents, or None where they are on the beats."""
    if onsets is None or len(beats_sec) < 2 * BEATS_PER_BAR_ACCENTS:
        return None
    off, lead = bar_accent_leads(onsets, beats_sec, half_window=len(beats_sec))
    return float(lead[0]) if off[0] else None


def offbeat_runs(onsets: OnsetEnvelopes, beats_sec: np.ndarray) -> list[tuple[int, int, float]]:
    """Runs (first, end, lead) of beats (indices first..end-1) that sit on the off-beat by
    the onsets around them, the beat `lead` of their interval later: for every beat, the
    `onsets_overrule` and `backbeat_overrule` tests over the STRETCH_HALF_WINDOW_BEATS
    beats either side (lead 0.5), and runs of at least MIN_OFFBEAT_RUN_BEATS beats where
    either says so; where that finds none, the bar's accents (`bar_accent_leads`) also
    count, and a run's lead is the one most of its beats had.

    Whole songs are the global tests' (`estimate_tempo`); a drifting song's beats can be
    right for one part and half a beat off for another: a tracker that slid to the
    off-beat in a breakdown may stay there when the drums return, and `realign_beats`
    keeps one half for the whole song, which a drumless intro or a slide it could not
    time leaves to chance (drum & bass drifting 1.2-2.8 % with drumless intros: the
    first half on the off-beat, the second right, or the other way round)."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    n = len(beats) - 1  # beats with a next one: the off-beat is half-way to it
    if n < MIN_OFFBEAT_RUN_BEATS:
        return []
    kick_on, kick_off = _on_and_off_beat(onsets, onsets.kick_hits_or_band, beats)
    snare_on, snare_off = _on_and_off_beat(onsets, onsets.snare, beats)
    off = np.zeros(n + 2, dtype=bool)  # the last beat's, then one that ends every run
    leads = np.full(n + 2, 0.5)
    for k in range(n):
        window = slice(max(0, k - STRETCH_HALF_WINDOW_BEATS), k + STRETCH_HALF_WINDOW_BEATS + 1)
        strengths = np.array([[kick_on[window].mean(), snare_on[window].mean()],
                              [kick_off[window].mean(), snare_off[window].mean()]])
        off[k] = (onsets_overrule(strengths)
                  or backbeat_overrule(snare_on[window], snare_off[window]))
    off[n] = off[n - 1]  # the last beat has no off-beat of its own: it goes with the one before
    runs = _runs_of(off, np.full(n + 2, 0.5))
    if runs:
        return runs
    # Where the mean tests find no run, the bar's strongest accents may: the run then
    # moves by the lead at which they are (a swung off-beat sits nearer the next beat).
    # Only then: their window is twice as wide, so beside a run the mean tests found
    # they carry it up to 16 beats past where the tracker came back to the beat (the
    # drifting drum & bass of `test_drifting_drum_and_bass_with_a_drumless_intro...`,
    # beat F .97 -> .93).
    accent_off, accent_lead = bar_accent_leads(onsets, beats)
    leads[:n] = np.where(off[:n], 0.5, accent_lead)
    off[:n] |= accent_off
    off[n], leads[n] = off[n - 1], leads[n - 1]
    return _runs_of(off, leads)


def _runs_of(off: np.ndarray, leads: np.ndarray) -> list[tuple[int, int, float]]:
    """Runs (first, end, lead) of at least MIN_OFFBEAT_RUN_BEATS `off` beats, each with
    the lead most of its beats have."""
    runs, first = [], None
    for k, is_off in enumerate(off):
        if is_off and first is None:
            first = k
        elif not is_off and first is not None:
            if k - first >= MIN_OFFBEAT_RUN_BEATS:
                values, counts = np.unique(leads[first:k], return_counts=True)
                runs.append((first, k, float(values[np.argmax(counts)])))
            first = None
    return runs


def move_offbeat_runs(beats_sec: np.ndarray, onsets: OnsetEnvelopes | None) -> np.ndarray:
    """`beats_sec` with every `offbeat_runs` stretch moved its lead (half a beat, less
    from a swung off-beat) later, onto the beat, and the count mended where it then
    jumps: a beat less than 3/4 of the median interval after the one before goes (where
    a moved stretch meets an unmoved beat, and a lone beat inside a stretch that the
    tracker had on the other half), a gap of more than 5/4 gets beats evenly between."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if onsets is None:
        return beats
    runs = offbeat_runs(onsets, beats)
    if not runs:
        return beats
    intervals = np.append(np.diff(beats), beats[-1] - beats[-2])
    moved = beats.copy()
    for first, end, lead in runs:
        moved[first:end] += lead * intervals[first:end]
    period = float(np.median(intervals))
    kept = [moved[0]]
    for time_sec in np.sort(moved)[1:]:
        gap = time_sec - kept[-1]
        if gap < 0.75 * period:
            continue
        if gap > 1.25 * period:
            count = max(1, round(gap / period))
            kept.extend(kept[-1] + gap * np.arange(1, count) / count)
        kept.append(time_sec)
    return np.asarray(kept)


def beat_phase_origin(ticks_sec: np.ndarray, *, origin_sec: float, period_sec: float,
                      strengths: np.ndarray | None,
                      hit_strengths: np.ndarray | None = None) -> float:
    """Which half-beat phase of a fitted grid carries the beat.

    The tracker's majority decides when it is decisive; a tracker that wandered between
    phases (it happens on offbeat-heavy house) is overruled by where the kick and snare
    onsets are stronger (`strengths` from `_half_phase_strengths`). Either way the kick
    drum's hits and the snare have the last word where both say otherwise
    (`onsets_overrule` of `hit_strengths`, `_half_phase_strengths` with `hits`): the kick
    band also hears an off-beat bass, which the tracker follows too."""
    phase = ((ticks_sec - origin_sec) / period_sec) % 1.0
    on_share = float(np.mean((phase < 0.25) | (phase > 0.75)))
    if max(on_share, 1.0 - on_share) >= DECISIVE_VOTE or strengths is None:
        row = 0 if on_share >= 0.5 else 1
    else:
        score = strengths.sum(axis=1)
        row = 1 if score[1] > score[0] else 0
    if hit_strengths is not None and onsets_overrule(hit_strengths[[row, 1 - row]]):
        row = 1 - row
    return origin_sec + row * period_sec / 2.0


def backbeat_contrast(snare: np.ndarray) -> float:
    """How much stronger (>= 1) the snare is on every other beat than on the beats
    between: `snare` (n,) per beat of a grid; a backbeat on two and four gives 2 or more,
    hats or a snare on every beat about 1."""
    values = np.asarray(snare, dtype=np.float64)
    if len(values) < 4:
        return 1.0
    halves = sorted((float(values[0::2].mean()), float(values[1::2].mean())))
    return halves[1] / halves[0] if halves[0] > 0 else 1.0


def backbeat_overrule(snare_on: np.ndarray, snare_off: np.ndarray, *,
                      kick_profile: np.ndarray | None = None) -> bool:
    """True when the snare alone says a grid sits on the off-beat (`snare_on`, `snare_off`:
    (n,) snare strengths on its beats and half a beat later): it is BACKBEAT_OFF_RATIO
    times stronger on the off-beats on average, and there it is a backbeat
    (`backbeat_contrast` at least BACKBEAT_MIN_CONTRAST and no less than on the beats).
    Breakbeat and syncopated house grooves put more kicks on the off-beat than on the
    beat, so the kick sides with a tracker on the off-beat and `onsets_overrule` never
    sees both cues agree; a backbeat is the beat's own mark, while off-beat hats in the
    snare band strike every off-beat alike and a hip-hop snare dragged late shows less
    contrast off the beat than on it (Potassium: 1.15 times stronger off, contrast 1.1
    there against 1.7 on the beats). A drifting song's beats ask it too, without the
    kick profile (their bars are not a grid's): of 456 tuning songs it moves one, whose
    beats a drifting grid no longer replaces (14000/45, see `estimate_tempo`).

    With `kick_profile` (`bar_accent_profile` of the kick drum's hits on the grid) the
    bar's strongest kick, beat one's, may stand in for the contrast test: where it too
    falls half a beat off the beats (BAR_ACCENT_RATIO times the strongest on them), two
    marks of the beat agree, whatever alternates on the tracked beats (a loud off-beat
    bass with its octave on every other one: stress 22000/19, syncopated house, contrast
    2.0 off against 2.4 on, beat F 0)."""
    on = np.asarray(snare_on, dtype=np.float64)
    off = np.asarray(snare_off, dtype=np.float64)
    if len(on) < 8 or len(off) < 8 or on.mean() <= 0:
        return False
    contrast_off = backbeat_contrast(off)
    if off.mean() < BACKBEAT_OFF_RATIO * on.mean() or contrast_off < BACKBEAT_MIN_CONTRAST:
        return False
    if contrast_off >= backbeat_contrast(on):
        return True
    kick = None if kick_profile is None else np.asarray(kick_profile, dtype=np.float64)
    return bool(kick is not None and len(kick) == 8
                and kick[1::2].max() >= BAR_ACCENT_RATIO * kick[0::2].max() > 0)


def bar_accent_profile(envelope: np.ndarray, onsets: OnsetEnvelopes, *, origin_sec: float,
                       period_sec: float, duration_sec: float) -> np.ndarray:
    """(8,) mean strength of `envelope` at each half-beat of a four-beat bar of the grid
    through `origin_sec` (even entries on its beats, odd ones half a beat later), bars
    counted from any beat: the phase within the bar is not known here."""
    half = period_sec / 2.0
    times = np.arange(origin_sec - np.floor(origin_sec / half) * half, duration_sec, half)
    values = onsets.strength_at(envelope, times)
    # Index the half-beats from the grid's origin so that even ones are its beats.
    index = np.round((times - origin_sec) / half).astype(np.int64) % 8
    return np.array([values[index == p].mean() if np.any(index == p) else 0.0
                     for p in range(8)])


def bar_accents_off_the_beat(kick_profile: np.ndarray, snare_profile: np.ndarray) -> bool:
    """True when a grid sits on the off-beat by the bar's accents (`kick_profile`,
    `snare_profile`: `bar_accent_profile` of the kick drum's hits and the snare): the
    strongest kick of the bar (beat one's) and the strongest snare (the backbeat) both
    fall half a beat off its beats, each BAR_ACCENT_RATIO times stronger there than at
    any of its beats. Averaged over the bar, a half-time groove over an off-beat house
    bass and open hats is as strong on the off-beats as on the beats (kick on one and on
    the "and" of three, clap on three, hats and bass on every "and"), and the tracker
    locks there; the single strongest hits of the bar still mark the beat."""
    kick, snare = np.asarray(kick_profile), np.asarray(snare_profile)
    if len(kick) != 8 or len(snare) != 8:
        return False

    def off(profile: np.ndarray) -> bool:
        return bool(profile[1::2].max() >= BAR_ACCENT_RATIO * profile[0::2].max() > 0)

    return off(kick) and off(snare)


def swung_offbeat_lead(strengths_at: Callable[[float], np.ndarray]) -> float | None:
    """How far (a share of the beat, one of SWUNG_LEADS) the beats must move to leave a
    swung off-beat for the beat, or None: `strengths_at(lead)` gives the (2, 2) strengths
    of the beats and of the points `lead` later, and the move needs `onsets_overrule`.
    A tracker locked on the off-beat of a swung groove sits on the late eighth, so the
    beat is less than half a beat after it, where `onsets_overrule` of the half beat
    does not look."""
    best, best_score = None, 0.0
    for lead in SWUNG_LEADS:
        strengths = np.asarray(strengths_at(lead), dtype=np.float64)
        if onsets_overrule(strengths):
            score = float(np.prod(strengths[1] / strengths[0]))
            if score > best_score:
                best, best_score = lead, score
    return best


def shift_beats(beats_sec: np.ndarray, *, fraction: float = 0.5) -> np.ndarray:
    """Each beat moved `fraction` of its interval later (the last by the one before)."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if len(beats) < 2:
        return beats
    intervals = np.diff(beats)
    return beats + fraction * np.append(intervals, intervals[-1])


def is_double_time(strengths: np.ndarray, *, snare_contrast: float = 1.0) -> bool:
    """True when kick and snare sit on opposite half-beats, each clearly: the tracker
    counted half time (drum & bass at 87 instead of 174). Rows of `strengths` are the beat
    and the off-beat, columns kick and snare. `snare_contrast` (`snare_half_contrast`)
    must stay under LEVEL_CONTRAST: a snare on every other beat of its half is the
    backbeat of the counted tempo (a breakbeat at 80 with the kick on the "and"s and the
    snare on two and four: stress 15000/0, contrast 1.90)."""
    kick_ratio = strengths[0, 0] / (strengths[1, 0] + 1e-9)
    snare_ratio = strengths[0, 1] / (strengths[1, 1] + 1e-9)
    return bool(
        snare_contrast < LEVEL_CONTRAST
        and ((kick_ratio > DOUBLE_TIME_RATIO and snare_ratio < 1 / DOUBLE_TIME_RATIO)
             or (kick_ratio < 1 / DOUBLE_TIME_RATIO and snare_ratio > DOUBLE_TIME_RATIO))
    )


def ticks_double_time(onsets: OnsetEnvelopes, ticks_sec: np.ndarray) -> bool:
    """`is_double_time` for tracked beats that are not a grid (`_tick_strengths`), with
    their snare's `snare_half_contrast`."""
    return is_double_time(_tick_strengths(onsets, ticks_sec),
                          snare_contrast=snare_half_contrast(onsets, ticks_sec))


def snare_half_contrast(onsets: OnsetEnvelopes, beats_sec: np.ndarray) -> float:
    """`backbeat_contrast` of the snare on the half of the beats where it is stronger
    (the beats or half-way to the next). Counted at half the tempo, the backbeat of two
    and four lands on every counted beat (or every off-beat) alike: contrast about 1;
    a snare on every other counted beat is itself a backbeat at the counted tempo."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if len(beats) < 5:
        return 1.0
    on, off = _on_and_off_beat(onsets, onsets.snare, beats)
    return backbeat_contrast(on if on.mean() >= off.mean() else off)


def subdivision_salience(onsets: OnsetEnvelopes, beats_sec: np.ndarray) -> float:
    """How much stronger the broadband onsets are at the off-beat eighth between beats than
    anywhere (1: no stronger); the off-beat is looked for straight and swung (the best of
    SWING_FRACTIONS of the beat). 0 without a broadband envelope or with < 2 beats."""
    envelope = onsets.broadband
    if envelope is None or len(beats_sec) < 2:
        return 0.0
    beats = np.asarray(beats_sec, dtype=np.float64)
    intervals = np.diff(beats)
    return max(relative_strength(envelope, onsets, beats[:-1] + fraction * intervals)
               for fraction in SWING_FRACTIONS)


def counted_double_time(onsets: OnsetEnvelopes | None, beats_sec: np.ndarray) -> bool:
    """True when `beats_sec` are twice the tempo a listener feels: between them there is
    no subdivision (BARE_SUBDIVISION), while every other one of them, taken as the beat,
    has a strong one (the skipped beats carry the eighths: boom-bap's hats counted as
    beats at 170 instead of 85). Genre-neutral: it asks only whether the beat level is
    subdivided, which music almost always is."""
    if onsets is None or onsets.broadband is None or len(beats_sec) < 8:
        return False
    if subdivision_salience(onsets, beats_sec) >= BARE_SUBDIVISION:
        return False
    beats = np.asarray(beats_sec, dtype=np.float64)
    return max(subdivision_salience(onsets, beats[phase::2]) for phase in (0, 1)) >= (
        FULL_SUBDIVISION)


def _keep_strong_half(onsets: OnsetEnvelopes, beats_sec: np.ndarray) -> np.ndarray:
    """Every other beat: the phase on which the kick and snare are stronger."""
    candidates = [beats_sec[0::2], beats_sec[1::2]]
    scores = [sum(relative_strength(env, onsets, c) for env in (onsets.kick, onsets.snare))
              for c in candidates]
    return candidates[int(np.argmax(scores))]


def _felt_tempo(onsets: OnsetEnvelopes | None, tempo_bpm: float, beats_sec: np.ndarray,
                ) -> tuple[float, np.ndarray]:
    """(tempo, beats) halved to the strong half of the beats when they were counted on
    the subdivisions (`counted_double_time`) and half the tempo is still a DJ tempo."""
    if (onsets is not None and tempo_bpm / 2.0 >= DJ_MIN_BPM * 0.99
            and counted_double_time(onsets, beats_sec)):
        return tempo_bpm / 2.0, _keep_strong_half(onsets, beats_sec)
    return tempo_bpm, beats_sec


def kick_on_every_other_beat(onsets: OnsetEnvelopes | None, tempo_bpm: float,
                             beats_sec: np.ndarray) -> bool:
    """True when `beats_sec` (at `tempo_bpm`) count the eighths of four on the floor: the
    kick drum's hits land on every other counted beat, evenly (the two beats of that
    half of every four within KICK_PULSE_EVEN of each other), hardly on the beats
    between (under KICK_PULSE_GAP of them), and the snare or clap also lands on the
    kick's half (its strongest beat there SNARE_WITH_KICK times its strongest between),
    and half the tempo is still a DJ tempo.

    At the level a listener counts, the backbeat alternates with the kick (kick on one
    and three, snare on two and four: rock and pop at 160-175 read right keep the snare
    off the kick's half, 0.45-0.83 times as strong there among 76 tuning songs); a
    half-time groove puts its snare on three, where the kick of one does not repeat.
    When kick and clap share one half and nothing but hats and an off-beat bass marks the
    other, that other half is the off-beat of a beat twice as slow: house at 81-91 BPM
    tracked at 162-182 (stress 11000/9, 12000/33, 15000/47: snare 1.8-2.0 times stronger
    on the kick's half, kick 0.83-0.86 even, 0.15-0.37 between)."""
    if (onsets is None or len(beats_sec) < 16
            or tempo_bpm / 2.0 < DJ_MIN_BPM * 0.99):
        return False
    beats = np.asarray(beats_sec, dtype=np.float64)

    def per_position(envelope: np.ndarray) -> np.ndarray:
        values = onsets.strength_at(envelope, beats) / (envelope.mean() + 1e-9)
        return np.array([values[p::4].mean() for p in range(4)])

    kick, snare = per_position(onsets.kick_hits_or_band), per_position(onsets.snare)
    half = 0 if kick[0] + kick[2] >= kick[1] + kick[3] else 1
    on, off = [half, half + 2], [1 - half, 3 - half]
    if kick[on].max() <= 0 or snare[off].max() <= 0:
        return False
    return bool(kick[on].min() >= KICK_PULSE_EVEN * kick[on].max()
                and kick[off].mean() <= KICK_PULSE_GAP * kick[on].mean()
                and snare[on].max() >= SNARE_WITH_KICK * snare[off].max())


def counted_half_time(onsets: OnsetEnvelopes | None, tempo_bpm: float,
                      beats_sec: np.ndarray) -> bool:
    """True when `beats_sec` (at `tempo_bpm`) are half the tempo a DJ counts: a slow
    tempo (<= HALF_TIME_MAX_SLOW_BPM) whose beats are evenly filled with sixteenths
    (SIXTEENTH_MIN at 1/4, 1/2 and 3/4 of the beat) while the kick keeps off the half-beat
    (KICK_OFFBEAT_MAX): the even sixteenths are the eighths of a beat twice as fast, and
    a slow groove that moves its kick onto the "and" is left alone."""
    if (onsets is None or onsets.broadband is None or len(beats_sec) < 8
            or not DJ_MIN_BPM * 0.99 <= tempo_bpm <= HALF_TIME_MAX_SLOW_BPM):
        return False
    beats = np.asarray(beats_sec, dtype=np.float64)
    intervals = np.diff(beats)

    def strength(envelope: np.ndarray, fraction: float) -> float:
        return relative_strength(envelope, onsets, beats[:-1] + fraction * intervals)

    sixteenths = min(strength(onsets.broadband, f) for f in (0.25, 0.5, 0.75))
    return sixteenths >= SIXTEENTH_MIN and kick_offbeat_share(onsets, beats) < KICK_OFFBEAT_MAX


def kick_offbeat_share(onsets: OnsetEnvelopes, beats_sec: np.ndarray) -> float:
    """How strong the kick band is half-way between beats, as a share of on them."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if len(beats) < 2:
        return 0.0
    mids = beats[:-1] + 0.5 * np.diff(beats)
    return relative_strength(onsets.kick, onsets, mids) / (
        relative_strength(onsets.kick, onsets, beats[:-1]) + 1e-9)


def counted_every_other_beat(onsets: OnsetEnvelopes | None, tempo_bpm: float,
                             beats_sec: np.ndarray) -> bool:
    """True when `beats_sec` (at `tempo_bpm`) skip every other beat of the music: the
    half-beat between them is accented as strongly as they are in every band, kick,
    snare and broadband (each at least HOMOGENEOUS_HALF of its strength on the beats),
    and twice the tempo is still a DJ tempo. A beat level is where the accents are; its
    subdivisions are weaker, at least in one band (the backbeat snare, the kick on one),
    so a half-beat as loud as the beat everywhere is itself a beat (metal and punk
    drummers at 180 with kick and snare on every beat, tracked at 90).

    A snare that alternates on the counted beats (`backbeat_marks_the_count`) is a
    backbeat on two and four of the counted tempo and keeps
    it, however busy the half-beats: a swung breakbeat at 91 over an off-beat house bass
    (kicks on the "and"s, ghost snares, swung hats) measured 1.42, 0.84 and 0.96 between
    its beats with its snare's contrast 3.6 (stress 18000/23, read 180), where Mutilated
    Mime (metal at 180 tracked at 90) has 1.0."""
    if (onsets is None or onsets.broadband is None or len(beats_sec) < 8
            or tempo_bpm * 2.0 > DJ_MAX_BPM * 1.01):
        return False
    beats = np.asarray(beats_sec, dtype=np.float64)
    mids = (beats[:-1] + beats[1:]) / 2.0
    ratios = [relative_strength(env, onsets, mids) / (relative_strength(env, onsets, beats[:-1])
                                                       + 1e-9)
              for env in (onsets.kick, onsets.snare, onsets.broadband)]
    return bool(min(ratios) >= HOMOGENEOUS_HALF and not backbeat_marks_the_count(onsets, beats))


def backbeat_on_every_beat(onsets: OnsetEnvelopes | None, tempo_bpm: float,
                           beats_sec: np.ndarray) -> bool:
    """True when `beats_sec` (at `tempo_bpm`) are the backbeats of a count twice as fast:
    the snare hits every one of them alike (BACKBEAT_OFF_RATIO times stronger than half
    a beat later, with `backbeat_contrast` under BACKBEAT_MIN_CONTRAST: not every other
    one), while the kick drum hits the half-beats between them as hard as them
    (HOMOGENEOUS_HALF), and twice the tempo is still a DJ tempo. A backbeat falls on
    every other beat of 4/4, so a snare on every counted beat with the kick also between
    them is two and four counted as one and two: four-on-the-floor at 172 with the clap
    on two and four, tracked at 86 on the claps (stress 5000/6; songs 24-47 of the
    tuning seeds: 4000/41), which `counted_every_other_beat` misses because the snare is
    not as strong between the beats. No other of 576 tuning songs or the real
    recordings changes.

    The kick drum must also hit the counted beats alike (its `backbeat_contrast` under
    LEVEL_CONTRAST), as four on the floor does: a kick on every other counted beat is
    beat one and three of a backbeat at the counted tempo, whatever the snare band shows.
    A bass far louder than the drums fills that band on one and three as much as the
    snare on two and four, and its off-beat notes lift the kick between the beats (pop
    at 90.7 under a +6.7 dB bass: snare contrast 1.1, kick 0.82 between, read 181.4;
    its kick 13 times stronger on one and three than on two and four)."""
    if onsets is None or len(beats_sec) < 8 or tempo_bpm * 2.0 > DJ_MAX_BPM * 1.01:
        return False
    beats = np.asarray(beats_sec, dtype=np.float64)
    mids = (beats[:-1] + beats[1:]) / 2.0
    hits = onsets.kick_hits_or_band
    kick_ratio = relative_strength(hits, onsets, mids) / (
        relative_strength(hits, onsets, beats[:-1]) + 1e-9)
    snare_on = onsets.strength_at(onsets.snare, beats[:-1])
    snare_off = onsets.strength_at(onsets.snare, mids)
    return bool(kick_ratio >= HOMOGENEOUS_HALF
                and snare_on.mean() >= BACKBEAT_OFF_RATIO * snare_off.mean()
                and backbeat_contrast(snare_on) < BACKBEAT_MIN_CONTRAST
                and backbeat_contrast(onsets.strength_at(hits, beats[:-1])) < LEVEL_CONTRAST)


def backbeat_on_every_other_beat(onsets: OnsetEnvelopes | None, tempo_bpm: float,
                                 beats_sec: np.ndarray) -> bool:
    """True when `beats_sec` (at `tempo_bpm`) count the eighths of a backbeat groove at
    half the tempo, and half the tempo is still a DJ tempo. Taken every other one (the
    half the snare is on), the beats are slow beats on which the snare marks two and
    four (`backbeat_marks_the_count`: every fourth counted beat) and
    the kick band also hits the slow "and" (at least KICK_OFFBEAT_MAX of its strength
    on the slow beats), and none of the tests that double a slow count says they are
    themselves counted at half time (`is_double_time`, `counted_half_time`,
    `counted_every_other_beat`, `backbeat_on_every_beat`): the slow count is the one
    the music settles on.

    Drum & bass, rock and house at 156-180 put their snare on every other counted beat
    (contrast on the slow beats 1.0-1.4 on the stress tuning songs) and stay; a
    half-time groove at 150-175 (trap, snare on three) has a backbeat on the slow beats
    nearly as strong as a breakbeat's (contrast up to 1.87 among 22 of them) but keeps
    its kick off the slow "and" (0.10-0.47 of its strength on the beat), fills the slow
    beats with sixteenths (`counted_half_time`), and stays. The tracker counted double
    the breakbeats at 80-84 BPM (kick on one and the "and" of one, snare on two and
    four, eighth hats: stress 5000/13, 11000/4, 15000/0: contrast 1.96-2.34, kick
    1.09-1.52 on the "and"), which no test halved."""
    if (onsets is None or onsets.broadband is None or len(beats_sec) < 16
            or tempo_bpm / 2.0 < DJ_MIN_BPM * 0.99):
        return False
    beats = np.asarray(beats_sec, dtype=np.float64)
    snare_on, snare_off = _on_and_off_beat(onsets, onsets.snare, beats)
    if snare_on.mean() < snare_off.mean():
        # Counted on the off-beat, where the snare's ghost notes alternate too: the
        # backbeat is between these beats (stress 14000/45, a breakbeat at 159.9 tracked
        # on the off-beat: 0.54 times as strong on them, 1.48-1.56 in the songs above).
        return False
    halves = [beats[0::2], beats[1::2]]
    snare = [onsets.strength_at(onsets.snare, h) for h in halves]
    slow_index = int(np.argmax([v.mean() for v in snare]))
    slow = halves[slow_index]
    if not backbeat_marks_the_count(onsets, slow) or kick_offbeat_share(onsets, slow) < (
            KICK_OFFBEAT_MAX):
        return False
    slow_bpm = tempo_bpm / 2.0
    return not (ticks_double_time(onsets, slow)
                or counted_half_time(onsets, slow_bpm, slow)
                or counted_every_other_beat(onsets, slow_bpm, slow)
                or backbeat_on_every_beat(onsets, slow_bpm, slow))


def backbeat_marks_the_count(onsets: OnsetEnvelopes, beats_sec: np.ndarray) -> bool:
    """True when the snare alternates on `beats_sec` as a backbeat on two and four does:
    its `backbeat_contrast` at least LEVEL_CONTRAST, or at least MODERATE_CONTRAST with
    the bar's strongest kick on one of the beats (`kick_leads_the_bar`)."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    contrast = backbeat_contrast(onsets.strength_at(onsets.snare, beats))
    return contrast >= LEVEL_CONTRAST or (contrast >= MODERATE_CONTRAST
                                          and kick_leads_the_bar(onsets, beats))


def kick_leads_the_bar(onsets: OnsetEnvelopes, beats_sec: np.ndarray) -> bool:
    """True when the bar's strongest kick drum hit lands on one of `beats_sec`: of the
    kick's mean strengths at each of the four beats of a bar (bars counted from any beat)
    and half-way to the next, the largest on a beat is BAR_ACCENT_RATIO times the largest
    between. Beat one's kick marks the beat level of a backbeat groove; counted at half
    the tempo on its backbeats, a fast groove has its kicks between them."""
    beats = np.asarray(beats_sec, dtype=np.float64)
    if len(beats) < 2 * BEATS_PER_BAR_ACCENTS:
        return False
    on, off = _on_and_off_beat(onsets, onsets.kick_hits_or_band, beats)
    position = np.arange(len(on)) % BEATS_PER_BAR_ACCENTS
    on_max = max(float(on[position == p].mean()) for p in range(BEATS_PER_BAR_ACCENTS))
    off_max = max(float(off[position == p].mean()) for p in range(BEATS_PER_BAR_ACCENTS))
    return bool(on_max >= BAR_ACCENT_RATIO * off_max > 0)


def onset_autocorrelation(onsets: OnsetEnvelopes) -> np.ndarray:
    """Autocorrelation (n_frames,) of the kick + snare onsets, 1 at lag 0."""
    envelope = (onsets.kick / (onsets.kick.mean() + 1e-9)
                + onsets.snare / (onsets.snare.mean() + 1e-9))
    envelope = envelope - envelope.mean()
    spectrum = np.fft.rfft(envelope, 2 * len(envelope))
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[: len(envelope)]
    return acf / acf[0] if acf[0] > 0 else acf


def beat_misfits_bars(onsets: OnsetEnvelopes, *, period_sec: float) -> bool:
    """True when the drums repeat every 8/3 or 16/3 beats of `period_sec` at least
    nearly as strongly as every 4 or 8 beats: the tracker counted three beats as two
    (syncopated grooves such as trap's kick on the "and" of two fool it)."""
    acf = onset_autocorrelation(onsets)

    def peak(lag_sec: float) -> float:
        # The largest value within two frames of the lag: the period is approximate.
        centre = lag_sec / onsets.hop_sec
        low, high = max(0, int(centre) - 2), min(len(acf), int(centre) + 3)
        return float(acf[low:high].max()) if low < high else 0.0

    bars = max(peak(4.0 * period_sec), peak(8.0 * period_sec))
    thirds = max(peak(8.0 * period_sec / 3.0), peak(16.0 * period_sec / 3.0))
    return thirds >= MISFIT_RATIO * bars


def grid_is_unsteady(*, rms_sec: float, inlier_share: float, drift: float,
                     slip: float = 0.0) -> bool:
    """Whether a fitted constant grid (residual `rms_sec`, share of tracked beats within
    70 ms `inlier_share`) must give way to the tracked beats: a loose fit, or local tempo
    wandering past MAX_DRIFT. A grid that holds TIGHT_GRID_INLIERS of the beats is kept
    whatever the drift: a song that really drifts cannot keep 95 % of its beats within
    70 ms of one grid, while a tracker wobbling on a dense mix can show local tempi 0.9 %
    off (a steady 90.2 BPM mashup with vocals over it: rms 15 ms, 98.6 % inliers, drift
    0.86 % was read at 178.2 for a minute). Stress seeds 2000-7000 and default 1000: one
    song changes (6000/23 beat F .882 -> 1.0), the real recordings none.

    A tight grid also keeps its residual under TIGHT_GRID_MAX_RESIDUAL_SEC: 70 ms is a
    fifth of a beat at 160, and songs drifting 1.3-2 % there kept 96 % of their beats
    within it at residuals of 29-30 ms (just under the loose limit), on a grid that
    drifted half a beat off them (stress 14000/45, beat F .22; drum & bass at 157.9
    drifting 2 %, downbeat F .43). No other of 456 stress tuning songs or the real
    recordings changes.

    A loose grid must also keep the tracked beats' tempo (`slip`, from `grid_slip`, at
    most MAX_GRID_SLIP): a grid that slipped half a beat against them drifts off the
    beat, however many of them fall near one of its half-beats."""
    if rms_sec < TIGHT_GRID_MAX_RESIDUAL_SEC and inlier_share >= TIGHT_GRID_INLIERS:
        return False
    return (rms_sec >= STEADY_MAX_RESIDUAL_SEC or inlier_share < STEADY_MIN_INLIERS
            or drift > MAX_DRIFT or slip > MAX_GRID_SLIP)


def estimate_tempo(mono: np.ndarray, *, sample_rate_hz: int,
                   onsets: OnsetEnvelopes | None = None) -> TempoEstimate:
    """Tempo (BPM at the DJ's metrical level), beats and confidence of a mono signal.

    mono: float32 (n,) at `sample_rate_hz`, which must be 44100 Hz. `onsets` (optional)
    settle the beat phase and the metrical level where the tracker is unsure.

    Rejected (session 8): halving a fast tempo whose chords change only every eighth
    counted beat (4x more there than four beats later). It fixed four tuning songs at
    82-91 BPM read double (tuning Acc1 .983 -> .997), but chords that change every two
    bars are as common at 170: synthetic drum & bass at 170 and 172 and hip-hop at 160
    with two-bar chords were halved to 85, 86 and 80 (main read them right).
    """
    if sample_rate_hz != RHYTHM_RATE_HZ:
        raise ValueError(f"estimate_tempo needs 44100 Hz audio, got {sample_rate_hz}")
    signal = np.ascontiguousarray(mono, dtype=np.float32)
    duration_sec = len(signal) / sample_rate_hz
    if not np.any(np.abs(signal) > SILENCE_PEAK):
        # Essentia's tracker reports a confident tempo for digital silence.
        beats = grid_beats(origin_sec=0.0, period_sec=60.0 / FALLBACK_BPM,
                           duration_sec=duration_sec)
        return TempoEstimate(FALLBACK_BPM, 0.0, beats, steady=False)
    bpm, ticks, _, _, _ = rhythm_extractor()(signal)
    if onsets is not None and bpm > 0 and beat_misfits_bars(onsets, period_sec=60.0 / bpm):
        bpm, ticks, _, _, _ = rhythm_extractor("multifeature")(signal)
    ticks = np.asarray(ticks, dtype=np.float64)
    if len(ticks) < 4 or not np.isfinite(bpm) or bpm <= 0:
        # No pulse: still answer with a grid so downstream code has bars to work with,
        # and say through the confidence that it means nothing.
        tempo_bpm = dj_tempo(float(bpm))[0] if np.isfinite(bpm) and bpm > 0 else FALLBACK_BPM
        beats = grid_beats(origin_sec=0.0, period_sec=60.0 / tempo_bpm, duration_sec=duration_sec)
        return TempoEstimate(round(tempo_bpm, 3), 0.05, beats, steady=False)

    # The tracker quantises beats to its 11.6 ms frames, so its median inter-beat
    # interval is coarse; the grid fit below recovers the exact period when steady.
    intervals = np.diff(ticks)
    low, high = np.percentile(intervals, [25, 75])
    tracked_period = float(np.mean(intervals[(intervals >= low) & (intervals <= high)]))
    origin, period, rms, inlier_share = fit_grid(ticks, period_sec=tracked_period)

    def unsteady() -> bool:
        return grid_is_unsteady(rms_sec=rms, inlier_share=inlier_share,
                                drift=tempo_drift(ticks, period_sec=period),
                                slip=grid_slip(ticks, period_sec=period))

    if unsteady():
        # A tracker that slid off the beat and back fails the grid test on a steady
        # song; realigned, its beats may pass it, and then the grid is the better answer.
        realigned = realign_beats(ticks, onsets)
        refit = fit_grid(realigned, period_sec=tracked_period)
        if not grid_is_unsteady(rms_sec=refit[2], inlier_share=refit[3],
                                drift=tempo_drift(realigned, period_sec=refit[1]),
                                slip=grid_slip(realigned, period_sec=refit[1])):
            ticks = realigned
            origin, period, rms, inlier_share = refit
    if (unsteady() and onsets is not None and dj_tempo(60.0 / tracked_period)[1] == 1.0
            and 120.0 / tracked_period <= DJ_MAX_BPM * 1.01
            and ticks_double_time(onsets, ticks)):
        # A tracker counting half time (kick and snare on opposite halves of its beat)
        # that flips between the beat and the off-beat of a syncopated groove moves a
        # quarter of its own period, which its half-beat grid cannot fold; on the real
        # beat's grid (half its period) both phases are grid points. Steady there, the
        # song has a grid (stress 6000/14, house at 170.8: beat F .51 -> 1.0). The grid
        # must pass every test there, drift included (not `grid_is_unsteady`'s tight-grid
        # pass): 70 ms is 40 % of a half-beat at 170, so nearly any beat is an inlier, and
        # a swung pop song drifting 1.1 % (2000/9) had 97 % of them.
        doubled = rescale_beats(ticks, factor=2.0)
        refit = fit_grid(doubled, period_sec=tracked_period / 2.0)
        if (refit[2] < STEADY_MAX_RESIDUAL_SEC and refit[3] >= STEADY_MIN_INLIERS
                and tempo_drift(doubled, period_sec=refit[1]) <= MAX_DRIFT
                and grid_slip(doubled, period_sec=refit[1]) <= MAX_GRID_SLIP):
            ticks, tracked_period = doubled, tracked_period / 2.0
            origin, period, rms, inlier_share = refit
    if unsteady():
        tempo_bpm, factor = dj_tempo(60.0 / tracked_period)
        if (onsets is not None and factor == 1.0 and tempo_bpm * 2.0 <= DJ_MAX_BPM * 1.01
                and ticks_double_time(onsets, ticks)):
            tempo_bpm, factor = tempo_bpm * 2.0, 2.0
        beats = rescale_beats(ticks, factor=factor)
        if factor <= 1.0:  # not just doubled by the drums (see below)
            tempo_bpm, beats = _felt_tempo(onsets, tempo_bpm, beats)
        if kick_on_every_other_beat(onsets, tempo_bpm, beats):
            tempo_bpm, beats = tempo_bpm / 2.0, _keep_strong_half(onsets, beats)
        elif (counted_half_time(onsets, tempo_bpm, beats)
                or counted_every_other_beat(onsets, tempo_bpm, beats)
                or backbeat_on_every_beat(onsets, tempo_bpm, beats)):
            tempo_bpm, beats = tempo_bpm * 2.0, rescale_beats(beats, factor=2.0)
        elif backbeat_on_every_other_beat(onsets, tempo_bpm, beats):
            tempo_bpm, beats = tempo_bpm / 2.0, _keep_strong_half(onsets, beats)
        beats = realign_beats(beats, onsets)
        beats = bridge_weak_beats(beats, onsets)
        if onsets is not None and len(beats) >= 8:
            # A backbeat half a beat off the beats moves them too: a drifting breakbeat
            # over a house bass (more kicks and the bass off the beat) was tracked on
            # the off-beat all through (stress 14000/45).
            backbeat_off = backbeat_overrule(*_on_and_off_beat(onsets, onsets.snare, beats))
            lead = 0.5 if (onsets_overrule(_tick_strengths(onsets, beats, hits=True))
                           or backbeat_off) else (
                swung_offbeat_lead(lambda f: _tick_strengths(onsets, beats, hits=True,
                                                             fraction=f)))
            if lead is not None:
                beats = shift_beats(beats, fraction=lead)
                beats = beats[beats < duration_sec]
            beats = move_offbeat_runs(beats, onsets)
        beats = extend_beats(beats, duration_sec=duration_sec)
        median = float(np.median(intervals))
        regularity = float(np.mean(np.abs(intervals - median) <= REGULAR_INTERVAL * median))
        confidence = pulse_confidence(regularity=regularity, beats_sec=beats, onsets=onsets)
        return TempoEstimate(round(tempo_bpm, 3), confidence, beats, steady=False)

    strengths = hit_strengths = None
    if onsets is not None:
        strengths = _half_phase_strengths(onsets, origin_sec=origin, period_sec=period,
                                          duration_sec=duration_sec)
        hit_strengths = _half_phase_strengths(onsets, origin_sec=origin, period_sec=period,
                                              duration_sec=duration_sec, hits=True)
    origin = beat_phase_origin(ticks, origin_sec=origin, period_sec=period, strengths=strengths,
                               hit_strengths=hit_strengths)
    if onsets is not None:
        on_grid = grid_beats(origin_sec=origin, period_sec=period, duration_sec=duration_sec)
        kick_profile = bar_accent_profile(onsets.kick_hits_or_band, onsets, origin_sec=origin,
                                          period_sec=period, duration_sec=duration_sec)
        if backbeat_overrule(onsets.strength_at(onsets.snare, on_grid),
                             onsets.strength_at(onsets.snare, on_grid + period / 2.0),
                             kick_profile=kick_profile):
            origin += period / 2.0
        lead = swung_offbeat_lead(lambda f: _half_phase_strengths(
            onsets, origin_sec=origin, period_sec=period, duration_sec=duration_sec,
            hits=True, fraction=f))
        origin += 0.0 if lead is None else lead * period
    tempo_bpm, factor = dj_tempo(60.0 / period)
    if onsets is not None and factor == 1.0 and tempo_bpm * 2.0 <= DJ_MAX_BPM * 1.01:
        beat_strengths = _half_phase_strengths(onsets, origin_sec=origin, period_sec=period,
                                               duration_sec=duration_sec)
        contrast = snare_half_contrast(onsets, grid_beats(
            origin_sec=origin, period_sec=period, duration_sec=duration_sec))
        if is_double_time(beat_strengths, snare_contrast=contrast):
            tempo_bpm, factor = tempo_bpm * 2.0, 2.0
    dj_period = period / factor
    if factor < 1.0 and onsets is not None:
        # Half time: of every two tracked beats keep the one with the kick and snare.
        candidates = [origin + k * period for k in range(round(1.0 / factor))]
        scores = [
            sum(relative_strength(env, onsets, grid_beats(
                origin_sec=c, period_sec=dj_period, duration_sec=duration_sec))
                for env in (onsets.kick, onsets.snare))
            for c in candidates
        ]
        origin = candidates[int(np.argmax(scores))]
    beats = grid_beats(origin_sec=origin, period_sec=dj_period, duration_sec=duration_sec)
    # Kick and snare on opposite half-beats (is_double_time) are direct evidence of the
    # faster beat; `_felt_tempo` must not halve it again for its bare subdivisions: a
    # breakbeat at 175 (kick on 1 and the "and" of 1, snare on 2 and 4) has hardly
    # anything between its beats, and halving undid the doubling (stress 10000/13).
    # A factor above 1 from `dj_tempo` leaves half the tempo below the DJ range, where
    # `_felt_tempo` does nothing anyway.
    if factor <= 1.0:
        tempo_bpm, beats = _felt_tempo(onsets, tempo_bpm, beats)
    if kick_on_every_other_beat(onsets, tempo_bpm, beats):
        # Of every two beats of the grid keep the kick's: still a grid, at twice the period.
        tempo_bpm, beats = tempo_bpm / 2.0, _keep_strong_half(onsets, beats)
    elif (counted_half_time(onsets, tempo_bpm, beats)
            or counted_every_other_beat(onsets, tempo_bpm, beats)
            or backbeat_on_every_beat(onsets, tempo_bpm, beats)):
        # The grid through the first beat at half the period covers the song as before.
        tempo_bpm = tempo_bpm * 2.0
        beats = grid_beats(origin_sec=float(beats[0]), period_sec=float(np.median(np.diff(beats)))
                           / 2.0, duration_sec=duration_sec)
    elif backbeat_on_every_other_beat(onsets, tempo_bpm, beats):
        tempo_bpm, beats = tempo_bpm / 2.0, _keep_strong_half(onsets, beats)
    if onsets is not None and len(beats) >= 8:
        # Last, at the tempo and beats chosen: the halving steps keep the half on which
        # the kick band and snare are stronger, the off-beat one under an off-beat bass.
        final_period = 60.0 / tempo_bpm
        profiles = [bar_accent_profile(env, onsets, origin_sec=float(beats[0]),
                                       period_sec=final_period, duration_sec=duration_sec)
                    for env in (onsets.kick_hits_or_band, onsets.snare)]
        if bar_accents_off_the_beat(*profiles):
            beats = grid_beats(origin_sec=float(beats[0]) + final_period / 2.0,
                               period_sec=final_period, duration_sec=duration_sec)
        elif (lead := bar_accents_lead(onsets, beats)) is not None:
            # The bar's strongest kick and snare both off the beat, though not by
            # BAR_ACCENT_RATIO each or not half a beat off: swung or syncopated house that
            # the tracker had wholly on the off-beat. No stress tuning song (864) moves;
            # held-out 21000/15 (swung syncopated house) and 25000/12 (swung half-time
            # house at 84.6) go from beat F 0 to 1.0, and no other held-out song moves.
            beats = grid_beats(origin_sec=float(beats[0]) + lead * final_period,
                               period_sec=final_period, duration_sec=duration_sec)
    confidence = pulse_confidence(regularity=inlier_share, beats_sec=beats, onsets=onsets)
    return TempoEstimate(round(float(tempo_bpm), 3), confidence, beats, steady=True)

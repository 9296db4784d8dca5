"""Song form: section boundaries on phrase-starting downbeats, found where energy, harmony
and timbre change, and labels from each section's energy and place in the song."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.analysis.features import pool_segments
from services.analysis.hooks import hook_spans
from shared.intervals import covered_share

BARS_PER_PHRASE = 4
MIN_CHANGE = 0.3  # phrase distance below which two phrases are one section
CLEAR_CHANGE = 0.75  # phrase distance that is a change even with no repeats to compare
MIN_GAP_RATIO = 2.0  # sorted distances jumping by this factor split repeats from changes
# Another phrase phase must score this much better than the first bar's. At 2.0 it
# overrode 4 of 96 stress tuning songs (seeds 2000, 6000, 10000, 16000; contrast ratios
# 2.01-2.39) and was wrong every time (boundary F@3s .33-.83 -> .80-1.0); the key check
# found the same on all 18 tuning seeds. The real recordings never reach 2.0.
PHASE_PRIOR = 2.5
HOOK_LEVEL = 0.9  # share of the loudest section's energy that makes a chorus or drop
QUIET_LEVEL = 0.65  # below this share a middle section is a breakdown
MIN_BUILD_RISE = 0.08  # energy (0..1) a section must gain across itself to be a build
EDGE_LEVEL = 0.85  # a first/last section quieter than this share is intro/outro
AUDIBLE_ENERGY = 0.05  # energy-curve level (0..1) where the music has begun
PICKUP_SLACK = 0.25  # a bar may begin this share of a bar before the music is heard
REPEAT_SHARE = 0.25  # of the phrase steps that must be near-exact repeats to call it looped
# Songs whose repeats do not stand apart (`optimal_sections`): the cost of one more section
# in median squared phrase steps, and section lengths (in phrases) that cost more...
SECTION_COST = 1.0
LONG_SECTION_PHRASES = 8  # beyond 32 bars
MAX_SECTION_PHRASES = 16
# ...only for songs this long: the cost scale assumes most phrase steps are within a
# section, untrue for a short song (where every phrase may be a change).
MIN_OPTIMAL_PHRASES = 16
VOICE_MIN_SEC = 1.0  # a sung stretch this long starts the singing (not a breath, a blip)
VOICE_GAP_SEC = 0.5
INTRO_MAX_BARS = 16  # quiet music that starts later than this is no longer the intro
BUILD_MAX_BARS = 16  # a longer rise into a hook is a verse, not its build
MERGE_MAX_BARS = 32  # neighbours with one label merge up to this length


@dataclass(frozen=True)
class Section:
    label: str
    start_sec: float
    end_sec: float
    energy: float  # 0..1, mean of the song's normalised energy curve over the section


@dataclass(frozen=True)
class SongForm:
    sections: list[Section]
    phrase_starts_sec: np.ndarray  # every downbeat that starts a 4-bar phrase
    phrase_phase: int = 0  # bars from the first bar to the first phrase start (0..3)
    # True where phrase_phase() found the phrases by contrast, a less sure grid than one
    # counted from the first bar of music
    phase_guessed: bool = False


def complete_bars(downbeats_sec: np.ndarray, *, music_start_sec: float) -> np.ndarray:
    """`downbeats_sec` (increasing, >= 0) with the bars the beat tracker missed at the
    start put back: while a whole bar (at the median bar length) fits between the music's
    start and the first downbeat, with PICKUP_SLACK of a bar to spare for a first
    downbeat a little before the first sound, one more downbeat is prepended (clipped to
    0). Phrases and sections are counted in bars from the first one: a tracker that
    locks on a bar late (a drumless intro, a tempo that drifts) would otherwise put every
    phrase start one bar late."""
    downbeats = np.asarray(downbeats_sec, dtype=np.float64)
    if len(downbeats) < 2:
        return downbeats
    bar_sec = float(np.median(np.diff(downbeats)))
    added = []
    first = float(downbeats[0])
    while bar_sec > 0 and first - bar_sec >= music_start_sec - PICKUP_SLACK * bar_sec:
        first -= bar_sec
        added.append(max(first, 0.0))
        if first <= 0.0:
            break
    return np.concatenate([added[::-1], downbeats])


def bar_features(*, chroma: np.ndarray, log_mel: np.ndarray, rms: np.ndarray,
                 frame_times_sec: np.ndarray, bar_starts_sec: np.ndarray,
                 duration_sec: float) -> np.ndarray:
    """One row per bar (n_bars, 12 + n_mels + 1): unit-norm chroma, timbre (the log-mel
    spectral shape with the bar's level removed, so a fade is not a change of timbre),
    z-scored, and loudness in dB (scaled to count like the other two groups)."""
    bounds = np.append(bar_starts_sec, duration_sec)
    bar_chroma = pool_segments(chroma, frame_times_sec=frame_times_sec, boundaries_sec=bounds)
    bar_chroma /= np.linalg.norm(bar_chroma, axis=1, keepdims=True) + 1e-9
    bar_mel = pool_segments(log_mel, frame_times_sec=frame_times_sec, boundaries_sec=bounds)
    bar_mel -= bar_mel.mean(axis=1, keepdims=True)
    bar_mel = (bar_mel - bar_mel.mean(axis=0)) / (bar_mel.std(axis=0) + 1e-6)
    bar_mel /= np.sqrt(bar_mel.shape[1])
    rms_db = 20.0 * np.log10(
        pool_segments(rms, frame_times_sec=frame_times_sec, boundaries_sec=bounds) + 1e-6)
    loudness = ((rms_db - rms_db.mean()) / 6.0)[:, None]  # 6 dB counts as one unit
    return np.hstack([bar_chroma, bar_mel, loudness])


def phrase_features(features: np.ndarray, *, phase: int, n_full_bars: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Mean bar features of each whole 4-bar phrase starting at bar `phase`.

    Returns (phrases (k, n_features), bar index (k,) where each starts). Only bars below
    `n_full_bars` count: a part phrase at the end (a fade, a last bar cut short) belongs
    to the section before it."""
    starts = np.arange(phase, n_full_bars - BARS_PER_PHRASE + 1, BARS_PER_PHRASE)
    if not len(starts):
        return np.zeros((0, features.shape[1])), starts
    return np.array([features[b:b + BARS_PER_PHRASE].mean(axis=0) for b in starts]), starts


def phrase_distances(features: np.ndarray, *, phase: int, n_full_bars: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Distances between consecutive whole 4-bar phrases starting at bar `phase`.

    Returns (distances (k,), bar index (k,) where each later phrase starts)."""
    phrases, starts = phrase_features(features, phase=phase, n_full_bars=n_full_bars)
    if len(starts) < 2:
        return np.zeros(0), np.zeros(0, dtype=int)
    return np.linalg.norm(np.diff(phrases, axis=0), axis=1), starts[1:]


def phrase_phase(features: np.ndarray, *, n_full_bars: int, first_bar: int = 0) -> int:
    """Bar index (0..3) where the first whole phrase starts.

    With the right phase, repeated phrases line up and match closely while changes of
    section fall between phrases, so the phrase-to-phrase distances split into small and
    large ones; a wrong phase straddles every change and nothing matches closely. Score:
    the contrast q75 / q25 of the distances. The phase of `first_bar` (the first bar that
    holds music: most songs start a phrase there) wins unless another phase is clearly
    better or there are too few phrases to tell."""
    prior = first_bar % BARS_PER_PHRASE
    contrasts = []
    for phase in range(BARS_PER_PHRASE):
        distances, _ = phrase_distances(features, phase=phase, n_full_bars=n_full_bars)
        if len(distances) < 3:
            return prior
        low, high = np.percentile(distances, [25, 75])
        contrasts.append(float(high / max(low, 1e-6)))
    best = int(np.argmax(contrasts))
    return best if contrasts[best] > PHASE_PRIOR * contrasts[prior] else prior


def first_music_bar(downbeats_sec: np.ndarray, *, music_start_sec: float) -> int:
    """How many leading bars are silent: bars the music has not begun in by the last
    PICKUP_SLACK of the bar (a pickup there does not start a phrase). A song whose first
    bar is a silent lead-in counts its phrases from the bar after (real song, Lithium:
    every change of arrangement falls on bars 2, 6, 10, ... from the file's start)."""
    if len(downbeats_sec) < 2:
        return 0
    bar_sec = float(np.median(np.diff(downbeats_sec)))
    lead_in = np.asarray(downbeats_sec) + (1.0 - PICKUP_SLACK) * bar_sec <= music_start_sec
    return int(np.argmin(lead_in)) if not lead_in.all() else 0


def choose_boundaries(distances: np.ndarray) -> np.ndarray:
    """Which phrase-to-phrase distances are section changes: those above the widest
    ratio gap between the sorted distances below CLEAR_CHANGE (repeats of one section sit
    far below changes), and never below MIN_CHANGE; a distance of CLEAR_CHANGE or more
    always counts (a short song may have no repeats to set the gap by). Returns a boolean
    mask like `distances`.

    The clear changes stay out of the gap search: with them, one huge change (a drumless
    intro ending: 3.3 against 0.4-0.6 for verse/chorus changes) made the widest gap the
    one below it and hid every other boundary. Stress seed 2000 (72 songs): boundary
    F@3s 0.898 -> 0.986, drop recall 42/44 -> 44/44; default seed 1000 0.975 -> 1.0."""
    if not len(distances):
        return np.zeros(0, dtype=bool)
    # Clear changes (a drumless intro ending, a breakdown) can lie ten times above the
    # rest; the gap that matters is the one between repeats and the subtler changes.
    ordered = np.sort(np.maximum(distances[distances < CLEAR_CHANGE], 1e-6))
    threshold = MIN_CHANGE
    if len(ordered) >= 2:
        ratios = ordered[1:] / ordered[:-1]
        widest = int(np.argmax(ratios))
        if ratios[widest] >= MIN_GAP_RATIO:
            threshold = max(threshold, float(np.sqrt(ordered[widest] * ordered[widest + 1])))
    return distances >= min(threshold, CLEAR_CHANGE)


def repeats_stand_apart(distances: np.ndarray) -> bool:
    """Whether the phrase distances split into repeats and changes: at least REPEAT_SHARE
    of them are repeats (below MIN_CHANGE) that lie MIN_GAP_RATIO or more below all the
    others. Produced music that loops its phrases does; played music whose every phrase
    differs a little (real songs) does not, and `choose_boundaries` would then cut at
    almost every phrase."""
    ordered = np.sort(np.maximum(distances, 1e-6))
    if len(ordered) < 2:
        return False
    gaps = np.flatnonzero((ordered[1:] / ordered[:-1] >= MIN_GAP_RATIO)
                          & (ordered[:-1] < MIN_CHANGE))
    return bool(len(gaps)) and bool(gaps[-1] + 1 >= REPEAT_SHARE * len(ordered))


def optimal_sections(phrases: np.ndarray) -> np.ndarray:
    """Phrase indices (ascending, > 0) where sections start: the split of the phrase
    sequence (k, n_features) into runs that minimises the spread of each run around its
    mean plus a cost per section (SECTION_COST times the median squared step between
    neighbouring phrases, so it scales with how much this song varies anyway), with
    one-phrase sections and sections over LONG_SECTION_PHRASES paying more. Dynamic
    programming over every split, sections of at most MAX_SECTION_PHRASES."""
    n = len(phrases)
    if n < 2:
        return np.zeros(0, dtype=int)
    steps = np.sum(np.diff(phrases, axis=0) ** 2, axis=1)
    cost = SECTION_COST * max(float(np.median(steps)), 1e-9)
    sums = np.vstack([np.zeros(phrases.shape[1]), np.cumsum(phrases, axis=0)])
    squares = np.concatenate([[0.0], np.cumsum(np.sum(phrases ** 2, axis=1))])
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    back = np.zeros(n + 1, dtype=int)
    for end in range(1, n + 1):
        for start in range(max(0, end - MAX_SECTION_PHRASES), end):
            size = end - start
            total = sums[end] - sums[start]
            spread = squares[end] - squares[start] - float(total @ total) / size
            penalty = cost * (1.0 + (size == 1)
                              + 0.5 * max(0, size - LONG_SECTION_PHRASES))
            if best[start] + spread + penalty < best[end]:
                best[end], back[end] = best[start] + spread + penalty, start
    cuts = []
    end = n
    while end > 0:
        end = back[end]
        cuts.append(end)
    return np.array(sorted(cuts)[1:], dtype=int)


def label_sections(energies: list[float], rises: list[float],
                   bars: list[int] | None = None, hooks: list[bool] | None = None
                   ) -> list[str]:
    """Labels from each section's energy relative to the loudest section and its rise
    (energy gained from its first to its last third), and from position and length in
    bars (`bars`, default: none too long for any label).

    Quiet ends are intro and outro; the loudest middles are hooks: drops when a build
    or breakdown leads into them or the song has a breakdown (dance-music form: the
    hooks are drops), else choruses; quiet middles are breakdowns; a section of at most
    BUILD_MAX_BARS that rises into a hook is its build; a verse-level section between
    later hooks is the bridge; the rest are verses. The intro is the quiet start up to
    INTRO_MAX_BARS: quiet music after that (a long song's sparse first verses) is a
    verse.

    `hooks` (one flag per section, from `hooks.hook_spans`): where the song's recurring
    hook was found, its sections are the hooks whatever their level, and no other
    section is one (a loud verse stays a verse)."""
    n = len(energies)
    if n == 0:
        return []
    bars = list(bars) if bars is not None else [0] * n
    bars_before = np.concatenate([[0], np.cumsum(bars)])
    if n == 1:
        return ["verse"]
    peak = max(energies) or 1.0
    level = [e / peak for e in energies]
    hook_flags = list(hooks) if hooks is not None and any(hooks) else None
    hooks_known = hook_flags is not None
    if n == 2:
        return ["verse", "outro" if level[1] < QUIET_LEVEL else "chorus"]
    labels = []
    for i in range(n):
        if i == 0 and level[i] < EDGE_LEVEL:
            labels.append("intro")
        elif i == n - 1 and level[i] < EDGE_LEVEL:
            labels.append("outro")
        elif hook_flags[i] if hook_flags is not None else level[i] >= HOOK_LEVEL:
            labels.append("chorus")
        elif level[i] < QUIET_LEVEL and 0 < i < n - 1:
            # Quiet before any hook is more intro; after one it is a breakdown. A song
            # whose hook is known had its intro cut where the singing starts: what
            # follows is its first verse, however quiet.
            labels.append("breakdown" if "chorus" in labels else
                          "intro" if set(labels) == {"intro"} and not hooks_known
                          and bars_before[i] < INTRO_MAX_BARS else "verse")
        else:
            labels.append("verse")
    hooks_seen = 0
    for i in range(1, n - 1):
        next_is_hook = labels[i + 1] == "chorus"
        short = bars[i] <= BUILD_MAX_BARS
        if (labels[i] in ("verse", "breakdown") and next_is_hook and short
                and rises[i] >= MIN_BUILD_RISE):
            labels[i] = "build"
        elif labels[i] == "verse" and next_is_hook and hooks_seen >= 2:
            labels[i] = "bridge"
        hooks_seen += labels[i] == "chorus"
    for i in range(n - 2, 0, -1):
        # A build often starts a phrase earlier, already rising: the first half of its
        # snare roll. It joins the build (and is merged with it).
        if (labels[i] == "verse" and labels[i + 1] == "build" and rises[i] > 0.0
                and energies[i] < energies[i + 1] and bars[i] + bars[i + 1] <= BUILD_MAX_BARS):
            labels[i] = "build"
        elif labels[i] == "verse" and labels[i + 1] == "bridge":
            labels[i] = "bridge"  # the whole verse-level stretch between late hooks
    for i in range(n - 1, 0, -1):
        # Quiet after the last hook is the outro beginning, not a breakdown: a breakdown
        # leads back into the music.
        if labels[i] == "breakdown" and all(lab in ("breakdown", "outro")
                                            for lab in labels[i + 1:]):
            labels[i] = "outro"
    # Dance-music form (a breakdown, or a hook that a build or breakdown leads into): its
    # hooks are all drops, the first one straight after the intro too (it was left a
    # "chorus" when only a later drop had a build before it).
    dance_form = "breakdown" in labels or any(
        labels[i] == "chorus" and labels[i - 1] in ("build", "breakdown") for i in range(1, n))
    for i in range(1, n):
        if labels[i] == "chorus" and dance_form:
            labels[i] = "drop"
    return labels


def hook_phrase_spans(features: np.ndarray, phrase_bars: np.ndarray) -> list[tuple[int, int]]:
    """The hook's occurrences (`hooks.hook_spans` of the bar features' chroma and
    loudness) as phrase-index spans [start, end) on the phrase grid `phrase_bars` (bar
    index of each phrase start), each edge at the nearest phrase start, a tie going to
    the later one (a chorus's lead-in bar recurs with it but belongs to the verse);
    an end past the last phrase is len(phrase_bars). Spans that snap to nothing are
    dropped."""
    if not len(phrase_bars):
        return []
    grid = np.asarray(phrase_bars, dtype=np.float64)
    last_bar = grid[-1] + BARS_PER_PHRASE

    def nearest(bar: int) -> int:
        if bar >= last_bar:
            return len(grid)
        return int(np.argmin(np.abs(grid - bar) - 1e-3 * (grid > bar)))

    spans = []
    for start, end in hook_spans(features[:, :12], features[:, -1]):
        first, stop = nearest(start), nearest(end)
        if stop > first:
            spans.append((first, stop))
    return spans


def first_voice_sec(vocal_intervals_sec: list[tuple[float, float]]) -> float | None:
    """Where the singing starts: the first vocal interval of VOICE_MIN_SEC or more (once
    gaps under VOICE_GAP_SEC are closed); None for a song that does not sing."""
    start = end = None
    for begin, finish in sorted(vocal_intervals_sec):
        if end is not None and begin - end < VOICE_GAP_SEC:
            end = max(end, finish)
        else:
            start, end = begin, finish
        if end - start >= VOICE_MIN_SEC:
            return float(start)
    return None


def cut_where_singing_starts(cuts: np.ndarray, phrase_bars: np.ndarray,
                              downbeats_sec: np.ndarray, voice_sec: float | None,
                              bar_sec: float) -> np.ndarray:
    """`cuts` (phrase indices) with one more where the singing starts, when it starts
    after the first phrase of the first section: the intro a DJ mixes over ends there.
    A voice up to a beat early (a pickup) starts the phrase that follows."""
    if voice_sec is None or not len(phrase_bars):
        return cuts
    starts_sec = downbeats_sec[phrase_bars]
    index = int(np.searchsorted(starts_sec, voice_sec + 0.25 * bar_sec, side="right")) - 1
    first_cut = int(cuts[0]) if len(cuts) else len(phrase_bars)
    if 1 <= index < first_cut:
        return np.concatenate([[index], cuts]).astype(int)
    return cuts


def segment_song(*, downbeats_sec: np.ndarray, duration_sec: float, chroma: np.ndarray,
                 log_mel: np.ndarray, rms: np.ndarray, frame_times_sec: np.ndarray,
                 energy_curve: np.ndarray, energy_hop_sec: float,
                 vocal_intervals_sec: list[tuple[float, float]] | None = None) -> SongForm:
    """Sections covering [0, duration_sec) contiguously, each internal boundary on a
    phrase-starting downbeat. Frame features share `frame_times_sec`; `energy_curve`
    (values 0..1 every `energy_hop_sec`) gives each section's energy; in a long song
    without exact repeats, `vocal_intervals_sec` ends the first section where the
    singing starts."""
    downbeats = np.asarray(downbeats_sec, dtype=np.float64)
    downbeats = downbeats[(downbeats >= 0) & (downbeats < duration_sec)]
    audible = np.flatnonzero(np.asarray(energy_curve) >= AUDIBLE_ENERGY)
    music_start_sec = float(audible[0] * energy_hop_sec if len(audible) else 0.0)
    downbeats = complete_bars(downbeats, music_start_sec=music_start_sec)
    if len(downbeats) < 2:
        energy = float(np.mean(energy_curve)) if len(energy_curve) else 0.0
        return SongForm([Section("verse", 0.0, duration_sec, energy)], downbeats[:1], 0)
    features = bar_features(chroma=chroma, log_mel=log_mel, rms=rms,
                            frame_times_sec=frame_times_sec, bar_starts_sec=downbeats,
                            duration_sec=duration_sec)
    bar_sec = float(np.median(np.diff(downbeats)))
    # A bar is whole when it ends before the audio does (1 % slack for timing jitter).
    n_full_bars = int(np.sum(downbeats + 0.99 * bar_sec <= duration_sec))
    first_bar = first_music_bar(downbeats, music_start_sec=music_start_sec)
    phase = phrase_phase(features, n_full_bars=n_full_bars, first_bar=first_bar)
    phrases, phrase_bars = phrase_features(features, phase=phase, n_full_bars=n_full_bars)
    distances = np.linalg.norm(np.diff(phrases, axis=0), axis=1)
    hooks_sec: list[tuple[float, float]] = []
    if len(phrases) < MIN_OPTIMAL_PHRASES or repeats_stand_apart(distances):
        boundary_bars = phrase_bars[1:][choose_boundaries(distances)]
    else:
        cuts = cut_where_singing_starts(
            optimal_sections(phrases), phrase_bars, downbeats,
            first_voice_sec(vocal_intervals_sec or []), bar_sec)
        # Played music: its chorus, where one recurs, is a section of its own even when
        # it is no louder than the verses (pop-rock mixes often are not).
        hook_cuts = hook_phrase_spans(features, phrase_bars)
        cuts = np.unique(np.concatenate([cuts, [i for span in hook_cuts for i in span
                                                if 0 < i < len(phrase_bars)]])).astype(int)
        ends_sec = np.append(downbeats[phrase_bars], duration_sec)
        hooks_sec = [(float(ends_sec[a]), float(ends_sec[b])) for a, b in hook_cuts]
        boundary_bars = phrase_bars[cuts]
    starts = [0.0] + [float(downbeats[b]) for b in boundary_bars]
    labels, energies = _label(starts, duration_sec, energy_curve, energy_hop_sec, bar_sec,
                              hooks_sec)
    # Two neighbours with one label are one section that changed on the way (a chorus
    # whose second half adds a voice, a build whose roll speeds up): merge, relabel; not
    # past MERGE_MAX_BARS (a long song's sparse first minutes are verses, not one intro).
    for _ in range(len(starts)):
        kept = _merge_alike(starts, labels, duration_sec, bar_sec)
        if len(kept) == len(starts):
            break
        starts = kept
        labels, energies = _label(starts, duration_sec, energy_curve, energy_hop_sec, bar_sec,
                                  hooks_sec)
    ends = [*starts[1:], duration_sec]
    sections = [Section(label, round(start, 4), round(end, 4), round(energy, 4))
                for label, start, end, energy in zip(labels, starts, ends, energies, strict=True)]
    return SongForm(sections, downbeats[phase::BARS_PER_PHRASE], phase,
                    phase_guessed=phase != first_bar % BARS_PER_PHRASE)


def _label(starts_sec: list[float], duration_sec: float, energy_curve: np.ndarray,
           energy_hop_sec: float, bar_sec: float,
           hooks_sec: list[tuple[float, float]] | None = None
           ) -> tuple[list[str], list[float]]:
    """(labels, energies) of the sections starting at `starts_sec`; a section at least
    half inside `hooks_sec` (the hook's occurrences, seconds) is a hook."""
    ends = [*starts_sec[1:], duration_sec]
    spans = [_curve_span(energy_curve, energy_hop_sec, start, end)
             for start, end in zip(starts_sec, ends, strict=True)]
    energies = [float(np.mean(span)) for span in spans]
    bars = _bar_counts(starts_sec, duration_sec, bar_sec)
    hooks = None
    if hooks_sec:
        hooks = [covered_share(start, end, hooks_sec) >= 0.5
                 for start, end in zip(starts_sec, ends, strict=True)]
    return label_sections(energies, [_rise(span) for span in spans], bars, hooks), energies


def _bar_counts(starts_sec: list[float], duration_sec: float, bar_sec: float) -> list[int]:
    ends = [*starts_sec[1:], duration_sec]
    return [round((end - start) / bar_sec) for start, end in zip(starts_sec, ends, strict=True)]


def _merge_alike(starts_sec: list[float], labels: list[str], duration_sec: float,
                 bar_sec: float) -> list[float]:
    """Section starts with each section that has its predecessor's label folded into it,
    while the merged section stays within MERGE_MAX_BARS."""
    bars = _bar_counts(starts_sec, duration_sec, bar_sec)
    kept, run_bars = [starts_sec[0]], bars[0]
    for i in range(1, len(starts_sec)):
        if labels[i] == labels[i - 1] and run_bars + bars[i] <= MERGE_MAX_BARS:
            run_bars += bars[i]
        else:
            kept.append(starts_sec[i])
            run_bars = bars[i]
    return kept


def _curve_span(curve: np.ndarray, hop_sec: float, start_sec: float, end_sec: float
                ) -> np.ndarray:
    """The energy-curve values (at least one) inside [start_sec, end_sec)."""
    if not len(curve):
        return np.zeros(1)
    first = min(int(start_sec / hop_sec), len(curve) - 1)
    last = max(first + 1, int(np.ceil(end_sec / hop_sec)))
    return np.clip(curve[first:last], 0.0, 1.0)


def _rise(span: np.ndarray) -> float:
    """Mean energy of the last third minus that of the first third."""
    third = max(1, len(span) // 3)
    return float(span[-third:].mean() - span[:third].mean())

"""The hook: the passage a song repeats most (its chorus), found by harmony alone.

A chorus comes back three or four times with the same chords and melody, while verses
reuse the chords under new words and a looped production repeats everything. So a bar
belongs to the hook when the four bars from it recur, as a sequence, at least
`MIN_RECURRENCES` more times at least `MIN_LAG_BARS` away (farther than a section's own
loop), and the hook is found only when such bars are the exception (at most
`MAX_HOOK_SHARE` of the song): a song that loops one progression has no hook to single out.

Similarity is the cosine of bar chroma after removing the song's mean chroma (raw chroma
is all positive, so any two bars of one key look alike), averaged along the diagonal
over four bars: a passage matches when its bars match in order.

Real song, On the run (pop-rock, 92 BPM, four choruses "On the run, down a one way
street" at 31, 83, 135 and 242 s by the karaoke chart): hook bars 11-15, 30-35, 51-55 and
93-96, their four-bar windows covering each chorus; the verses (same band, new words,
loudness within 1 dB of the choruses) match each other at 0.5-0.8 and stay out.
"""

from __future__ import annotations

import numpy as np

SEQUENCE_BARS = 4  # bars compared in order
MATCH = 0.8  # mean centred-chroma cosine over the sequence that counts as a recurrence
MIN_LAG_BARS = 12  # a recurrence this far away or more (a section's own loop is nearer)
MIN_RECURRENCES = 2  # the passage sounds at least three times in all
MIN_RUN_BARS = 3  # hook bars in a row that make one occurrence
MAX_HOOK_SHARE = 0.45  # above this share of bars the song loops, with no hook to find
MIN_OCCURRENCES = 2  # runs of hook bars (occurrences) that must be found, at the least


def sequence_similarity(bar_chroma: np.ndarray, *, sequence_bars: int = SEQUENCE_BARS
                        ) -> np.ndarray:
    """(m, m) similarity of the `sequence_bars`-bar passages starting at each bar (m = n
    bars - sequence_bars + 1): the mean cosine of their bars' centred chroma, in order."""
    chroma = np.asarray(bar_chroma, dtype=np.float64)
    centred = chroma - chroma.mean(axis=0)
    centred /= np.linalg.norm(centred, axis=1, keepdims=True) + 1e-9
    bar_similarity = centred @ centred.T
    m = len(chroma) - sequence_bars + 1
    if m <= 0:
        return np.zeros((0, 0))
    total = np.zeros((m, m))
    for q in range(sequence_bars):
        total += bar_similarity[q:q + m, q:q + m]
    return total / sequence_bars


def recurrences(similarity: np.ndarray, *, match: float = MATCH,
                min_lag_bars: int = MIN_LAG_BARS,
                sequence_bars: int = SEQUENCE_BARS) -> np.ndarray:
    """For each passage start, how many other places (at least `min_lag_bars` away, and
    `sequence_bars` apart from each other) the passage recurs."""
    m = len(similarity)
    counts = np.zeros(m, dtype=int)
    for i in range(m):
        hits = [j for j in np.flatnonzero(similarity[i] >= match) if abs(j - i) >= min_lag_bars]
        last = -sequence_bars
        for j in hits:
            if j - last >= sequence_bars:
                counts[i] += 1
                last = j
    return counts


def hook_spans(bar_chroma: np.ndarray, bar_loudness: np.ndarray) -> list[tuple[int, int]]:
    """Bar spans [start, end) of the hook's occurrences, in order; [] when the song has no
    hook that stands out (too short, nothing recurs often enough, or nearly everything
    does). `bar_loudness`: one level per bar (any scale); the hook must be at least as
    loud as the song's median bar, as a chorus is."""
    n = len(bar_chroma)
    similarity = sequence_similarity(bar_chroma)
    if len(similarity) < MIN_LAG_BARS + SEQUENCE_BARS:
        return []
    hook = recurrences(similarity) >= MIN_RECURRENCES
    if hook.mean() > MAX_HOOK_SHARE:
        return []
    spans = []
    start = None
    for i, is_hook in enumerate([*hook, False]):
        if is_hook and start is None:
            start = i
        elif not is_hook and start is not None:
            if i - start >= MIN_RUN_BARS:
                spans.append((start, min(n, i - 1 + SEQUENCE_BARS)))
            start = None
    if len(spans) < MIN_OCCURRENCES:
        return []
    loudness = np.asarray(bar_loudness, dtype=np.float64)
    hook_level = np.mean(np.concatenate([loudness[a:b] for a, b in spans]))
    return spans if hook_level >= np.median(loudness) else []

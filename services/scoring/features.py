"""The per-song features scoring needs, as columns (one numpy array per feature).

Both endpoints build a `SongTable`: `/calculate-mashability` from its AnalysisResults,
`/find-mashups` from library rows (AnalysisResult-like dicts in which only songId, bpm and
key or camelot are required). Validation happens here, once per row; every error is an
`Unprocessable` (422) whose message names the row, so a caller can fix its library.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.scoring.rhythmic import style_code_of, tempo_tolerance_percent
from services.scoring.spectral import BANDS, normalise_profiles, profile_values
from services.scoring.vocal import ACTIVITY_BINS, activity_matrix
from shared.errors import Unprocessable
from shared.harmony import key_index

MAX_BPM = 1000.0


@dataclass(frozen=True)
class SongTable:
    """Features of n songs; row i of every array is song `ids[i]`.

    key_index (n,) int64 0..23; bpm (n,) BPM; energy (n,) 0..1 or NaN; key_confidence
    (n,) 0..1 (0 when unknown); spectral (n, 5) band shares or NaN rows; activity
    (n, ACTIVITY_BINS) float32 vocal activity; vocal_share (n,) or NaN when unknown;
    tolerance (n,) tempo tolerance in percent (rhythmic.tempo_tolerance_percent), from
    the style its `genre` names (genre: optional names, None when not given) or else
    inferred from tempo and energy.
    """

    ids: list[str]
    key_index: np.ndarray
    bpm: np.ndarray
    energy: np.ndarray
    key_confidence: np.ndarray
    spectral: np.ndarray
    activity: np.ndarray
    vocal_share: np.ndarray
    tolerance: np.ndarray
    genre: list[str | None]

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, order: np.ndarray) -> SongTable:
        """The table with its rows reordered (or selected) by the index array `order`."""
        return SongTable(
            ids=[self.ids[i] for i in order.tolist()], key_index=self.key_index[order],
            bpm=self.bpm[order], energy=self.energy[order],
            key_confidence=self.key_confidence[order], spectral=self.spectral[order],
            activity=self.activity[order], vocal_share=self.vocal_share[order],
            tolerance=self.tolerance[order], genre=[self.genre[i] for i in order.tolist()],
        )

    def index_of(self, song_id: str) -> int:
        try:
            return self.ids.index(song_id)
        except ValueError:
            raise Unprocessable(f"query {song_id!r} is not a songId in the library.",
                                code="unknown_query") from None


@functools.lru_cache(maxsize=4096)
def _cached_key_index(text: str) -> int:
    return key_index(text)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_unit(row: Mapping[str, Any], name: str) -> float:
    """An optional 0..1 field as float, NaN when absent; ValueError when invalid."""
    value = row.get(name)
    if value is None:
        return math.nan
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number from 0 to 1")
    return float(value)


def _key_of(row: Mapping[str, Any]) -> int:
    for field in ("key", "camelot"):
        value = row.get(field)
        if isinstance(value, str) and value.strip():
            try:
                return _cached_key_index(value)
            except ValueError:
                continue
    given = {f: row[f] for f in ("key", "camelot") if f in row}
    raise ValueError(
        f"needs a key such as 'A minor' or a camelot code such as '8A' (got {given or 'none'})"
    )


_INTERVALS_SHAPE = "vocal_intervals must be a list of [start_sec, end_sec] pairs"


def _check_vocal_intervals(intervals: Any) -> None:
    """Strict per-row check, used to name the culprit when the bulk check fails."""
    if not isinstance(intervals, list | tuple):
        raise ValueError(_INTERVALS_SHAPE)
    for item in intervals:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ValueError(_INTERVALS_SHAPE)
        start, end = item
        if not (_is_number(start) and _is_number(end)) or not 0 <= start <= end:
            raise ValueError("vocal_intervals need numbers with 0 ≤ start_sec ≤ end_sec")


def _row_error(label: str, index: int, row: Any, message: str) -> Unprocessable:
    where = f"{label}[{index}]"
    song_id = row.get("songId") if isinstance(row, Mapping) else None
    if isinstance(song_id, str):
        where += f" (songId {song_id!r})"
    return Unprocessable(f"{where}: {message}.", code="invalid_library_row")


def _numeric_rows(values: list[Any], width: int) -> np.ndarray | None:
    """values as a float array (len, width) if every entry is a finite number ≥ 0, else None.

    One numpy conversion for the whole library (per-row checks cost ~10× more); None
    sends the caller to the strict per-row check, which names the bad row.
    """
    try:
        array = np.array(values) if values else np.empty((0, width))
    except (TypeError, ValueError):  # ragged
        return None
    if array.dtype.kind not in "fiu" or array.ndim != 2 or array.shape[1] != width:
        return None
    array = array.astype(np.float64)
    return array if np.all(np.isfinite(array)) and np.all(array >= 0) else None


def _spectral_matrix(
    rows: Sequence[Any], row_index: list[int], raw: list[list[Any]], n: int, label: str
) -> np.ndarray:
    spectral = np.full((n, len(BANDS)), np.nan)
    values = _numeric_rows(raw, len(BANDS))
    if values is None:
        for index in row_index:
            try:
                profile_values(rows[index]["spectral_profile"])
            except ValueError as exc:
                raise _row_error(label, index, rows[index], str(exc)) from None
        raise Unprocessable(f"{label}: spectral_profile values must be numbers ≥ 0.")
    if row_index:
        spectral[row_index] = normalise_profiles(values)
    return spectral


def _activity(
    rows: Sequence[Any], row_index: list[int], raw: list[Any], duration: np.ndarray, n: int,
    label: str,
) -> np.ndarray:
    counts = np.array([len(intervals) for intervals in raw], dtype=np.int64)
    spans = _numeric_rows(list(itertools.chain.from_iterable(raw)), 2)
    if spans is None or np.any(spans[:, 1] < spans[:, 0]):
        for index in row_index:
            try:
                _check_vocal_intervals(rows[index]["vocal_intervals"])
            except ValueError as exc:
                raise _row_error(label, index, rows[index], str(exc)) from None
        raise Unprocessable(f"{label}: vocal_intervals must be [start_sec, end_sec] pairs.")
    owner = np.repeat(np.array(row_index, dtype=np.int64), counts)
    # Without a duration, the vocals' own span stands in for it.
    span_end = np.zeros(n)
    np.maximum.at(span_end, owner, spans[:, 1])
    duration = np.where(np.isnan(duration), np.where(span_end > 0, span_end, 1.0), duration)
    return activity_matrix(spans[:, 0] / duration[owner], spans[:, 1] / duration[owner], owner,
                           row_count=n, bins=ACTIVITY_BINS)


def table_from_rows(rows: Sequence[Mapping[str, Any]], *, label: str = "library") -> SongTable:
    """Validate rows and build their SongTable; raises Unprocessable naming the bad row.

    Scalars are checked per row; band shares and vocal intervals are collected and checked
    in bulk (a strict per-row pass names the culprit when the bulk check fails).
    """
    n = len(rows)
    ids: list[str] = []
    keys = np.empty(n, dtype=np.int64)
    bpm = np.empty(n, dtype=np.float64)
    energy = np.empty(n, dtype=np.float64)
    confidence = np.empty(n, dtype=np.float64)
    duration = np.full(n, np.nan)
    profile_rows: list[int] = []
    profiles: list[list[Any]] = []
    vocal_rows: list[int] = []
    intervals: list[Any] = []
    seen: dict[str, int] = {}
    genres: list[str | None] = []
    style = np.full(n, -1, dtype=np.int8)
    for index, row in enumerate(rows):
        try:
            if not isinstance(row, Mapping):
                raise ValueError("must be an object")
            song_id = row.get("songId")
            if not isinstance(song_id, str) or not song_id:
                raise ValueError("needs a non-empty string songId")
            if song_id in seen:
                raise ValueError(f"repeats the songId of {label}[{seen[song_id]}]")
            tempo = row.get("bpm")
            if not _is_number(tempo) or not 0 < tempo <= MAX_BPM:
                raise ValueError(f"needs bpm, a number above 0 and at most {MAX_BPM:g}")
            keys[index] = _key_of(row)
            energy[index] = _optional_unit(row, "energy")
            genre = row.get("genre")
            if genre is not None and not isinstance(genre, str):
                raise ValueError("genre must be a string such as 'house' or 'hip-hop'")
            style[index] = style_code_of(genre)
            confidence[index] = _optional_unit(row, "key_confidence")
            profile = row.get("spectral_profile")
            if profile is not None:
                if not isinstance(profile, Mapping):
                    raise ValueError(f"spectral_profile must be an object with the bands "
                                     f"{', '.join(BANDS)}")
                profile_rows.append(index)
                profiles.append([profile.get(band) for band in BANDS])
            vocals = row.get("vocal_intervals")
            if vocals is not None:
                if not isinstance(vocals, list | tuple):
                    raise ValueError(_INTERVALS_SHAPE)
                vocal_rows.append(index)
                intervals.append(vocals)
                length = row.get("duration_sec")
                if length is not None:
                    if not _is_number(length) or length <= 0:
                        raise ValueError("duration_sec must be a positive number")
                    duration[index] = length
        except ValueError as exc:
            raise _row_error(label, index, row, str(exc)) from None
        seen[song_id] = index
        ids.append(song_id)
        genres.append(genre or None)
        bpm[index] = tempo
    activity = _activity(rows, vocal_rows, intervals, duration, n, label)
    known_vocals = np.zeros(n, dtype=bool)
    known_vocals[vocal_rows] = True
    share = np.where(known_vocals, activity.mean(axis=1, dtype=np.float64), np.nan)
    return SongTable(
        ids=ids, key_index=keys, bpm=bpm, energy=energy,
        key_confidence=np.nan_to_num(confidence, nan=0.0),
        spectral=_spectral_matrix(rows, profile_rows, profiles, n, label),
        activity=activity, vocal_share=share,
        tolerance=tempo_tolerance_percent(bpm, energy, style), genre=genres,
    )


def table_from_analyses(analyses: Sequence[Any]) -> SongTable:
    """SongTable of AnalysisResult models (or dicts of that shape)."""
    rows = [a.model_dump() if hasattr(a, "model_dump") else a for a in analyses]
    return table_from_rows(rows, label="analyses")

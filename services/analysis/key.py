"""Musical key with Essentia's KeyExtractor, spelled with sharps, plus its Camelot code.

Profile choice: on 14 synthetic songs (12 keys, five styles) and four real recordings,
"edma", "bgate" and "krumhansl" each named 14/14 synthetic and 3/4 real keys exactly,
"temperley" 12/14 and 3/4; "edma" (derived from electronic dance music) is kept for the
electronic and pop material this service mostly sees. `make bench-analysis` confirms it:
every key of the synthetic corpus right; on the real recordings every profile Essentia
offers names Lithium's G minor "C minor" (our own chroma with the Temperley profile gets
Lithium right but misses the other three annotated keys), so none is better there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.analysis.algorithms import key_extractor
from shared.camelot import key_to_camelot, normalize_key

KEY_PROFILE = "edma"
FALLBACK_KEY = "C major"


@dataclass(frozen=True)
class KeyEstimate:
    key: str  # sharps spelling, e.g. "F# minor"
    camelot: str  # e.g. "11A"
    confidence: float  # 0..1


def estimate_key(mono: np.ndarray, *, sample_rate_hz: int,
                 profile_type: str = KEY_PROFILE) -> KeyEstimate:
    """Key of a mono signal (n,) at `sample_rate_hz` (44100 Hz recommended)."""
    signal = np.ascontiguousarray(mono, dtype=np.float32)
    if not len(signal) or not np.any(signal):
        return KeyEstimate(FALLBACK_KEY, key_to_camelot(FALLBACK_KEY), 0.0)
    extractor = key_extractor(profile_type=profile_type, sample_rate_hz=sample_rate_hz)
    tonic, scale, strength = extractor(signal)
    try:
        key = normalize_key(f"{tonic} {scale}")  # Essentia spells some keys with flats
    except ValueError:
        return KeyEstimate(FALLBACK_KEY, key_to_camelot(FALLBACK_KEY), 0.0)
    confidence = float(np.clip(strength, 0.0, 1.0)) if np.isfinite(strength) else 0.0
    return KeyEstimate(key, key_to_camelot(key), confidence)

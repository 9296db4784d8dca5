"""Steady pitch: an instrument holding the centre where the vocal tests saw a lead.

A voice's pitch never holds still: vibrato, drift, scoops and glides move it by tens of
cents within a note, while keys, organs, synth leads and guitars hold theirs. So the
predominant pitch (Essentia's PredominantPitchMelodia, Salamon & Gómez 2012) of the
centred harmonic band the vocal tests read is followed through each interval they passed,
and every stretch of it without a pitch jump (`pitch_segments`) gets a wobble: the spread
(cents) of its pitch about a straight line through it, so that a slow glide does not
count (as the separation service's steady-pitch test does, but as a median absolute
deviation: Melodia's 10-cent bins flicker at a note's edges). An interval whose wobble is
under STEADY_CENTS on three quarters of its pitched frames holds a steady instrument, or
a voice the tracker lost to one.

Which of the two: on the stress corpus the tracker often follows a loud keyboard or
synth through a quiet voice's notes (leads at -6 to -9 dB), so one steady interval says
little (dropping every one of them: tuning seeds 2000-7000, 10000, 11000 +0.005 frame
accuracy a seed, but 19 songs worse and seeds 4000 / 7000 -0.008 / -0.004). A song whose
"lead" is an instrument, though, is steady through most of it: steady intervals hold
0.62-1.0 of what the tests found in 21 of the 24 instrumental songs found there (0.1-0.3
in the other 3), against at most 0.37 in a sung song (a -8 dB lead) and 0.00 in the real
recordings. So they are dropped only where they hold at least STEADY_SONG_SHARE of it
(`steady_lead_frames`): frame accuracy on those seeds 0.9099 -> 0.9177, 19 instrumental
songs better (0.61-0.99 -> 0.85-1.0), none worse, real recordings unchanged (0.869).
With a 16 ms hop (8-frame segments) 0.9172. Offline (32 ms frames, gain a seed against
+0.0094 as chosen): 4 / 6 / 7 cents +0.0082 / +0.0104 / +0.0097, but from 6 cents a sung
song's steady share reaches 0.58 (3 songs worse at 7); the standard deviation about the
line (16 ms hop, 5-8 cents) +0.0042-0.0084; fitting the line through the median step, or
leaving out each segment's first and last frame, gains as much but brings sung and
instrumental songs' steady shares together (0.57-0.62 against 0.53-0.55).

Tried before it and rejected: the wobble, the vibrato-band pitch modulation and the
distance from the semitone grid as per-frame cues (ROC AUC of sung against not, on the
frames the vocal tests passed: 0.78-0.84 on stress seed 2000, 0.54-0.62 on the real
recordings; on the frames they failed 0.71-0.76 and 0.59-0.65, the Lithium excerpt
0.25-0.28). Vetoing steady frames loses at every threshold (real -0.002 to -0.13),
admitting wobbly ones that pass a looser level and share test gains at most 0.005
(synthetic) and 0.001 (real). On the real songs the tracker follows the voice (octave
aside) on only 0.60 of Lithium's and 0.50 of Potassium's sung frames (against their vocal
stems), and their false alarms are runs under 1 s at the phrases' edges, where both
contours are the voice's or its reverb's. Admitting whole runs (0.5 s or more) that
pass the share test but not the level one (down to 14-22 dB under the loudest) where
their pitch wobbles (median 10-20 cents): synthetic +0.001 at most, real -0.012 to -0.055.
Judging the pan and side paths' leads by the centre's pitch as well gains nothing more
(+0.0094 a seed offline either way) and lets a sung song's steady share reach 0.53.

Cheap enough: the band is resynthesised at 8 kHz straight from its 16 kHz spectrum (the
band ends at 4 kHz) and only around the passing intervals, and Melodia runs there with
64 ms frames at a 32 ms hop (about 500x realtime on a full song's centred band, against
60-75x at 22.05 kHz / 2048 / 256, which followed the real voices no better: the pitch
agreed with Lithium's vocal stem, octave aside, on 0.61 of its sung frames).
"""

from __future__ import annotations

import numpy as np

CONTOUR_RATE_HZ = 8000
MELODY_FRAME_SAMPLES = 512  # 64 ms: long enough for 10-cent bins, short enough for vibrato
MELODY_HOP_SAMPLES = 256  # 32 ms: a 5-7 Hz vibrato still gets 4.5-6 frames a cycle
MIN_F0_HZ = 80.0
MAX_F0_HZ = 1000.0
JUMP_CENTS = 100.0  # a frame-to-frame step this large starts a new segment
MAD_TO_STD = 1.4826  # a normal spread's median absolute deviation to its std
MIN_SEGMENT_FRAMES = 4  # 0.13 s: shorter segments are too short to tell
STEADY_CENTS = 5.0  # a voice's segments wobble 10-60 cents; held notes 0-3
STEADY_QUANTILE = 75.0  # ...on this percentile of an interval's pitched frames
MIN_PITCHED_SHARE = 0.2  # of an interval's melody frames, to judge it at all
STEADY_SONG_SHARE = 0.55  # steady intervals dropped where they hold this share of the lead


def band_signal(spec_band: np.ndarray, band_bins: np.ndarray, *, n_fft: int,
                hop_samples: int, sample_rate_hz: int, frames: np.ndarray) -> np.ndarray:
    """Overlap-add resynthesis at CONTOUR_RATE_HZ of a band of a centred Hann STFT.

    spec_band: complex (n_band_bins, n_frames), the STFT rows `band_bins` (indices into
    the n_fft // 2 + 1 bins at `sample_rate_hz`, all below CONTOUR_RATE_HZ / 2); frames
    (n_frames,) bool: only these are resynthesised, the rest stay silent. The rows keep
    their frequencies in a shorter inverse FFT, which resamples for free. Returns (n,)
    float32, sample 0 at the time of frame 0's centre."""
    factor = sample_rate_hz // CONTOUR_RATE_HZ
    n_out, hop_out = n_fft // factor, hop_samples // factor
    if n_out != 2 * hop_out or band_bins.max(initial=0) > n_out // 2:
        raise ValueError("needs a 50 % overlap and a band below the new Nyquist")
    n_frames = spec_band.shape[1]
    spectra = np.zeros((n_frames, n_out // 2 + 1), dtype=np.complex64)
    spectra[:, band_bins] = np.where(frames[None, :], spec_band, 0.0).T
    # A Hann window at 50 % overlap sums to one, so plain overlap-add restores the signal.
    # The shorter inverse FFT divides by n_out, not n_fft: scale back to the signal's level.
    pieces = (np.fft.irfft(spectra, n=n_out, axis=1) / factor).astype(np.float32)
    blocks = np.zeros((n_frames + 1, hop_out), dtype=np.float32)
    blocks[:-1] += pieces[:, :hop_out]
    blocks[1:] += pieces[:, hop_out:]
    # Frame i spans [i - 1, i + 1) hops around its centre: drop the half frame before 0.
    return blocks.ravel()[hop_out:]


def melody_hz(signal: np.ndarray) -> np.ndarray:
    """Predominant pitch (Hz, 0 = none) per MELODY_HOP_SAMPLES of `signal` (n,) at
    CONTOUR_RATE_HZ: (n_melody_frames,) float64."""
    import essentia.standard as es  # imported here: Essentia's import is slow

    if signal.size < MELODY_FRAME_SAMPLES or not np.any(signal):
        return np.zeros(max(0, signal.size // MELODY_HOP_SAMPLES), dtype=np.float64)
    extractor = es.PredominantPitchMelodia(
        sampleRate=CONTOUR_RATE_HZ, frameSize=MELODY_FRAME_SAMPLES,
        hopSize=MELODY_HOP_SAMPLES, minFrequency=MIN_F0_HZ, maxFrequency=MAX_F0_HZ)
    pitch_hz, _ = extractor(np.ascontiguousarray(signal, dtype=np.float32))
    return np.maximum(np.asarray(pitch_hz, dtype=np.float64), 0.0)


def pitch_segments(f0_hz: np.ndarray, *, max_step_cents: float = JUMP_CENTS
                   ) -> list[tuple[int, int]]:
    """[start, end) index ranges of pitched frames (f0 > 0) whose pitch moves less than
    `max_step_cents` from one frame to the next (a note, or notes joined by glides)."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    voiced = f0_hz > 0
    if not voiced.any():
        return []
    step_cents = np.abs(1200.0 * np.diff(np.log2(np.where(voiced, f0_hz, 1.0))))
    joined = voiced[1:] & voiced[:-1] & (step_cents < max_step_cents)
    # A segment starts at every pitched frame not joined to the one before it.
    starts = np.flatnonzero(voiced & ~np.concatenate(([False], joined)))
    ends = np.flatnonzero(voiced & ~np.concatenate((joined, [False]))) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def wobble_cents(f0_hz: np.ndarray, *, min_frames: int = MIN_SEGMENT_FRAMES,
                 robust: bool = True) -> np.ndarray:
    """Per frame of `f0_hz` (n,) (Hz, 0 = none): the wobble (cents) of the segment it lies
    in, the spread of its pitch about a straight line through it; NaN off pitch and on
    segments under `min_frames`. (n,) float64. `robust`: the median absolute deviation,
    scaled to a standard deviation (a frame or two caught between two notes that the
    tracker joined does not count); else the standard deviation."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    out = np.full(f0_hz.size, np.nan)
    for start, end in pitch_segments(f0_hz):
        if end - start < min_frames:
            continue
        cents = 1200.0 * np.log2(f0_hz[start:end])
        x = np.arange(end - start, dtype=np.float64)
        slope, offset = np.polyfit(x, cents, 1)
        residual = cents - (slope * x + offset)
        out[start:end] = (MAD_TO_STD * float(np.median(np.abs(residual - np.median(residual))))
                          if robust else float(np.std(residual)))
    return out


def steady_lead_frames(intervals: list[tuple[int, int]], wobble: np.ndarray, *,
                       frame_sec: float, melody_hop_sec: float, n_frames: int) -> np.ndarray:
    """Frames (n_frames,) bool of the lead `intervals` ([start, end) frame indices at
    `frame_sec`) that hold steady pitch (`wobble`, per melody frame at `melody_hop_sec`),
    where those hold at least STEADY_SONG_SHARE of all the intervals' frames; else none."""
    steady = np.zeros(n_frames, dtype=bool)
    total = 0
    for start, end in intervals:
        total += end - start
        inside = wobble[round(start * frame_sec / melody_hop_sec):
                        round(end * frame_sec / melody_hop_sec)]
        pitched = inside[~np.isnan(inside)]
        if (inside.size and pitched.size >= MIN_PITCHED_SHARE * inside.size
                and np.percentile(pitched, STEADY_QUANTILE) < STEADY_CENTS):
            steady[start:end] = True
    if total == 0 or steady.sum() < STEADY_SONG_SHARE * total:
        steady[:] = False
    return steady

"""Lead-vocal activity without a learned model (the analysis service reports it; the
separator gates its melody with it: `services.separation.vocal_gate`).

A lead voice is harmonic (sustained partials: a harmonic-percussive split removes the
drums), sits in the 250 Hz-4 kHz band (above the bass, below the hats) and is mixed in
the centre of the stereo image, while pads and effects spread wide. So a frame counts as
sung when

* its centre-panned harmonic energy in that band is within `LEVEL_RANGE_DB` of the
  song's loudest such frames (the 98th percentile), and
* that centre part is at least `MIN_CENTRE_SHARE_DB` of all the harmonic energy in the
  band (for mono input every frame passes this test).

Gaps under 0.5 s are bridged and intervals under 0.3 s dropped.

A lead panned off centre (`lead_pan`): "the centre" is then the lead's own direction.
The same test is run with the mix projected onto each pan position from -0.8 to 0.8
(what cancels is then whatever sits at that position); a position that passes clearly
more frames than the centre (PAN_GAIN, and at least PAN_MIN_SHARE of the song) is taken.
On the stress corpus this lifts the three panned-lead songs from 0.55-0.64 to 0.85-0.90
frame accuracy and changes no song with a centred lead or none. Off centre the share test
is eased by PAN_SHARE_SLOPE_DB per unit of pan beyond 0.2: a centred bass and pads fall
half into the projection there (they cancel in no direction but the centre), so a lead
as loud as them holds only about half of its projection's harmonic energy (-3.5 dB
median on sung frames against -8 to -16 dB elsewhere). On the stress seeds 2000-9000
this takes the 20 sung panned-lead songs' median voicing recall from 0.57 to 0.78 (frame
accuracy +0.003 to +0.017 a corpus) and changes no other song; nearer the centre (pan
0.2) the eased test passes the centred bass and pads, so it stays.

The search needs strict tests (a looser one places the lead where pads or the bass sit:
share slope 11 dB takes the real recordings from 0.869 to 0.777), but once it has placed
the lead, the remainder at that position cancels the lead itself, so its frames are taken
again there with a level range of PAN_LEAD_RANGE_DB (13) and the share test eased by a
further PAN_LEAD_SHARE_EASE_DB (2): the panned leads' voicing recall was 0.62-0.88 at a
false alarm of 0.00-0.03, their weak notes failing the same tests that chose the
position. Frame accuracy, stress tuning seeds 2000-7000 0.9189 -> 0.9224 and
10000-15000 0.9102 -> 0.9151 (every seed better); held-out seeds 8000, 9000, 20000,
21000, 24000-30000 0.9107 -> 0.9157 (every seed better; 29 songs better, up to 0.70 ->
0.84, two worse, panned leads over a boosted bass whose partials now pass: 0.889 ->
0.871, 0.980 -> 0.979); the real recordings take no pan position (unchanged, 0.869).
A range of 13 dB with a 1 dB easing gains less (0.9214 on seeds 2000-7000), 16 dB
with 2.5 dB loses on seeds 3000-5000; the centre's bass test on those frames drops
the panned lead's own (its centred part is weak; pop song, quiet lead at pan 0.6:
0.98 -> 0.92).

A doubled lead (two takes panned hard left and right, as stacked pop vocals are) is in
neither the centre nor any one pan position: the takes differ in phase, so about half of
it cancels in every projection. It is in the side signal (L-R)/2, though, which
otherwise holds only what is spread wide (pads, room, hats): steady from bar to bar. So
when no pan position beat the centre, the centre test found a lead in at most CENTRE_FEW
of the song and the side's harmonic energy comes and goes like a voice (its frames
within LEVEL_RANGE_DB of its loudest are at most SIDE_MAX_SHARE of the song, against
0.9-1.0 for a side of pads), the side's loud frames are taken; when they are not, the
same is tried with a 7 dB range (a quiet doubled lead stands less far above the pads).
(A lead the pan search placed is left to it: its own direction holds it better than the
side, which also holds the wide parts.) On the stress corpus (seed 2000, 72 songs) seven
of the nine doubled leads go from 0.44-0.62 to 0.87-0.97 and a panned lead under a loud
bass that the pan search missed from 0.33 to 0.83, the 7 dB range adds a doubled lead at
-8 dB (0.48 -> 0.89) and a panned lead under a loud bass (0.49 -> 0.90); frame accuracy
0.838 -> 0.894 (default corpus unchanged, 0.942); on the real recordings the Lithium
excerpt (stacked wide vocals) goes from 0.33 to 0.87 and the full song from 0.60 to
0.67; one song loses 0.01 (a doubled lead at -6 dB, 0.70 -> 0.69).

Lithium's full song stacks its vocals wide in some sections and sings with one centred
voice (side 25 dB below the mid) in others, which the side does not hold. So where the
side is taken, every window of CENTRE_WINDOW_SEC in which the side found nothing and the
centre test found a lead in at least CENTRE_WINDOW_SHARE of it keeps the centre's frames
(`with_centred_passages`): Lithium 0.67 -> 0.71, no synthetic song changes (stress
seeds 2000-9000, default 1000). Shorter windows gain more on Lithium (4 s: 0.74) but
cost a doubled-lead song (stress 5000 0.901 -> 0.898); the plain union of side and
centre frames (0.80 on Lithium) passes the centre test's false alarms on every doubled
synthetic lead (-0.02 to -0.23 a song).

That rule missed the passages where the side held a few frames of reverb or backing
voices beside the centred voice (Lithium 160-168 s and 280-304 s: the side found 0.1-0.3
of the frames, the centre 0.6-0.85), so a window now adds the centre's frames wherever
the centre test, run at the stricter share CENTRE_STRICT_SHARE_DB, passes in at least
CENTRE_WINDOW_SHARE of it and in more of it than the side does: a voice alone in the
centre holds almost all of its centre's harmonic energy (median share -0.5 to -2.3 dB on
those passages), while a boosted bass under pads that passes the usual test sits at -3
dB (stress 5000, the doubled lead over a +7.4 dB bass, which the looser condition took
from 0.965 to 0.877). Lithium 0.709 -> 0.794, no synthetic song changes (stress seeds
13000-16000, 2000-7000).

Lithium's side also holds a synth widened in anti-phase (its left and right channels
anti-correlated: 148-180 s, where the instrumental's side is 3 dB above its mid), which
the side test took for the stacked lead. Two takes of a voice panned apart are
uncorrelated, so their side is about as loud as their mid, and anything centred adds to
the mid only; a side that holds more than twice the mid's harmonic energy
(SIDE_OVER_MID_MAX_DB) over ANTI_PHASE_WINDOW_SEC is no voice (`anti_phase_frames`).
Lithium 0.794 -> 0.849 (false alarm 0.27 -> 0.15); on the stress seeds 13000-16000,
2000-7000 one song changes (15000 #00, a doubled lead of long notes at 80 BPM, whose
two takes stay out of phase for seconds at a time: 0.962 -> 0.954). Those frames are
also left out of the side's level reference (its 98th percentile), which the widened
synth had set 10 dB above Lithium's stacked verse (80-115 s): Lithium 0.849 -> 0.859,
that synthetic song 0.954 -> 0.972, no other song changes.

Tried for On the run (a centred lead under loud wide guitars, missed where its share
falls to -3 to -4.5 dB or in a verse 10-15 dB below the chorus) and rejected, real mean
0.868 before: a level reference local to 5-20 s (with a floor 16-20 dB under the song's)
0.847-0.864, passing potassium's and On the run's tails; a 14-16 dB range for frames at
the stricter share 0.861-0.867; a second path for frames 1-1.5 dB under the share test
whose share rises 2-3 dB above its running minimum (4-6 s) 0.774-0.869 on the real ones
but 0.903 -> 0.787 on the stress seeds (it flips the pan and side choices); the band
from 350 Hz 0.864 real, 0.820 synthetic. As cues the centred energy against the side's
(ROC AUC on loud frames, mean of the real songs 0.45 against the share's 0.53), the
share of centred energy above 700 Hz and the spectral change of the side's harmonic part
(AUC 0.40-0.82 per doubled song, 0.26 on the Lithium excerpt) separate no better. A 1 s window or a
2 dB limit gain the same on Lithium but cost 0.01-0.02 on seven doubled synthetic
leads.

Tried for quiet leads and loud basses and rejected (vocal frame accuracy, mean of stress
seeds 2000-7000, 10000, 11000: 0.900): the share test sits at a cliff (voice-free frames
of the synthetic songs lie at -3.5 to -4 dB), so moving it moves false alarms more than
recall: a sharper centre mask (exponent 4, threshold -4 to -5 dB) 0.886-0.898; level
range 8 / 12 dB 0.895 / 0.896; hysteresis (frames next to passing ones pass at 0.5-2 dB
less share) 0.815-0.895; a per-song threshold from the 10th percentile of the share
0.886-0.903. The share smoothed over 1.3 s instead of 0.3 s gains on those seeds
(0.905) but loses on held-out seeds 8000 / 9000 (0.902 / 0.914 -> 0.894 / 0.909) and on
the real recordings (0.830 -> 0.823). Dropping merged intervals less than half filled by
passing frames gains on the synthetic songs (0.906; held-out 0.903 / 0.914) but real
singing flickers through the tests too (real 0.830 -> 0.827). Cues that separate a
voice from the rest on the synthetic songs often invert on the real ones: the spectral
flux of the centred harmonic part is lower on sung frames there (ROC AUC 0.20 for sung
vs not) but higher on the real recordings (0.59). A 3-10 Hz modulation of the centred
magnitudes above 800 Hz (vibrato, syllables) points the right way on both (AUC 0.77 on
quiet synthetic leads, 0.67 real), but as a second path past an eased share test it adds
more false alarms than sung frames (0.869-0.899).

A boosted bass (or a loud one in an instrumental song) is the loudest centred harmonic
part, and its partials above 250 Hz pass both tests. Its timbre ties those partials to
its 2nd and 3rd ones at 120-200 Hz (fundamentals at 40-100 Hz), so where the bass plays
(its sustained 120-200 Hz energy within BASS_RANGE_DB of its loudest) the centred band
energy keeps about one ratio to that energy, the song's lowest (BASS_FLOOR_PERCENTILE);
a voice adds band energy and little at 120-200 Hz (a male voice's fundamental there
comes with formants well above it), so frames less than BASS_EXCESS_DB above that floor
are taken for the bass alone (`bass_frames`) and leave the centre test. On the stress
seeds 13000-16000, 2000-7000 (240 songs) frame accuracy 0.9030 -> 0.9110: the 33
boosted-bass songs +0.034 a song (false alarm 0.15 -> 0.09; one, whose voice adds little
over a +4.5 dB bass, 0.75 -> 0.70), instrumentals +0.019, quiet leads (-4 to -9 dB)
+0.005 (false alarm 0.07 -> 0.02, recall 0.62 -> 0.56: a voice that adds under 2.5 dB to
the floor is lost); held-out seeds 8000, 9000, 20000, 21000, 24000, 25000 0.902, 0.914,
0.910, 0.904, 0.877, 0.912 -> 0.910, 0.915, 0.918, 0.908, 0.901, 0.915; real recordings
0.868 -> 0.869 (On the run 0.835 -> 0.837). With 100-200 Hz 0.9097, 40-200 Hz 0.9045
(the ratio then swings with the note: a 55 Hz root puts more partials below the band
than an 82 Hz one), 120-240 Hz 0.9130 but real 0.867 (On the run 0.831: male
fundamentals); an excess of 3 dB 0.9103 (real 0.868), of 4 dB at 100-200 Hz 0.9082
(real 0.867); the ratio over 2 s instead of 0.3 s (40-200 Hz) 0.899. Tried after it for
the quiet doubled leads whose 7 dB side range takes the pads too (false alarm ~0.5): a
5 dB range after the 7 dB one with the side's share capped at 0.5 / 0.55 gains on the
synthetic songs (0.9137 / 0.9105) but the Lithium excerpt falls 0.867 -> 0.69.

Where the sung frames are missed (stress seeds 2000-7000: frame accuracy 0.915, recall
0.78-0.83, false alarm 0.02-0.04): mostly whole notes at the start or end of a phrase,
not a lag of the tests (the median estimated start and end sit within 0.015 s of the
truth; a quarter of the phrases start 0.15 s or more late or end 0.15 s or more early).
The synthetic voice's formant resonators are narrow, so a note whose partials fall
between them can be 20-28 dB quieter in the band than its neighbours (stress 2000 #08,
nothing of it below 250 Hz either): 7 % of the sung frames (centred leads, seeds 2000 and
3000) lie more than 10 dB under the rest of the mix in 250 Hz-4 kHz (recall 0.32 there),
10 % at -10 to -5 dB (0.47), 21 % at -5 to 0 dB (0.72), 61 % above (0.95). Of the missed
frames three quarters fail the share test (two in five of those the level test too), 9 %
the bass test, and the voice-free frames around a phrase have the same level and share as
its weak notes, so every easier test adds about as many false alarms as sung frames
(seeds 2000-4000, 0.906; real 0.869): the share test eased on loud frames (by 0.2-0.5 dB
per dB of level above -10 or -6 dB) 0.76-0.82; runs grown by at most 0.25-0.5 s into
frames passing a looser test (level range 12-14 dB, share 0.5-1.5 dB easier) 0.888-0.906,
real 0.846-0.862; bridging gaps up to 0.6 s instead of 0.5 gains about 0.001 and loses on
the real songs. The centre mask from each bin's mid and side energies averaged over 5 or
9 frames (the synthetic pads' detuned pairs beat through the centre, which passes their
energy-weighted share at about -2 dB) separates better on the synthetic songs (ROC AUC of
the share 0.93 -> 0.96) but not on the real ones (0.77 -> 0.76): 0.890-0.907 at shares of
-3.5 to -4 dB, real 0.850-0.854 (Potassium 0.911 -> 0.85). A harmonic kernel of 0.15 /
0.2 / 0.4 s 0.902 / 0.903 / 0.907 (real 0.830 / 0.872 / 0.857); SMOOTH_SEC 0.2 / 0.45
0.886 / 0.903. As a cue for vibrato, the frame-to-frame change of the instantaneous
frequency (from the phase advance) of the centred harmonic peaks above 700 Hz,
energy-weighted, separates nothing (ROC AUC 0.51 synthetic, seed 2000; 0.54 real).

An instrumental song's loudest centred harmonic part (a keyboard, a synth lead, a guitar)
passes both tests where it is no bass. Its pitch holds still where a voice's wobbles, so
on the centre's path the predominant pitch of the centred band is read through the
passing intervals and, where intervals of steady pitch hold most of what the tests found,
those are dropped (`without_steady_pitch`, see `pitch_contour`): stress tuning seeds 2000-7000,
10000, 11000 0.9099 -> 0.9177 (19 instrumental songs better, none worse), real recordings
unchanged. Per frame the same pitch cues separate the real songs' sung frames poorly
(ROC AUC 0.54-0.62 on frames the tests passed, 0.78-0.84 on the synthetic ones), and
neither vetoing steady frames nor admitting wobbly ones pays (figures in `pitch_contour`).

Measured by `make bench-analysis` (10 ms frames): 0.94 frame accuracy on the synthetic
corpus (voicing recall 0.90, false alarm 0.03); on the real recordings 0.91 (Potassium),
0.83 (On the run), 0.87 / 0.86 on Lithium (excerpt / full song). Relaxing the centre
test instead lets wide pads through on the synthetic songs (0.76), so it stays.
Essentia's PredominantPitchMelodia voicing was tried first and rejected: on full mixes
it follows pads and the bass as readily as the voice (frame accuracy 0.5-0.7). Known
limits: a quiet lead under loud pads fails the centre-share test (recall ~0.5 at -6 to
-9 dB), and an instrumental song's loudest centred harmonic frames pass as a lead
where they are no bass and their pitch is not steady enough to tell (a bent guitar, a
synth with vibrato) or hold less than STEADY_SONG_SHARE (0.55) of what passed.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from shared import pitch_contour as contour
from shared.audio_io import resample
from shared.spectra import stft_blocks

VOCAL_RATE_HZ = 16000
N_FFT = 1024
HOP_SAMPLES = 512  # 32 ms
BAND_HZ = (250.0, 4000.0)
HARMONIC_KERNEL_SEC = 0.27  # time median: sustained partials survive, drum hits do not
PERCUSSIVE_KERNEL_BINS = 17  # frequency median: broadband hits survive, partials do not
SMOOTH_SEC = 0.3
LEVEL_RANGE_DB = 10.0
MIN_CENTRE_SHARE_DB = -3.0
MERGE_GAP_SEC = 0.5
MIN_INTERVAL_SEC = 0.3
MEDIAN_BLOCK = 64  # rows or columns per block of the running medians
LEAD_PANS = (-0.8, -0.6, -0.4, -0.2, 0.2, 0.4, 0.6, 0.8)  # off-centre positions tried
PAN_GAIN = 1.1  # an off-centre position must pass 10 % more frames than the centre
PAN_SHARE_SLOPE_DB = 8.0  # the share test eased by this per unit of pan beyond 0.2
PAN_MIN_SHARE = 0.05  # and at least 5 % of the song's frames
# Once the search has placed the lead, its frames are taken at that position with a wider
# level range and a share test eased by this much more (see the module docstring).
PAN_LEAD_RANGE_DB = 13.0
PAN_LEAD_SHARE_EASE_DB = 2.0
SIDE_MAX_SHARE = 0.65  # the side's loud frames are a lead when they are at most this share
CENTRE_FEW = 0.3  # ...and the centre (or pan) test found a lead in at most this share
# Level ranges tried in turn for the side's loud frames: a quiet doubled lead stands
# less far above the side's pads, so a narrower range follows the usual one.
SIDE_RANGES_DB = (LEVEL_RANGE_DB, 7.0)
# When the side's frames are taken, a window this long where the side found nothing but
# the centre test found a lead in at least this share takes the centre's frames.
CENTRE_WINDOW_SEC = 8.0
CENTRE_WINDOW_SHARE = 0.2
CENTRE_STRICT_SHARE_DB = -2.0  # ...at this share test, and in more of it than the side
# Side frames whose harmonic energy, over this window, exceeds the mid's by this much are
# anti-phase widening (a stereo-widened synth), not two takes of a voice.
ANTI_PHASE_WINDOW_SEC = 2.0
SIDE_OVER_MID_MAX_DB = 3.0
# A bass's partials in the band keep about the ratio to its partials in BASS_BAND_HZ (its
# 2nd and 3rd) that its timbre sets: centred frames whose band energy stands less than
# BASS_EXCESS_DB above the song's usual ratio (its BASS_FLOOR_PERCENTILE over the frames
# where the bass plays, within BASS_RANGE_DB of its loudest) hold no voice over the bass.
BASS_BAND_HZ = (120.0, 200.0)
BASS_RANGE_DB = 15.0
BASS_FLOOR_PERCENTILE = 10.0
BASS_EXCESS_DB = 2.5
# The pitch of the lead intervals is read with this much of the band around each: a note
# cut at the interval's edge would be too short to tell steady from sung.
CONTOUR_MARGIN_SEC = 0.25


def _channel_spectra(left: np.ndarray, right: np.ndarray, band: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Complex STFTs (n_band_bins, n_frames) of the left and right channels in `band`."""
    lefts, rights = [], []
    for spec_left, spec_right in zip(
            stft_blocks(left, n_fft=N_FFT, hop_samples=HOP_SAMPLES),
            stft_blocks(right, n_fft=N_FFT, hop_samples=HOP_SAMPLES), strict=True):
        lefts.append(spec_left[:, band])
        rights.append(spec_right[:, band])
    return np.concatenate(lefts).T, np.concatenate(rights).T


def _pan_mid_side(spec_left: np.ndarray, spec_right: np.ndarray, *, pan: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Magnitudes of the mix projected onto a constant-power pan position (-1 left ..
    1 right) and of its orthogonal remainder, in which a source panned there cancels;
    scaled so that pan 0 gives the usual (L+R)/2 and (L-R)/2."""
    if pan == 0.0:
        return np.abs(spec_left + spec_right) / 2.0, np.abs(spec_left - spec_right) / 2.0
    angle = (pan + 1.0) * np.pi / 4.0
    gain_left, gain_right = np.cos(angle) / np.sqrt(2.0), np.sin(angle) / np.sqrt(2.0)
    return (np.abs(gain_left * spec_left + gain_right * spec_right),
            np.abs(gain_right * spec_left - gain_left * spec_right))


def _level_db(energy: np.ndarray, *, window_frames: int) -> np.ndarray:
    """Energy per frame (n_frames,) as a running mean over `window_frames`, in dB."""
    # The running mean can dip a rounding error below 0 where the energy is 0.
    return 10.0 * np.log10(np.maximum(uniform_filter1d(energy, window_frames), 0.0) + 1e-12)


def _centre_mask(mid: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Soft share of each bin (n_bins, n_frames) that sits in the centre: 1 where nothing
    cancels in `side`, 0 where as much cancels as remains."""
    return np.clip(1.0 - side / (mid + 1e-9), 0.0, 1.0) ** 2


def _lead_frames(mid: np.ndarray, side: np.ndarray, harmonic_mask: np.ndarray, *,
                 window_frames: int, min_share_db: float = MIN_CENTRE_SHARE_DB,
                 range_db: float = LEVEL_RANGE_DB) -> np.ndarray:
    """The level (within `range_db` of the 98th percentile) and centre-share tests of the
    module docstring for one pan position: (n_frames,) bool."""
    centre_mask = _centre_mask(mid, side)
    harmonic_energy = ((mid * harmonic_mask) ** 2).sum(axis=0)
    centre_energy = ((mid * harmonic_mask * centre_mask) ** 2).sum(axis=0)
    if not np.any(centre_energy > 0):
        return np.zeros(mid.shape[1], dtype=bool)
    harmonic_db = _level_db(harmonic_energy, window_frames=window_frames)
    centre_db = _level_db(centre_energy, window_frames=window_frames)
    loud = centre_db > np.percentile(centre_db, 98) - range_db
    centred = centre_db - harmonic_db > min_share_db
    return loud & centred


def _level_frames(spec: np.ndarray, harmonic_mask: np.ndarray, *, window_frames: int,
                  range_db: float = LEVEL_RANGE_DB,
                  candidates: np.ndarray | None = None) -> np.ndarray:
    """Frames whose harmonic energy in `spec` (n_bins, n_frames) is within `range_db` of
    its 98th percentile: (n_frames,) bool. With `candidates` ((n_frames,) bool), only
    those frames can pass and only they set the percentile."""
    energy = ((spec * harmonic_mask) ** 2).sum(axis=0)
    if not np.any(energy > 0):
        return np.zeros(spec.shape[1], dtype=bool)
    level_db = _level_db(energy, window_frames=window_frames)
    if candidates is None or not candidates.any():
        return level_db > np.percentile(level_db, 98) - range_db
    return (level_db > np.percentile(level_db[candidates], 98) - range_db) & candidates


def anti_phase_frames(mid: np.ndarray, side: np.ndarray, harmonic_mask: np.ndarray, *,
                      window_frames: int) -> np.ndarray:
    """Frames (n_frames,) bool where the harmonic energy of `side` (n_bins, n_frames),
    as a running mean over `window_frames`, exceeds that of `mid` by more than
    SIDE_OVER_MID_MAX_DB: the channels there are anti-correlated, which a widener or
    chorus on a synth makes and a pair of takes of a voice (uncorrelated: side about as
    loud as mid, less with anything centred) does not sustain."""
    side_db = _level_db(((side * harmonic_mask) ** 2).sum(axis=0),
                        window_frames=max(1, window_frames))
    mid_db = _level_db(((mid * harmonic_mask) ** 2).sum(axis=0),
                       window_frames=max(1, window_frames))
    return side_db - mid_db > SIDE_OVER_MID_MAX_DB


def bass_frames(mid: np.ndarray, side: np.ndarray, harmonic_mask: np.ndarray,
                bass_harmonic: np.ndarray, *, window_frames: int) -> np.ndarray:
    """Frames (n_frames,) bool whose centred harmonic band energy (`mid`, `side`,
    `harmonic_mask`: (n_band_bins, n_frames)) is what the bass alone gives: the sustained
    magnitudes below BASS_BAND_HZ[1] (`bass_harmonic`, (n_bass_bins, n_frames)) are loud
    and the band stands less than BASS_EXCESS_DB above its usual ratio to them."""
    centre_mask = _centre_mask(mid, side)
    centre_db = _level_db(((mid * harmonic_mask * centre_mask) ** 2).sum(axis=0),
                          window_frames=window_frames)
    bass_db = _level_db((bass_harmonic.astype(np.float64) ** 2).sum(axis=0),
                        window_frames=window_frames)
    playing = bass_db > np.percentile(bass_db, 98) - BASS_RANGE_DB
    if not playing.any():
        return playing
    ratio_db = centre_db - bass_db
    floor_db = np.percentile(ratio_db[playing], BASS_FLOOR_PERCENTILE)
    return playing & (ratio_db < floor_db + BASS_EXCESS_DB)


def _median(values: np.ndarray, *, size: int, axis: int) -> np.ndarray:
    """Running median of odd `size` along `axis` (0 or 1) of a 2-D array, edges mirrored
    (as scipy.ndimage's median_filter with mode "reflect"), about twice as fast as it for
    short kernels. Works through blocks of the other axis: the window view is copied
    `size` times over, which for a whole 20-minute song would take gigabytes."""
    out = np.empty(values.shape, dtype=np.float32)
    pad = [(0, 0), (0, 0)]
    pad[axis] = (size // 2, size // 2)
    other = 1 - axis
    for start in range(0, values.shape[other], MEDIAN_BLOCK):
        block = [slice(None), slice(None)]
        block[other] = slice(start, start + MEDIAN_BLOCK)
        padded = np.pad(values[tuple(block)], pad, mode="symmetric")
        windows = np.lib.stride_tricks.sliding_window_view(padded, size, axis=axis)
        out[tuple(block)] = np.median(windows, axis=-1)
    return out


def vocal_frames(stereo: np.ndarray, *, sample_rate_hz: int) -> tuple[np.ndarray, float]:
    """Per-frame lead-vocal decision for (channels, n) or (n,) audio.

    Returns (mask (n_frames,) bool, hop_sec); frame i covers time i * hop_sec."""
    audio = stereo if stereo.ndim == 2 else stereo[None, :]
    audio = resample(audio.astype(np.float32), from_rate_hz=sample_rate_hz,
                     to_rate_hz=VOCAL_RATE_HZ)
    left, right = audio[0], audio[-1]  # mono input: both sides are the one channel
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / VOCAL_RATE_HZ)
    wide = (freqs >= BASS_BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    spec_left, spec_right = _channel_spectra(left, right, wide)
    in_band = freqs[wide] >= BAND_HZ[0]
    in_bass = freqs[wide] < BASS_BAND_HZ[1]
    bass_mid = np.abs(spec_left[in_bass] + spec_right[in_bass]) / 2.0
    spec_left, spec_right = spec_left[in_band], spec_right[in_band]
    mid, side = _pan_mid_side(spec_left, spec_right, pan=0.0)
    hop_sec = HOP_SAMPLES / VOCAL_RATE_HZ
    # Soft masks: harmonic-vs-percussive by median filtering (Fitzgerald 2010), and
    # centre-vs-sides from how much of each bin cancels in L-R.
    harmonic_kernel = max(3, int(HARMONIC_KERNEL_SEC / hop_sec) | 1)
    harmonic = _median(mid, size=harmonic_kernel, axis=1)
    percussive = _median(mid, size=PERCUSSIVE_KERNEL_BINS, axis=0)
    harmonic_mask = harmonic**2 / (harmonic**2 + percussive**2 + 1e-12)
    window = max(1, round(SMOOTH_SEC / hop_sec))
    frames = _lead_frames(mid, side, harmonic_mask, window_frames=window)
    bass = bass_frames(mid, side, harmonic_mask,
                       _median(bass_mid, size=harmonic_kernel, axis=1),
                       window_frames=window)
    frames_all, frames = frames, frames & ~bass
    band_bins = np.flatnonzero(wide)[in_band]

    def centre_lead() -> np.ndarray:  # the centre test's frames, less steady-pitch leads
        return without_steady_pitch(frames, (spec_left + spec_right) / 2.0, band_bins,
                                    harmonic_mask * _centre_mask(mid, side),
                                    hop_sec=hop_sec)

    if audio.shape[0] < 2:
        return centre_lead(), hop_sec
    best, best_pan = frames_all, 0.0
    for pan in LEAD_PANS:
        candidate = _lead_frames(*_pan_mid_side(spec_left, spec_right, pan=pan),
                                 harmonic_mask, window_frames=window,
                                 min_share_db=_pan_share_db(pan))
        if (candidate.sum() > PAN_GAIN * max(int(best.sum()), 1)
                and candidate.mean() >= PAN_MIN_SHARE):
            best, best_pan = candidate, pan
    if best is frames_all and frames_all.mean() <= CENTRE_FEW:
        anti = anti_phase_frames(mid, side, harmonic_mask,
                                 window_frames=round(ANTI_PHASE_WINDOW_SEC / hop_sec))
        for range_db in SIDE_RANGES_DB:
            side_lead = _level_frames(side, harmonic_mask, window_frames=window,
                                      range_db=range_db, candidates=~anti)
            if PAN_MIN_SHARE <= side_lead.mean() <= SIDE_MAX_SHARE:
                window_count = max(1, round(CENTRE_WINDOW_SEC / hop_sec))
                strict = _lead_frames(mid, side, harmonic_mask, window_frames=window,
                                      min_share_db=CENTRE_STRICT_SHARE_DB) & ~bass
                return with_centred_passages(side_lead, frames, strict,
                                             window_frames=window_count), hop_sec
    if best is not frames_all:  # the lead's direction found: its own tests, eased
        return _lead_frames(*_pan_mid_side(spec_left, spec_right, pan=best_pan),
                            harmonic_mask, window_frames=window,
                            min_share_db=_pan_share_db(best_pan) - PAN_LEAD_SHARE_EASE_DB,
                            range_db=PAN_LEAD_RANGE_DB), hop_sec
    return centre_lead(), hop_sec


def _pan_share_db(pan: float) -> float:
    """The centre-share test's limit (dB) at an off-centre pan position: eased by
    PAN_SHARE_SLOPE_DB per unit of pan beyond 0.2 (see the module docstring)."""
    return MIN_CENTRE_SHARE_DB - PAN_SHARE_SLOPE_DB * max(0.0, abs(pan) - 0.2)


def without_steady_pitch(frames: np.ndarray, spec_band: np.ndarray, band_bins: np.ndarray,
                         band_mask: np.ndarray, *, hop_sec: float) -> np.ndarray:
    """`frames` (n_frames,) bool less the intervals whose predominant pitch holds still
    where those are most of the lead (see `pitch_contour`): the pitch is read from the band
    `spec_band` (complex (n_band_bins, n_frames), STFT rows `band_bins`) weighted by
    `band_mask` (same shape: the harmonic and centre masks), inside the intervals only."""
    intervals = [(round(start / hop_sec), round(end / hop_sec))
                 for start, end in mask_to_intervals(frames, hop_sec=hop_sec)]
    if not intervals:
        return frames
    inside = np.zeros(frames.size, dtype=bool)
    margin = round(CONTOUR_MARGIN_SEC / hop_sec)
    for start, end in intervals:
        inside[max(0, start - margin):end + margin] = True
    signal = contour.band_signal(spec_band * band_mask, band_bins, n_fft=N_FFT,
                                 hop_samples=HOP_SAMPLES, sample_rate_hz=VOCAL_RATE_HZ,
                                 frames=inside)
    wobble = contour.wobble_cents(contour.melody_hz(signal))
    steady = contour.steady_lead_frames(
        intervals, wobble, frame_sec=hop_sec, n_frames=frames.size,
        melody_hop_sec=contour.MELODY_HOP_SAMPLES / contour.CONTOUR_RATE_HZ)
    return frames & ~steady


def with_centred_passages(side_lead: np.ndarray, centre_lead: np.ndarray,
                          strict_centre_lead: np.ndarray, *, window_frames: int) -> np.ndarray:
    """The side's lead frames (n_frames,) bool, joined by the centre's frames in every
    window of `window_frames` where the centre test at the stricter share
    (`strict_centre_lead`) found a lead in at least CENTRE_WINDOW_SHARE of it and in more
    of it than the side did: a song of stacked wide vocals may sing a passage with one
    centred voice, which the side holds only in part (reverb, backing voices)."""
    out = side_lead.copy()
    for start in range(0, len(out), window_frames):
        window = slice(start, start + window_frames)
        strict_share = strict_centre_lead[window].mean()
        if strict_share >= CENTRE_WINDOW_SHARE and strict_share > side_lead[window].mean():
            out[window] |= centre_lead[window]
    return out


def mask_to_intervals(mask: np.ndarray, *, hop_sec: float,
                      merge_gap_sec: float = MERGE_GAP_SEC,
                      min_length_sec: float = MIN_INTERVAL_SEC) -> list[tuple[float, float]]:
    """Runs of True frames as [start_sec, end_sec) intervals; gaps shorter than
    `merge_gap_sec` are bridged, then intervals shorter than `min_length_sec` dropped."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]]))
    starts = np.flatnonzero(edges == 1) * hop_sec
    ends = np.flatnonzero(edges == -1) * hop_sec
    merged: list[list[float]] = []
    for start, end in zip(starts, ends, strict=True):
        if merged and start - merged[-1][1] < merge_gap_sec:
            merged[-1][1] = float(end)
        else:
            merged.append([float(start), float(end)])
    return [(start, end) for start, end in merged if end - start >= min_length_sec]


def detect_vocals(samples: np.ndarray, *, sample_rate_hz: int) -> list[tuple[float, float]]:
    """Lead-vocal intervals [(start_sec, end_sec)] of (channels, n) or (n,) audio."""
    mask, hop_sec = vocal_frames(samples, sample_rate_hz=sample_rate_hz)
    duration_sec = samples.shape[-1] / sample_rate_hz
    return [(round(start, 3), round(min(end, duration_sec), 3))
            for start, end in mask_to_intervals(mask, hop_sec=hop_sec)]

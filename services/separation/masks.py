"""Soft masks that split one magnitude spectrogram into vocals, drums, bass and other.

The masks are built on the mid channel and never sum to more than one per bin; "other"
takes the rest, so applying them to each channel's STFT reconstructs the mix exactly.

1. HPSS (Fitzgerald 2010): a median over time finds steady (harmonic) energy, a median
   over frequency finds broadband (percussive) energy; Wiener-style soft masks of power
   `mask_power` share each bin between them.
2. Kick: below ~70 Hz a kick drum's tail is a steady sine that HPSS calls harmonic, and
   it sits too close in pitch to the bass to split by frequency. What tells them apart is
   that bass notes carry overtones at 2f and 3f and the kick does not (`kick_share`).
3. Vocals: energy on a comb around k·f0 of the predominant melody (k = 1..K), widened
   where the pitch moves within a window. A sung note with vibrato smears across frames,
   so the time median misses it; on the comb the test is "narrow spectral peak" instead
   (magnitude against the frequency median), which claims it back from the drums. The
   comb fades out below ~200 Hz, and side-channel (uncentred) bins lose vocal share
   (where the comb's energy is more centred than the rest of its band: a voice mixed
   wider than its guitars keeps its share, `comb_centre_lead`).
   Within the comb, energy that the song's repeating pattern explains (`repetition`:
   the same bins in the most similar other bars) is accompaniment, not voice (never all
   of it: a hook sung again repeats too); off the
   comb, vocals take a share of the non-repeating, centred energy (`vocal_floor_gain`)
   within half a second of a frame whose comb counts, less where the comb is sure of
   the voice (`sure_comb_weight`: a voice tracked right leaves little off its comb).
   A guessed pitch far from any voiced frame needs stronger evidence that it is a
   voice (`guess_far_evidence`).
4. Bass: harmonic energy not claimed by vocals, below a smooth crossover (190-280 Hz,
   set by how far the bass line's partials stand above the accompaniment),
   centred bins only (bass is mixed to the centre, pads are wide). Where the bass line
   has a note (`bassline`), the sub-bass below ~100 Hz leans to the bass on the note's
   harmonic comb and to the kick off it. Where the song has a repeating kick
   (`kick`), the re-synthesised kick's share of the bins below ~100 Hz re-splits what
   drums and bass hold there.
5. Other: whatever is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter, percentile_filter, uniform_filter1d

from services.separation.bassline import BassParams, bass_comb
from services.separation.kick import KickParams
from services.separation.melody import MelodyTrack

EPS = 1e-10


@dataclass(frozen=True)
class MaskParams:
    harmonic_kernel_frames: int = 31  # time median length, frames (0.72 s at hop 1024)
    percussive_kernel_bins: int = 9  # frequency median length, bins (97 Hz at 4096)
    mask_power: float = 2.0
    kick_min_hz: float = 25.0
    kick_max_hz: float = 70.0  # sub-bass bins up to here are tested for overtones
    overtone_quantile: float = 90.0  # percentile of the overtone ratio that counts as bass
    bass_crossover_hz: float = 220.0
    # Per chunk and STFT the crossover follows how far up the bass's partials stand out
    # (`bassline.bass_reach_hz`: louder than `bass_reach_margin` times the bin's median
    # over harmonic_hold_frames (1 s), up to `bass_reach_max_hz`, the median over the
    # voiced frames): bass_reach_scale times that reach, clamped to
    # bass_crossover_range_hz (None: the fixed bass_crossover_hz). The fixed 190 Hz
    # suited the synthetic basses (few, fast-falling partials under pads) and cost the
    # real ones (Lithium 3.22 -> 3.08), 260 Hz the reverse (seed 5000 7.43 -> 7.30,
    # Lithium 3.27). Measured reach: the tuning songs 0-130 Hz (-> 190), Lithium 226 /
    # 192 Hz on the 93 / 186 ms windows (-> 271 / 231), Potassium 289 / 261 (-> 280).
    # Tuning seeds 5000 / 6000 / 100 (avg dB, fixed 220 Hz 7.43 / 7.61 / 7.46): 7.46 /
    # 7.64 / 7.48 (bass -0.01..+0.01, other +0.08..+0.11; two pop songs lost 0.1 dB
    # at 190 Hz, the drum'n'bass songs gained up to 0.2); Lithium 3.22 -> 3.27 (bass 8.20 ->
    # 8.27), Potassium 2.48 -> 2.48. Speed unchanged (13-14x realtime per core).
    bass_crossover_range_hz: tuple[float, float] | None = (190.0, 280.0)
    bass_reach_margin: float = 2.0
    bass_reach_scale: float = 1.2
    bass_reach_max_hz: float = 450.0
    # Width of the logistic bass crossover. v16 re-sweep (with harmonic_hold_frames 61;
    # d5dfe22: tuning seeds 5000 / 6000 / 100 / 3000 / 4000 avg dB 8.395 / 8.534 /
    # 8.399 / 8.257 / 8.229, Lithium 3.900, Potassium 2.488): 1.25 alone 8.408 / 8.551 /
    # 8.416 / 8.275 / 8.252 (bass and other +0.02..+0.05), Lithium 3.882, Potassium
    # 2.489; 1.5 5000 / 6000 8.412 / 8.559 but Lithium 3.858 (bass 8.01 -> 7.89);
    # 0.75 8.370 / 8.508. With the 61-frame hold: 8.422 / 8.554 / 8.413 / 8.282 / 8.258
    # (+0.023 on the five), Lithium 3.900, Potassium 2.506: but the 1.4 s hold made the
    # stems depend on the chunk size (a 6 s chunking's "other" 23.5 dB from the whole
    # song's, the test asks 25), so 1.25 is kept with the 43-frame hold.
    crossover_octaves: float = 1.25
    # Comb teeth (v12 diagnosis, seeds 5000-5009 with the true f0 from Melodia on the
    # clean vocal: vocals 7.46 -> 9.63 dB, ideal mask 12.08; the synthetic voice holds
    # 99 % of its energy at 200-1600 Hz, so its comb wants few narrow teeth): 10
    # harmonics +0.12 dB (true f0) / 15 +0.05 (tracked); width 5 Hz +0.12 (true f0), with
    # the tracked f0 width 7 / 5 Hz +0.10 / +0.13 on 5000 but the real vocals -0.03 /
    # -0.09 (Potassium 5.40 -> 5.32 at 5 Hz). Snapping each frame's f0 to the best
    # harmonic sum within +-30 or 50 cents changed nothing (real excerpts +0.00).
    n_harmonics: int = 20
    comb_width_hz: float = 10.0  # half width of each comb tooth, besides the f0 spread
    # A comb bin is vocal when |X| > margin · its frequency median. Tuning seeds 5000 /
    # 6000 / 100, avg dB (v10 voicing): 1.0 7.16 / 7.39 / 7.19; 0.7 7.19 / 7.40 / 7.21;
    # 0.5 7.19 / 7.40 / 7.21; 0.35 and 0.15 the same; Potassium 1.74, 1.82, 1.86, 1.88,
    # 1.90, Lithium 3.05-3.06 (the sparser voicing leaves fewer wrong combs to trust).
    # v16, with centre power 1.25 (the two together; 0.5 -> 0.35): tuning 5000 / 6000
    # avg 8.109 / 8.256 -> 8.13 / 8.28, held-out 7000 / 9000 / 11000 7.74 / 8.03 / 7.91
    # -> 7.78 / 8.05 / 7.93, Lithium 3.93 -> 3.91, Potassium 2.50 -> 2.51.
    vocal_peak_margin: float = 0.35
    vocal_max_hz: float = 12000.0
    # Melody frames below this share of the song's 90th-percentile Melodia confidence
    # count as unvoiced (see melody.melody_f0).
    melody_confidence: float = 0.5
    # Frames Melodia leaves unvoiced but can follow a contour through keep that pitch,
    # their comb scaled by `comb_evidence` ramped from 0 at guess_evidence[0] to 1 at
    # guess_evidence[1] (Melodia misses about a quarter of the sung frames).
    melody_guess: bool = True
    # Melodia's segments are moved to the multiple of their pitch whose harmonic comb fits
    # the melody source best (`octave.correct_octaves`) when it beats their own comb by
    # `octave_margin` per frame (None: off). Tuning seeds 5000 / 6000 / 100, avg dB:
    # off 7.15 / 7.37 / 7.18, 0 7.16 / 7.39 / 7.19, 0.3 7.15 / 7.38 / 7.18; Potassium's
    # vocals 3.99 off, 4.09 on.
    octave_margin: float | None = 0.0
    # Melody segments of at least `steady_min_frames` whose pitch wobbles less than
    # steady_cents (`steady`; guessed frames: guess_steady_cents) are held instrument
    # notes: unvoiced at or below [0], certainty ramped up to 1 at [1] (None: off).
    # Tuning seeds 5000 / 6000 / 100, vocals dB (v9 6.80 / 7.17 / 6.94 with the octave
    # fix): both (1, 4) 7.02 / 7.25 / 7.07; (2, 6) 7.03 / 7.27 / 7.07; (3, 10) 7.10 /
    # 7.39 / 7.25 but Lithium's vocals -0.1 (pitch-corrected pop vocals are steady
    # too); guesses apart, with (2, 6) for the rest: (3, 10) 7.07 / 7.33 / 7.13, (6, 20)
    # 7.13 / 7.40 / 7.22, (10, 30) 7.20 / 7.48 / 7.19, the real excerpts unchanged
    # (a guessed frame needs a wobble that only a voice has). 5 frames min 7.15 / 7.41 /
    # 7.27, 8 frames 7.13 / 7.40 / 7.22, 12 frames 6.99 / 7.31 / 7.18.
    steady_cents: tuple[float, float] | None = (2.0, 6.0)
    guess_steady_cents: tuple[float, float] | None = (6.0, 20.0)
    steady_min_frames: int = 5
    # v12: unvoiced gaps of up to 30-100 melody frames between two voiced frames
    # bridged by the pitch (+-7 semitones of the neighbours, 20-cent grid) whose comb
    # fits the melody source best: as guesses 5000 vocals +0.02, real +0.00; with
    # certainty 1 5000 +0.04, 6000 +0.00, 100 -0.03 (the true pitch on every missed
    # frame: +0.53; most of them border guessed, not voiced, frames, and bridging gaps
    # beside guesses cost 5000 0.16, dnb_3 1.2 dB).
    guess_evidence: tuple[float, float] = (0.1, 0.3)
    # The lead-vocal detector's gate (`vocal_gate`, None: off): pitched melody frames
    # outside its intervals are unvoiced, those inside count at least this certain.
    # Tuning seeds 5000 / 6000 / 100 / 3000 / 4000 (avg dB; off 7.46 / 7.64 / 7.48 /
    # 7.48 / 7.33, vocals 7.46 / 7.64 / 7.60 / 7.35 / 6.64): 0.75 7.70 / 7.93 / 7.74 /
    # 7.63 / 7.59 (vocals 8.19 / 8.55 / 8.47 / 7.90 / 7.43; other +0.17 / +0.18 /
    # +0.17), Lithium 3.27 -> 3.38 (vocals 1.09 -> 1.38, bass 8.27 -> 8.09), Potassium
    # 2.48 -> 2.49. Certainty 1 (guesses inside taken as sung outright) 7.70 / 7.93 /
    # 7.74 but Lithium 3.35, Potassium 2.47 (there only 77 % of the guesses inside were
    # sung, against 95-100 % on the synthetic songs); 0.5 7.68 / 7.91 / 7.73, 3.38 /
    # 2.49. Keeping Melodia's voiced frames outside as guesses (certainty 0, to the
    # evidence test) 5000 7.68, Lithium 3.32, Potassium 2.47; or those within 0.25 s of
    # an interval 7.70 / 7.91, 3.34 / 2.49; guesses outside kept 7.55 (the gate only
    # confirming); the vocal floor held by the intervals instead of (or besides) the
    # comb's presence 7.68 / 7.91 (7.70 / 7.93). The steady test's looser guess rule off
    # 7.75 / 7.92 / 7.72, Lithium 3.41, Potassium 2.49 (a wash); vocal_floor_gain 0.35
    # 7.74 / 7.98 but Lithium 3.36, Potassium 2.46 (0.7: 7.58 / 7.79, 3.40 / 2.51);
    # the floor held 0.5 / 2 s (not 1 s) 7.69 / 7.94, 7.68 / 7.90. Held-out 7000 / 9000 /
    # 11000: 7.32 / 7.45 / 7.31 -> 7.45 / 7.63 / 7.62. The detector runs at about 200x
    # realtime per core (6 % of the separator's time, partly won back by the combs it
    # drops): paired runs 12.6 -> 12.5 and 12.8 -> 12.2x realtime per core.
    vocal_gate_certainty: float | None = 0.75
    # Sung frames (inside the gate's intervals) that Melodia left without any pitch
    # (`sung_gaps`): gaps of up to `sung_gap_frames` (0: off) between pitched frames
    # less than `sung_gap_cents` apart bridged in cents, the rest given the best comb
    # within `sung_search_cents` of the nearest pitch (None: off) where its score
    # reaches `sung_search_min_score`; both at `sung_fill_certainty`. Tuning seeds
    # 5000 / 6000 / 100 (avg dB; gate alone 7.700 / 7.929 / 7.740, vocals 8.19 / 8.55 /
    # 8.47; Lithium 3.911, Potassium 2.487): bridging at certainty 0.75 7.756 / 7.994 /
    # 7.748, 3.923 / 2.492; at 1.0 7.767 / 8.005 / 7.749 (vocals 8.39 / 8.79 / 8.50),
    # 3.923 / 2.493; 150 frames / 700 cents as 50 / 300. With the search (at 1.0):
    # 7.844 / 8.006 / 7.760 (vocals 8.59 / 8.79 / 8.53), 3.951 / 2.493; at certainty
    # 0.5 5000 7.825; min score 0.5 7.831, 1.0 7.827; 400 cents 7.845 / 8.010 / 7.758,
    # Lithium 3.934.
    sung_gap_frames: int = 50
    sung_gap_cents: float = 300.0
    sung_search_cents: float | None = 700.0
    sung_search_min_score: float = 0.8
    sung_fill_certainty: float = 1.0
    # A guess with no voiced frame within half of `guess_near_frames` (2 s in all) needs
    # the stricter `guess_far_evidence`: sections without a voice (intros, builds, pad
    # breaks) are where Melodia's guesses follow pads and stabs (v9; tuning seeds
    # 5000-5009 + 6000-6009 with the floor hold below, vocals / avg dB: v8 6.76 / 7.12;
    # near 87, far (0.2, 0.5) 6.96 / 7.18; far (0.15, 0.45) 6.93; far (0.3, 1.0) worse
    # than (0.2, 0.5): many far guesses are real phrases Melodia missed; near 173 6.92).
    guess_near_frames: int = 87
    guess_far_evidence: tuple[float, float] = (0.2, 0.5)
    # v12: of the guessed frames (5000-5009) 41 % are sung; classifying them perfectly
    # is worth +0.54 dB of vocals, dropping the voiced frames where nobody sings +0.26.
    # Looser evidence, (0.05, 0.2) or (0.02, 0.1), within 0.25-0.5 s of a voiced frame:
    # 5000 vocals -0.06..-0.16, real +0.02..+0.03. The same evidence test on voiced
    # frames, relative to the song's median (ramp 0.05-0.2, 0.1-0.3, 0.2-0.5 of it):
    # 5000 -0.04..-0.19, real +0.00. Guess ramps scaled by that median (Lithium's
    # voiced combs: 0.14, synthetic ~0.45): Lithium 1.08 -> 1.02, Potassium -0.07.
    # On the real excerpts the distance to a voiced frame tells guesses apart best
    # (AUC 0.77, evidence 0.65, centred share 0.50); on the synthetic ones the centred
    # share (0.88) and the evidence (0.86).
    # A sub-bass bin is all kick only when its overtone ratio is below this share of a
    # bass note's: real basses (808s, sub basses) are often nearly pure sines too.
    kick_strictness: float = 0.25
    # The vocal comb fades out below this (one-octave logistic): under it the bass and
    # kick dominate nearly every mix, and a melody octave error there costs the most.
    vocal_min_hz: float = 200.0
    # Lead vocals are mixed to the centre in nearly all popular music: a bin whose energy
    # sits in the side channel (wide pads, panned stabs, stereo reverb) loses vocal share
    # as centre_weight ** this (0 turns the prior off; mono input is all centre).
    # v12: Lithium's vocals are less centred than its guitars (energy-weighted
    # centre_weight 0.66 against 0.86; left/right correlation 0.53): power 0 gives its
    # vocals 1.08 -> 1.48 dB (true f0: 2.53 -> 4.41) but costs 5000 0.3 dB (true f0).
    # v16: 1.0 -> 1.25 now that `vocal_centre_lead` turns it off where the voice is not
    # the more centred (see vocal_peak_margin for the figures of the pair).
    vocal_centre_power: float = 1.25
    # v14: the prior holds only where the voice is the more centred: per chunk and
    # STFT, the comb's lead in centredness over the rest of its band (`comb_centre_lead`,
    # sure voiced frames) scales this power and the vocal floor's centre weighting, 0 at
    # a lead of vocal_centre_lead[0] or less, full at [1] (None: always full). Measured
    # leads: tuning songs (5000, 6000, 100) 0.054-0.138, Potassium 0.15-0.17, Lithium
    # 0.011 / -0.003 (93 / 186 ms windows) on its first 30 s chunk and 0.087 / 0.104
    # less centred on the second. Lithium 3.27 -> 3.57 (vocals 1.09 -> 1.67, drums 3.33
    # -> 3.58, other 0.38 -> 0.76), Potassium and the tuning seeds unchanged (no song's
    # lead under 0.054; on 3000 / 4000 one, dnb 3008 at 0.039, loses 0.006 dB; held-out
    # 7000 / 9000 / 11000 unchanged, 7.32 / 7.45 / 7.31). The vocal power alone (floor
    # kept centred) 3.46; with (-0.02, 0.04) 3.43. Power 0 everywhere: Lithium 3.59,
    # Potassium 2.44, but 5000 7.46 -> 7.22 (o>vocals 8.0 -> 10.3 % of the true
    # other's energy).
    vocal_centre_lead: tuple[float, float] | None = (0.01, 0.04)
    # Repetition (`repetition`): each frame's `repeat_neighbours` most similar frames, at
    # least `repeat_min_gap_sec` away, model the repeating accompaniment; a comb bin's
    # vocal share is scaled by its non-repeating share ** `vocal_repeat_power`.
    repetition: bool = True
    repeat_neighbours: int = 9
    repeat_min_gap_sec: float = 1.0
    vocal_repeat_power: float = 0.25
    # ... counting at most this much of a bin as repeating: REPET's share is 1 wherever
    # the similar bars are as loud there, which a voice singing the same hook again, or
    # another note on the same partial, also makes so; the comb bins at 1 held 45 % of
    # voice (seed 5000) and lost all of it. Tuning seeds 5000 / 6000 / 100 / 3000 / 4000
    # (avg dB, with the held refine pass; without the cap 7.26 / 7.47 / 7.27 / 7.30 /
    # 7.15): 0.9 7.35 / 7.53 / 7.35 / 7.36 / 7.25 (vocals +0.18), Lithium 3.19 -> 3.18
    # (vocals 1.11 -> 1.08), Potassium 1.95 -> 2.10 (vocals 4.89 -> 5.40). 5000 with
    # 0.5 7.31, 0.75 7.34, 0.97 7.34, 0.99 7.33; the same cap on the vocal floor 7.34;
    # 0.9 with the power at 0.15 7.33, 0.4 7.34. Real excerpts 0.8 / 0.95: Lithium
    # 3.16 / 3.18, Potassium 2.14 / 2.07. Held-out seeds 7000 / 9000 / 11000 (with the
    # held refine pass 7.19 / 7.21 / 7.16): 7.21 / 7.29 / 7.21.
    vocal_repeat_max: float = 0.9
    # Once the melody is known, the repeating share is found again with the frames that
    # sing the same note (within `repeat_same_pitch_cents`; 0: off) left out of each
    # frame's neighbours (`cues._voice_free_share`), and replaces the first share from
    # `repeat_same_pitch_min_hz` up: a sung line that comes back (a chorus, a hook)
    # repeats too, and REPET counted it as accompaniment (in comb bins where the voice
    # was over 3x the true "other", the comb's repetition factor alone would drop 1.7 %
    # of "other"'s energy worth of voice, seed 5000). Tuning seeds 5000 / 6000 / 100 /
    # 3000 / 4000 (avg dB; off 7.911 / 8.068 / 7.846 / 7.772 / 7.77): on every row
    # 7.947 / 8.140 / 7.880 / 7.807 (5000 vocals>other 3.44 -> 2.99 %, other>vocals
    # 4.88 -> 5.12 % of the true other's energy), Lithium 3.93 -> 3.89 (bass 8.03 ->
    # 7.90: below ~400 Hz its riffs and bass follow the sung notes), Potassium 2.48 ->
    # 2.59; 50 cents 5000 7.944. From 400 Hz up: 5000 / 6000 7.952 / 8.097, Lithium
    # 3.94, Potassium 2.53; there on the comb's factor only (floor and guess evidence
    # on the first share) 7.955 / 8.092 (100 / 3000 / 4000 7.871 / 7.784 / 7.816),
    # 3.94 / 2.51. Lowering vocal_repeat_power instead (0.25 -> 0.1 / 0) trades worse:
    # 5000 7.906 / 7.859. About one more REPET pass of the cue chunks in time.
    repeat_same_pitch_cents: float = 100.0
    repeat_same_pitch_min_hz: float = 400.0
    # Off the comb (and where the melody tracker hears no voice) the vocals still take
    # this share of the non-repeating, centred energy between vocal_min_hz and
    # vocal_max_hz: Melodia misses about a quarter of the sung frames, and consonants,
    # breaths and formant noise lie off any comb. v14 (with the sung-frame fill and the
    # high "other" hold): 0.5 -> 0.45 tuning seeds 5000 / 6000 / 100 7.886 / 8.038 /
    # 7.823 -> 7.911 / 8.068 / 7.846 (vocals +0.09..+0.1), Lithium 3.943 -> 3.929,
    # Potassium 2.489 -> 2.482; 0.42 7.924 / 8.083 / 7.858 but 3.919 / 2.477; 0.35
    # (bridging only) 5000 / 6000 / 100 +0.047 / +0.064 / +0.040, Lithium -0.054.
    vocal_floor_gain: float = 0.45
    # The floor only within half of `vocal_floor_hold_frames` (1 s in all) of a frame
    # whose comb counts (0: everywhere). Where no voice is near, the floor only took
    # pads and stabs. Seeds 5000/6000, vocals dB: v8 6.76, hold 5 frames 6.87, 21 6.83,
    # 43 6.80; the real excerpts lost 0.1 dB of Lithium's vocals at 5 frames and none
    # at 43 (a real voice that Melodia misses lies further from its voiced frames).
    # Floor off altogether: synth vocals 7.05 but the real ones -0.2 dB.
    vocal_floor_hold_frames: int = 43
    # In pitched frames whose comb holds what a lead voice would (`comb_evidence`: the
    # comb's non-repeating, centred share of its band), the floor's gain falls towards
    # vocal_floor_sure_gain, ramped from vocal_floor_sure_evidence[0] to [1] (None:
    # the floor everywhere at vocal_floor_gain). A voice tracked right holds its
    # energy on its comb, so what lies off it there is accompaniment; a voice tracked
    # wrong, or drowned, leaves a weak comb and keeps the floor. v15 oracle on seeds
    # 5000-5009 (true f0 and voicing): the floor's off-comb leak cost 0.8 dB of vocals,
    # yet the real excerpts' voiced frames hold 22 % of their vocal energy off the comb
    # (wrong pitch, consonants, reverb) and lost with the floor lowered everywhere
    # (gain 0 in voiced frames: 5000 vocals 8.81 -> 9.01, Lithium / Potassium avg
    # 3.929 -> 3.794 / 2.482 -> 2.425). Evidence of the pitched frames, median: synthetic
    # songs 0.42-0.49, Lithium 0.06, Potassium 0.17. Tuning seeds 5000 / 6000 / 100 (avg
    # dB; before 7.911 / 8.068 / 7.846, vocals 8.81 / 8.99 / 8.81): ramp (0.3, 0.5) to 0
    # 7.980 / 8.149 / 7.913 (vocals 9.06 / 9.28 / 9.05), Lithium 3.922, Potassium 2.477;
    # (0.2, 0.4) to 0.1 7.985 / 8.153 / 7.917, 3.917 / 2.473; (0.4, 0.6) to 0 7.962 /
    # 8.136 / 7.900, 3.924 / 2.480; (0.3, 0.7) 7.968 / 8.139 / 7.904, 3.924 / 2.479.
    vocal_floor_sure_gain: float = 0.0
    vocal_floor_sure_evidence: tuple[float, float] | None = (0.3, 0.5)
    # On the comb a bin's vocal share is tempered by what the same bin held in the
    # frames around it (`vocal_comb_rest_frames`, 1 s; 0: off) where the comb was sure
    # of the voice (`sure_comb_weight`, the floor's ramp) and lay elsewhere: there the
    # bin held only accompaniment, a pad's or chord's partial that sustains under the
    # sung note. Share P / (P + vocal_comb_rest_weight · A), A the mean power there;
    # kept at 1 where such frames fill less than `vocal_comb_rest_min_share` of the span
    # (a voice tracked doubtfully may be what those frames hold: the real excerpts'
    # combs are rarely sure). v15 oracle (seed 5000, true f0): the ideal mask on the
    # comb bins alone was worth +0.44 dB avg; the comb took too much of pads' partials.
    # Seed 5000 (avg 7.980, vocals 9.06): from every off-comb frame, 1 s, weight 1
    # 8.01, 0.5 8.02 (9.18) but Lithium 3.922 -> 3.89, Potassium 2.477 -> 2.40
    # (vocals 5.30 -> 5.02). Sure frames only, 1 s: tuning seeds 5000 / 6000 / 100 (avg
    # 7.980 / 8.149 / 7.913, vocals 9.06 / 9.28 / 9.05): weight 0.5 8.01 / 8.18 / 7.95
    # (vocals 9.15 / 9.37 / 9.16), weight 1 8.02 / 8.18 / 7.96 (9.18 / 9.40 / 9.22),
    # weight 2 5000 8.01; Lithium 3.92, Potassium 2.48 / 2.47 / 2.47 (vocals 5.30 ->
    # 5.29). Seed 5000 at weight 1: min share 0.1 7.98, 0.3 8.01, 0.4 8.00; weight 0.5
    # over 2 s 8.01, only below 600 Hz 8.00. The same test across frequency (off-comb
    # bins within +-50 Hz, mean or maximum, weight 0.3-1) 7.94-7.98.
    vocal_comb_rest_frames: int = 43
    vocal_comb_rest_weight: float = 1.0
    vocal_comb_rest_min_share: float = 0.2
    # The comb's vocal share per band scaled by the song's comb contrast there
    # (`comb_bands`: over the frames whose comb is sure of the voice, the mean power on
    # the teeth over that between them, half-octave bands from 200 Hz; a song-level
    # cue), ramped from vocal_band_contrast[0] (0) to [1] (1) (None: off); bands with
    # fewer than vocal_band_min_teeth tooth bins keep the comb. Measured contrasts: the
    # synthetic voice's bands 5-130, above its last partial (~1.2-1.6 kHz) 0.5-2.3;
    # Potassium 6-32 up to 1.6 kHz, 0.3-3.1 above; Lithium 9-14 up to 1.6 kHz, 0.3-4.8
    # above. Tuning seeds 5000 / 6000 / 100 / 3000 / 4000 (avg dB; off 8.13 / 8.28 /
    # 8.06 / 7.92 / 7.97, vocals 9.50 / 9.71 / 9.52 / 8.83 / 8.57): (1, 3) 8.19 / 8.35
    # / 8.12 / 7.99 / 8.03 (vocals +0.16..+0.20), Lithium 3.91 -> 3.90, Potassium 2.51
    # -> 2.49 (vocals 5.43 -> 5.36); held-out 7000 / 9000 / 11000 7.78 / 8.05 / 7.93 ->
    # 7.83 / 8.12 / 7.99 (vocals 8.42 -> 8.57 on 7000). (1, 2) 5000 / 6000 / 100 8.18
    # / 8.34 / 8.11, Lithium 3.91, Potassium 2.49; (1, 4) 5000 8.20, 3.87 / 2.49;
    # (0.5, 2) 5000 8.17, 3.91 / 2.50. As a share, 1 - 0.75 / contrast in every band:
    # 5000 8.17, 3.87 / 2.48. The cue pass's extra STFT: speed unchanged (14-15x
    # realtime per core), the 10-minute song's peak RSS 1223 MB. Counting every
    # frame Melodia heard as voiced, not only the sure ones: 5000 8.19 but Lithium
    # 3.76 (vocals 2.51 -> 2.18; its wrong combs read 1.0-1.5 above 1.1 kHz). Per chunk
    # instead of per song (the chunk's sure frames, at least 20): 5000 8.20, 3.92 / 2.49,
    # but the stems then depended on the chunk size.
    vocal_band_contrast: tuple[float, float] | None = (1.0, 3.0)
    vocal_band_edges_hz: tuple[float, ...] = (200.0, 283.0, 400.0, 566.0, 800.0, 1131.0,
                                              1600.0, 2263.0, 3200.0, 4525.0, 6400.0,
                                              9051.0, 12800.0)
    vocal_band_min_teeth: int = 200
    # Bass lines are mixed to the centre too: bass share scaled by centre ** this.
    bass_centre_power: float = 1.0
    # Bass line (`bassline`): in frames with a bass note the sub-bass below `bass_sub_hz`
    # is split between the note's harmonic comb (bass) and the rest (the kick), blended
    # with the HPSS/overtone split by `bass_comb_weight` (0: off): the comb alone
    # misjudged real basses that glide or wobble. Above `bass_sub_hz` the crossover
    # stays: giving the bass its comb there lost more to the pads' partials than it won
    # (v10: moving only the bins between the bass's partials up to 600 Hz to "other",
    # at half weight, gained +0.02 dB on the synthetic songs and cost Lithium 0.05).
    # Since the tracker reaches A0 (v10: an 808's C1 is followed, not parked on the floor)
    # the comb earns more weight: tuning seeds 5000 / 6000 / 100 / 3000 / 4000 (avg dB;
    # 0.5 7.35 / 7.53 / 7.35 / 7.36 / 7.25): 0.75 +0.006 / +0.004 / +0.006 / +0.006 /
    # +0.005; Potassium 2.10 -> 2.20 (drums -5.77 -> -5.55, bass 9.45 -> 9.62), Lithium
    # 3.18 -> 3.17; 1.0 5000 7.36, Potassium 2.26, Lithium 3.13 (its bass glides);
    # 0.25 5000 7.34, Potassium 1.98, Lithium 3.16.
    bass_comb_weight: float = 0.75
    bass_sub_hz: float = 100.0
    bass_line: BassParams = field(default_factory=BassParams)  # tracking and comb teeth
    # Kick model (`kick`): below `kick_model_max_hz`, where the song has a repeating
    # kick, the drums/bass split of the bins is blended with the re-synthesised kick's
    # Wiener share by `kick_model_weight` (0: off). A blend beats either alone: the
    # model misses kicks that vary, the overtone and comb tests miss the beating. A
    # kick fitted as a sweep (`kick_sweep`, v8) earns more weight (tuning seeds
    # 5000-5009: 0.5 6.49 dB, 0.8 6.61; seeds 100-104: 0.5 6.32, 0.8 6.43, 1.0 6.40);
    # a median template keeps `kick_median_weight`: a false one (9 stray hits in a
    # held-out rock song) cost 1 dB of drums at 0.8.
    kick: KickParams = field(default_factory=KickParams)
    kick_model_weight: float = 0.8
    kick_median_weight: float = 0.5
    # Where the kick's waveform is a fitted sweep (`kick.KickTrack.swept`), the drums'
    # low rows after the refine pass blend the kick's complex share (subtraction with
    # its phase, `kick.kick_model_ratio`) by this weight, the bass taking the rest of
    # what the two held (tuning seeds 5000-5009 / 100-109, avg dB: off 6.64 / 6.62;
    # 0.5 6.95 / 6.96; 0.75 7.00 / 7.02; 1.0 6.96 / 7.00). v16, with the softer hits
    # and the tone-aware hit gains (`kick`), tuning seeds 5000 / 6000 / 100 / 3000 /
    # 4000: 0.75 8.33 / 8.43 / 8.32 / 8.17 / 8.13; 0.9 8.33 / 8.47 / 8.33 / 8.19 /
    # 8.17; 1.0 8.31 / 8.47 (5000 / 6000); real excerpts unchanged (their kicks keep
    # the median template). Not for a median template:
    # on Potassium, whose "kick" is bass notes, 0.5 cost 0.13 dB and 1.0 0.43.
    kick_complex_weight: float = 0.9
    kick_model_max_hz: float = 100.0
    # The model's share is |K|^p / (|K|^p + |X - K|^p): a firmer split than Wiener's
    # p = 2 measured better (tuning seeds: p 1 -0.16 dB, 3 +0.05, 4 +0.06, 6-10 +0.07).
    kick_model_power: float = 4.0
    # Second pass (`refine`): the bins re-shared by each stem's estimate ** refine_power
    # with "other"'s estimate held by a time median of other_hold_frames (0.35 s; 1: off).
    # Tuning seeds 3000/4000 (avg dB, two windows, v6 5.99): hold alone 6.04; power 1.25 6.13,
    # 1.5 6.16 (0.7 alone 5.68, 2 6.07, 3 5.99). The real excerpts (Lithium,
    # Potassium; v6 3.06, 1.53) had hold alone 3.14, 1.58; power 1.25 3.06, 1.59;
    # 1.5 2.98, 1.57: a firmer split suits clean synthetic drums, not real ones.
    # Hold 9 frames 0.01 dB worse than 15, 21 the same.
    # v14: held longer and higher, "other" keeps more of the pads' partials under the
    # voice (o>vocals 8.0 -> 6.8 % of the true other's energy on 5000) but the real
    # excerpts lose: seed 5000 (7.46) / Lithium (3.46 with the centre lead on the
    # vocal power only, 3.27 without) / Potassium (2.48): 31 frames 7.48; the 70th
    # percentile over 15 frames 7.47 (vocals>o 5.2 -> 6.8 %); 70th over 31 7.52, over
    # 43 (1 s) 7.56 / 3.39 / 2.48; 43 frames from 300 Hz up: median 7.51 / - / 2.48
    # (Lithium 3.20 without the lead), 60th 7.55 / 3.42 / 2.48 (6000 +0.05, 100 +0.10,
    # every style up), 70th 7.55 / 3.23 without the lead; 60th on 150-400 Hz only
    # 3.42 / 2.50; the 60th over 43 frames as a floor under the 15-frame median
    # (never lower) 7.50 / 3.25 without the lead.
    refine_power: float = 1.25
    # v14 (with the gate, the centre lead and the sung-frame fill): from
    # `other_high_min_hz` up (None: off) "other"'s estimate is held at the
    # `other_high_percentile` over `other_high_frames` instead (a pad or chord under the
    # voice sustains; the voice's partials move on). Tuning seeds 5000 / 6000 / 100 (avg
    # dB; off 7.844 / 8.006 / 7.760, Lithium 3.951, Potassium 2.493): 300 Hz, 60th over
    # 29 frames (0.67 s) 7.886 / 8.038 / 7.823 (other +0.05..+0.06, vocals +0.1),
    # 3.943 / 2.489. Before the search (bridging only, 7.767 / 8.005 / 7.749, 3.923 /
    # 2.493): 43 frames 7.853 / 8.048 / 7.846 but Lithium 3.871 (other 1.09 -> 0.95);
    # 43 frames at the 55th 3.867; from 600 Hz up 3.880; 29 frames 7.814 / 8.034 /
    # 7.821, 3.913 / 2.490. With the floor at 0.45 (7.911, 3.929 / 2.482): the 65th
    # 5000 7.909, 3.927 / 2.482; 37 frames 7.936 but Lithium 3.909 (other 1.09 -> 1.04).
    other_high_min_hz: float | None = 300.0
    other_high_frames: int = 29
    other_high_percentile: float = 60.0
    other_hold_frames: int = 15
    # Then this many further passes (power 1) re-share what drums and vocals leave
    # between bass and "other", "other"'s estimate rebuilt from the last pass and held
    # over `harmonic_hold_frames` (1.0 s; 1: off): chords sustain for a bar or so, and
    # their roots double the bass an octave or two up, so where a bass note took a pad's
    # root in some frames, the frames around it where the root sounded alone claim it
    # back for "other"; a bass note changes within the second. Tuning seeds 5000 / 6000
    # / 100 / 3000 / 4000 (avg dB; v11 7.23 / 7.44 / 7.25 / 7.27 / 7.12; Lithium 3.07,
    # Potassium 1.93): one pass 7.26 / 7.47 / 7.27 / 7.30 / 7.15 (bass +0.05, other
    # +0.04; Lithium 3.19 (bass 7.77 -> 8.15), Potassium 1.95); 5000 / 6000 held 0.72 s
    # 7.24 / 7.46, 1.4 s 7.25 / 7.46. With the vocals re-shared too: 7.30 / 7.46 / 7.29
    # / 7.30 / 7.20, Lithium 3.17, Potassium 1.95, but per style the vocals moved
    # -0.5..+0.6 dB (house and drum'n'bass lost) and the unit tests' dnb song -0.12
    # (drums also re-shared, hold 0.35 s: drums -0.03). Two passes (0.35 s) and power
    # 1.1 lost. Held-out seeds 7000 / 9000 / 11000: 7.15 / 7.19 / 7.12 -> 7.19 / 7.21 /
    # 7.16. Run only on the rows the bass reaches, it costs no measurable time; peak RSS
    # on the 10-minute song 1179 MB. v16 re-sweep (the same hold sets the bass reach's
    # median; d5dfe22 43 frames: 5000 / 6000 / 100 / 3000 / 4000 8.395 / 8.534 / 8.399 /
    # 8.257 / 8.229, Lithium 3.900, Potassium 2.488): 61 frames (1.4 s) 8.412 / 8.540 /
    # 8.400 / 8.267 / 8.238 (bass, other +0.01..+0.03), Lithium 3.918, Potassium 2.505;
    # 31 8.370 / 8.512, Lithium 3.799; 73 8.409 / 8.520; 87 8.390 / 8.452 (6000's other
    # -0.16). Not kept: a hold longer than the chunks' 1 s overlap makes the stems
    # depend on the chunk size (`test_result_does_not_depend_on_chunk_size`).
    refine_held_passes: int = 1
    harmonic_hold_frames: int = 43
    # In that pass, between held_peak_min_hz and held_peak_max_hz (min = max: off) "other"'s
    # estimate is held at its maximum over the span, not its median: there the bass's 2nd
    # and 3rd partials share bins with chord roots and low chord tones, the first pass gave
    # the bass those bins whenever its note sounded, and a sustained chord's level is what
    # it reached between the notes. Tuning seeds 5000 / 6000 / 100 / 3000 / 4000 (avg dB,
    # off 7.348 / 7.533 / 7.356 / 7.362 / 7.256): 100-160 Hz 7.433 / 7.612 / 7.455 / 7.457
    # / 7.344 (bass +0.16, other +0.19), Lithium 3.201 -> 3.222, Potassium 2.479 -> 2.477;
    # held-out 7000 7.213 -> 7.31 (bass +0.17, other +0.20). Seed 5000 with other bands:
    # 100-200 Hz 7.459, Lithium / Potassium 3.225 / 2.451; every held row 7.463, 3.064 /
    # 2.369 (above ~160 Hz Lithium's guitars are no pads: its bass lost 0.5 dB); below
    # 100 Hz 7.351, 3.210 / 2.406 (Potassium's sub-bass lost 0.24 dB); 0-150 Hz 7.429,
    # 3.230 / 2.404. The 90th percentile instead of the maximum on 100-160 Hz 7.417, 3.215
    # / 2.477; on every row, percentiles below the median lost on 5000 (35th 7.240) and
    # above it lost on the real excerpts (65th 3.156 / 2.460). With this pass, seed 5000:
    # bass_crossover_hz 190 7.460 but Lithium 3.080, 260 7.300 (Lithium 3.271, Potassium
    # 2.483); bass_centre_power 2 (before it) 7.394, Lithium 3.219, Potassium 2.424 (its
    # bass is wider than its chords); spatial_max_hz 600 7.436, 3.220 / 2.482.
    held_peak_min_hz: float = 100.0
    held_peak_max_hz: float = 160.0
    # Third pass (`spatial.multichannel_wiener`, stereo only): between spatial_min_hz and
    # spatial_max_hz the four stems are re-shared per bin by their magnitude (psd power
    # 1: where every stem has the same stereo image the first-pass shares are kept) and
    # their stereo image (a 2x2 covariance per frequency over the chunk), with
    # `spatial_iterations` EM re-fits. The band is where the synthetic pads (wide, detuned
    # pairs) share the bass's partials. Tuning seeds 5000 / 6000 / 100 (avg dB, with the
    # vocal window weights of DspParams; without the pass 7.19 / 7.41 / 7.22) and
    # Lithium / Potassium (without 3.06 / 1.92): 100-400 Hz 7.23 / 7.45 / 7.26, 3.06 /
    # 1.91; 100-300 Hz 5000 7.22, 3.07 / 1.91; 100-600 Hz 7.24, 3.06 / 1.91; 100-1000 Hz
    # 7.25, 3.05 / 1.92; 100 Hz up 7.25, 3.01 / 1.92 and a third slower; 100-400 Hz with
    # the diagonal loading at 1e-2 (default 1e-3) 7.24, 3.06 / 1.91; with one EM re-fit
    # 7.17, 3.06 / 1.88; psd power 0.75 7.22 / 7.43 / 7.25, 3.09 / 1.92 (softer suits
    # the real songs, not the tuning set); 1.5 5000 7.17, 2.99 / 1.88. On both chunk
    # windows the pass cost Potassium 0.01 dB; on the 93 ms window only (the default,
    # DspParams.spatial_max_window_sec) 7.23 / 7.44 / 7.25, 3.07 / 1.93.
    # Below 100 Hz the kick's complex (phase-subtracting) shares must
    # stay: the filter's real gains cost 1 dB of drums there. Psd power 2 (Wiener's rule,
    # the first-pass shares squared) from 100 Hz up: 5000 7.12, 6000 7.32, Lithium 2.72.
    # With an earlier version whose loading was too strong at psd power < 2 (it sent
    # ~2% of loud bins to "other"): power 1.25 sharpened the synthetic vocals (+0.15 dB)
    # but cost Lithium's 0.14; weighting each frame of the covariances by the stem's
    # share (** 1 or 2) changed nothing. Held-out seeds 7000 / 9000: 7.10 / 7.16 without
    # either change, 7.11 / 7.17 with the window weights alone, 7.15 / 7.19 with both
    # (the pass on both windows: 7.16 / 7.19).
    spatial_filter: bool = True
    spatial_iterations: int = 0
    spatial_psd_power: float = 1.0
    spatial_min_hz: float = 100.0
    spatial_max_hz: float = 400.0
    # v15: the band reaches up to spatial_wide_max_hz (None: never) in the chunks where
    # the vocal estimate's energy between spatial_max_hz and it is more centred than the
    # rest of the mix's by at least spatial_wide_lead (`dsp.vocal_centre_lead`): there
    # the stereo image tells a centred voice from wide pads and panned guitars; where
    # the voice is the wider (Lithium) the filter would pull it apart. Seed 5000 with
    # the band always wide: up to 600 Hz 7.911 -> 7.923, 1000 Hz 7.939 (vocals +0.08,
    # other +0.03; Lithium 3.929 -> 3.904, Potassium 2.482 -> 2.491), 2000 Hz 7.948.
    # Gated at 2000 Hz: tuning seeds 5000 / 6000 / 100 +0.037 / +0.032 / +0.036 (vocals
    # +0.1, other +0.04), 3000 / 4000 +0.027 / +0.030; Lithium unchanged (3.929: the
    # gate stayed shut), Potassium 2.482 -> 2.491; held-out 7000 / 9000 / 11000 7.565 /
    # 7.777 / 7.758 -> 7.587 / 7.816 / 7.788. Speed and the 10-minute song's peak RSS
    # (1173 MB) unchanged within noise.
    spatial_wide_max_hz: float | None = 2000.0
    spatial_wide_lead: float = 0.04


@dataclass(frozen=True)
class Medians:
    """HPSS medians of a magnitude spectrogram, both (bins, frames)."""

    harmonic: np.ndarray  # median over time: steady energy
    percussive: np.ndarray  # median over frequency: broadband energy


def median_along_time(magnitude: np.ndarray, *, kernel: int) -> np.ndarray:
    """Median over `kernel` frames for each bin; (bins, frames) → same shape, each row
    reflected at its ends (scipy's "reflect")."""
    return _rank_along_time(magnitude, kernel=kernel,
                            filter_1d=lambda row: median_filter(row, size=kernel,
                                                                mode="reflect"))


def percentile_along_time(magnitude: np.ndarray, *, kernel: int, percentile: float
                          ) -> np.ndarray:
    """`percentile` (0-100) over `kernel` frames for each bin, as `median_along_time`."""
    return _rank_along_time(magnitude, kernel=kernel,
                            filter_1d=lambda row: percentile_filter(
                                row, percentile, size=kernel, mode="reflect"))


def _rank_along_time(magnitude: np.ndarray, *, kernel: int,
                     filter_1d: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`filter_1d` (a 1-D rank filter over `kernel` samples, reflecting at the ends) along
    the frames of each bin of `magnitude` (bins, frames).

    The rows are reflect-padded and laid end to end, so that one 1-D rank filter does
    them all: scipy's 1-D filter is several times faster than the n-D one with a (1, k)
    footprint, and one call saves the per-row overhead.
    """
    magnitude = np.asarray(magnitude, dtype=np.float32)
    half = kernel // 2
    if half == 0 or magnitude.size == 0:
        return magnitude.copy()
    if magnitude.shape[1] <= half:  # rows too short to pad by reflection: row by row
        out = np.empty_like(magnitude)
        for row in range(magnitude.shape[0]):
            out[row] = filter_1d(magnitude[row])
        return out
    padded = np.pad(magnitude, ((0, 0), (half, half)), mode="symmetric")
    filtered = filter_1d(padded.ravel())
    return filtered.reshape(padded.shape)[:, half:half + magnitude.shape[1]]


def median_along_freq(magnitude: np.ndarray, *, kernel: int) -> np.ndarray:
    """Median over `kernel` bins for each frame; (bins, frames) → same shape."""
    transposed = np.ascontiguousarray(magnitude.T)
    return median_along_time(transposed, kernel=kernel).T


def hpss_medians(magnitude: np.ndarray, *, params: MaskParams) -> Medians:
    magnitude = np.asarray(magnitude, dtype=np.float32)
    return Medians(
        harmonic=median_along_time(magnitude, kernel=params.harmonic_kernel_frames),
        percussive=median_along_freq(magnitude, kernel=params.percussive_kernel_bins),
    )


def soft_mask(target: np.ndarray, rival: np.ndarray, *, power: float) -> np.ndarray:
    """Wiener-style share of `target` against `rival`, in [0, 1]."""
    target_p = np.power(target, power)
    return target_p / (target_p + np.power(rival, power) + EPS)


def lowpass_weight(freqs_hz: np.ndarray, *, crossover_hz: float, octaves: float) -> np.ndarray:
    """Logistic crossover on a log-frequency axis: 1 well below `crossover_hz`, 0 above;
    `octaves` is the width over which it falls from about 0.9 to 0.1."""
    octave_distance = np.log2(np.maximum(freqs_hz, 1.0) / crossover_hz)
    slope = 4.4 / max(octaves, 1e-3)
    return 1.0 / (1.0 + np.exp(np.clip(octave_distance * slope, -60.0, 60.0)))


def vocal_band(freqs_hz: np.ndarray, *, params: MaskParams) -> np.ndarray:
    """Where the vocal comb may hold anything, (bins,) float32 in [0, 1]: up to
    vocal_max_hz, faded out below vocal_min_hz over an octave (0: no low cut)."""
    band = (freqs_hz <= params.vocal_max_hz).astype(np.float32)
    if params.vocal_min_hz > 0:
        band *= 1.0 - lowpass_weight(freqs_hz, crossover_hz=params.vocal_min_hz, octaves=1.0)
    return band


def _sub_bass_rows(freqs_hz: np.ndarray, *, min_hz: float, max_hz: float, n_bins: int) -> slice:
    """Bins from min_hz to max_hz whose 3rd harmonic is still inside the spectrum."""
    bin_hz = float(freqs_hz[1] - freqs_hz[0])
    first = max(1, int(np.ceil(min_hz / bin_hz)))
    last = max(first, min(int(np.floor(max_hz / bin_hz)) + 1, (n_bins - 1) // 3 + 1))
    return slice(first, last)


def overtone_ratio(
    magnitude: np.ndarray, *, freqs_hz: np.ndarray, min_hz: float, max_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """For the sub-bass bins f in min_hz..max_hz: (overtone ratio, energy), both
    (bins, frames). The ratio is max(|X(2f)|, |X(3f)|) / |X(f)|, the energy |X(f)|²."""
    rows = _sub_bass_rows(freqs_hz, min_hz=min_hz, max_hz=max_hz, n_bins=magnitude.shape[0])
    index = np.arange(rows.start, rows.stop)
    fundamental = np.maximum(magnitude[index], EPS)
    overtones = np.maximum(magnitude[2 * index], magnitude[3 * index])
    return overtones / fundamental, fundamental**2


def kick_reference(ratio: np.ndarray, energy: np.ndarray, *, quantile: float) -> float:
    """The overtone ratio of a bass note: a high percentile of the ratio over the strong
    sub-bass bins, where bass notes dominate. 0 when there is no sub-bass at all."""
    if ratio.size == 0:
        return 0.0
    strong = energy > 0.05 * float(energy.max())
    return float(np.percentile(ratio[strong], quantile)) if strong.any() else 0.0


def kick_share(
    magnitude: np.ndarray, *, freqs_hz: np.ndarray, min_hz: float, max_hz: float,
    reference: float
) -> tuple[slice, np.ndarray]:
    """Drum share of the sub-bass bins (min_hz..max_hz) from their missing overtones.

    Kick tails are nearly pure low sines; bass notes carry overtones. A bin whose overtone
    ratio is 0 is all kick, one at `reference` (see `kick_reference`) or above all bass.
    Returns (the bins' slice, share (bins in slice, frames) in [0, 1]).
    """
    rows = _sub_bass_rows(freqs_hz, min_hz=min_hz, max_hz=max_hz, n_bins=magnitude.shape[0])
    ratio, _energy = overtone_ratio(magnitude, freqs_hz=freqs_hz, min_hz=min_hz, max_hz=max_hz)
    if reference <= 0:
        return rows, np.zeros_like(ratio)
    return rows, np.clip(1.0 - ratio / reference, 0.0, 1.0)


def comb_mask(
    freqs_hz: np.ndarray, melody: MelodyTrack, *, n_harmonics: int, width_hz: float
) -> np.ndarray:
    """Mask (bins, frames) in [0, 1]: 1 on the teeth k·f0 ± (width + k·spread/2) of voiced
    frames, falling off as a Gaussian of `width_hz` outside them, 0 where unvoiced."""
    n_frames = melody.f0_hz.size
    mask = np.zeros((freqs_hz.size, n_frames), dtype=np.float32)
    voiced = np.flatnonzero(melody.voiced)
    if voiced.size == 0:
        return mask
    f0 = melody.f0_hz[voiced][None, :]
    spread = melody.spread_hz[voiced][None, :]
    freqs = freqs_hz[:, None]
    harmonic = np.clip(np.rint(freqs / f0), 1, n_harmonics)
    distance = np.abs(freqs - harmonic * f0)
    slack = np.maximum(distance - 0.5 * harmonic * spread - width_hz, 0.0)
    teeth = np.exp(-0.5 * (slack / width_hz) ** 2)
    # No teeth below the fundamental or above the last harmonic.
    inside = (freqs > 0.75 * f0) & (freqs < (n_harmonics + 0.5) * f0)
    mask[:, voiced] = np.where(inside, teeth, 0.0)
    return mask


def comb_rest_share(
    power: np.ndarray, comb: np.ndarray, *, sure: np.ndarray, kernel_frames: int,
    weight: float, min_share: float,
) -> np.ndarray:
    """Each comb bin's share against the accompaniment that bin holds nearby, (bins,
    frames) in [0, 1], from (bins, frames) power and comb and the (frames,) `sure`
    weight: the accompaniment's power A is the bin's mean power over the frames within
    `kernel_frames` where the comb is sure of the voice and off that bin (a sure voice
    elsewhere leaves the bin to the accompaniment), the share P / (P + weight · A); 1
    where such frames weigh less than `min_share` of the span."""
    off = np.clip(1.0 - comb, 0.0, 1.0) * sure[None, :]
    held = uniform_filter1d(power * off, size=kernel_frames, axis=1, mode="nearest")
    known = uniform_filter1d(off, size=kernel_frames, axis=1, mode="nearest")
    # The running means may dip a hair under zero (float rounding).
    rest = np.maximum(held, 0.0) / (np.maximum(known, 0.0) + 1e-6)
    rest = np.where(known > min_share, rest, 0.0)
    return np.clip(power / (power + weight * rest + EPS), 0.0, 1.0).astype(np.float32)


def comb_evidence(
    magnitude: np.ndarray, comb: np.ndarray, *, repeating: np.ndarray,
    centre: np.ndarray | None, band: np.ndarray,
) -> np.ndarray:
    """How much a frame's melody comb looks like a lead voice, (frames,) in [0, 1], from
    (bins, frames) magnitude, comb, repeating share and centre weight and the (bins,)
    band weight: the comb's energy share that does not repeat, times its centred share
    squared, times the comb's share of the band's energy. Each is higher for a sung
    line (changing, mixed to the centre, the loudest thing in its range) than for a
    pad's or a stab's contour."""
    power = np.asarray(magnitude, dtype=np.float32) ** 2
    band_power = band[:, None] * power
    teeth = comb * band_power
    energy = teeth.sum(axis=0) + EPS
    fresh = (teeth * (1.0 - repeating)).sum(axis=0) / energy
    centred = np.ones_like(energy) if centre is None else (teeth * centre).sum(axis=0) / energy
    share = energy / (band_power.sum(axis=0) + EPS)
    return np.clip(fresh * centred**2 * share, 0.0, 1.0)


def sure_comb_weight(
    magnitude: np.ndarray, comb: np.ndarray, *, presence: np.ndarray,
    repeating: np.ndarray, centre: np.ndarray | None, band: np.ndarray,
    evidence_range: tuple[float, float],
) -> np.ndarray:
    """How sure each frame's comb is of the voice, (frames,) in [0, 1]: its presence
    times its `comb_evidence` ramped from evidence_range[0] (0) to [1] (1); 0 where
    unpitched. magnitude, comb, repeating, centre: (bins, frames); band: (bins,)."""
    weight = np.zeros(comb.shape[1], dtype=np.float32)
    pitched = np.flatnonzero(presence > 0)
    if pitched.size == 0:
        return weight
    evidence = comb_evidence(magnitude[:, pitched], comb[:, pitched],
                             repeating=repeating[:, pitched],
                             centre=None if centre is None else centre[:, pitched], band=band)
    low, high = evidence_range
    ramp = np.clip((evidence - low) / max(high - low, 1e-9), 0.0, 1.0)
    weight[pitched] = presence[pitched] * ramp
    return weight


def comb_centre_lead(
    magnitude: np.ndarray, comb: np.ndarray, *, centre: np.ndarray, band: np.ndarray,
    frames: np.ndarray,
) -> float:
    """How much more centred the melody comb's energy is than the rest of its band: the
    energy-weighted mean `centre_weight` on the comb minus that off it, over the (bins,)
    `band` weights and the frames where `frames` (bool, (frames,)) is set; in [-1, 1],
    0 when no frame is set. magnitude, comb, centre: (bins, frames)."""
    if not np.any(frames):
        return 0.0
    power = np.asarray(magnitude[:, frames], dtype=np.float32) ** 2 * band[:, None]
    teeth = comb[:, frames]
    on = teeth * power
    off = power - on
    weight = centre[:, frames]
    on_centre = float((on * weight).sum() / (on.sum() + EPS))
    off_centre = float((off * weight).sum() / (off.sum() + EPS))
    return on_centre - off_centre


def centre_weight(spectrum: np.ndarray) -> np.ndarray:
    """How centred each bin is, (bins, frames) in [0, 1], from a (channels, bins, frames)
    spectrum: 1 when left equals right, 0 when the bin is hard-panned or decorrelated
    (|L+R|² no larger than |L−R|²). Mono input is 1 everywhere."""
    if spectrum.shape[0] != 2:
        return np.ones(spectrum.shape[1:], dtype=np.float32)
    mid = np.abs(spectrum[0] + spectrum[1]) ** 2
    side = np.abs(spectrum[0] - spectrum[1]) ** 2
    share = mid / (mid + side + EPS)
    return np.clip(2.0 * share - 1.0, 0.0, 1.0).astype(np.float32)


def stem_masks(
    magnitude: np.ndarray,
    *,
    medians: Medians,
    freqs_hz: np.ndarray,
    melody: MelodyTrack,
    bass_overtone_ratio: float,
    params: MaskParams,
    centre: np.ndarray | None = None,
    repeating: np.ndarray | None = None,
    bass_f0_hz: np.ndarray | None = None,
    kick_model: np.ndarray | None = None,
    comb_gain: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Masks for "vocals", "drums" and "bass" (each (bins, frames) float32 in [0, 1],
    summing to at most one); the "other" mask is one minus their sum.
    `bass_overtone_ratio` is the song's reference for the kick test (`kick_reference`);
    `centre` is `centre_weight` of the stereo spectrum (None: mono, all centre);
    `kick_model`, (rows, frames): the kick model's share (`kick.kick_model_share`) of the lowest
    rows (the bins below kick_model_max_hz), None where the song has no kick model;
    `comb_gain`, (bins,): scales the comb's vocal share per bin (`comb_bands.band_gain`;
    None: 1)."""
    magnitude = np.asarray(magnitude, dtype=np.float32)
    harmonic_share = soft_mask(medians.harmonic, medians.percussive, power=params.mask_power)
    percussive_share = 1.0 - harmonic_share
    rows, kick = kick_share(magnitude, freqs_hz=freqs_hz, min_hz=params.kick_min_hz,
                            max_hz=params.kick_max_hz,
                            reference=bass_overtone_ratio * params.kick_strictness)
    percussive_share[rows] = np.maximum(percussive_share[rows], kick)

    comb = comb_mask(freqs_hz, melody, n_harmonics=params.n_harmonics,
                     width_hz=params.comb_width_hz)
    band = vocal_band(freqs_hz, params=params)
    comb *= band[:, None]
    teeth = comb.copy()  # before the guesses' doubt scales it
    # How far each frame's comb counts (1 voiced, less for a doubtful guess, 0 unvoiced).
    presence = melody.voiced.astype(np.float32)
    if melody.certainty is not None and repeating is not None:
        # A guessed pitch counts as far as its comb holds what a lead voice would:
        # non-repeating, centred energy that dominates its band.
        unsure = np.flatnonzero(melody.voiced & (melody.certainty < 1.0))
        if unsure.size:
            evidence = comb_evidence(
                magnitude[:, unsure], comb[:, unsure], repeating=repeating[:, unsure],
                centre=None if centre is None else centre[:, unsure], band=band)
            low, high = params.guess_evidence
            if params.guess_near_frames > 1:
                near = maximum_filter1d((melody.certainty >= 0.5).astype(np.float32),
                                        size=params.guess_near_frames, mode="nearest")
                far = near[unsure] < 0.5
                far_low, far_high = params.guess_far_evidence
                low = np.where(far, far_low, low)
                high = np.where(far, far_high, high)
            ramp = np.clip((evidence - low) / (high - low), 0.0, 1.0)
            presence[unsure] = np.maximum(melody.certainty[unsure], ramp)
            comb[:, unsure] *= presence[unsure][None, :]
    # On the comb a bin is vocal when it stands out as a narrow peak over its neighbours.
    peak_share = soft_mask(magnitude, params.vocal_peak_margin * medians.percussive,
                           power=params.mask_power)
    vocals = comb * np.maximum(peak_share, harmonic_share)
    sure = None
    if repeating is not None and params.vocal_floor_sure_evidence is not None:
        sure = sure_comb_weight(magnitude, comb, presence=presence, repeating=repeating,
                                centre=centre, band=band,
                                evidence_range=params.vocal_floor_sure_evidence)
    if comb_gain is not None:
        # Bands where the voice has no partials (`comb_bands`): the teeth there only
        # take the accompaniment's.
        vocals *= comb_gain[:, None]
    if sure is not None and params.vocal_comb_rest_frames > 1:
        # What a pad or chord held on a comb bin while the voice sang elsewhere it
        # still holds under the sung note.
        vocals *= comb_rest_share(magnitude**2, teeth, sure=sure,
                                  kernel_frames=params.vocal_comb_rest_frames,
                                  weight=params.vocal_comb_rest_weight,
                                  min_share=params.vocal_comb_rest_min_share)
    # How far the centre prior holds in this chunk (1: fully).
    centre_trust = 1.0
    if centre is not None and params.vocal_centre_lead is not None:
        # It tells the voice from what shares its band only where the voice is the
        # more centred of them (sure voiced frames).
        lead = comb_centre_lead(magnitude, comb, centre=centre, band=band,
                                frames=presence >= 0.99)
        low, high = params.vocal_centre_lead
        centre_trust = float(np.clip((lead - low) / (high - low), 0.0, 1.0))
    if centre is not None and params.vocal_centre_power * centre_trust > 0:
        vocals *= centre ** (params.vocal_centre_power * centre_trust)
    if repeating is not None and params.vocal_repeat_power > 0:
        vocals *= (1.0 - params.vocal_repeat_max * repeating) ** params.vocal_repeat_power
    if repeating is not None and params.vocal_floor_gain > 0:
        floor = params.vocal_floor_gain * (1.0 - repeating) * band[:, None]
        if centre is not None and centre_trust > 0:
            floor *= centre ** centre_trust
        if params.vocal_floor_hold_frames > 1:
            floor *= maximum_filter1d(presence, size=params.vocal_floor_hold_frames,
                                      mode="nearest")[None, :]
        if sure is not None:
            gain_ratio = params.vocal_floor_sure_gain / params.vocal_floor_gain
            floor *= (1.0 - sure * (1.0 - gain_ratio))[None, :]
        vocals = np.maximum(vocals, floor)
    drums = percussive_share * (1.0 - vocals)
    low = lowpass_weight(freqs_hz, crossover_hz=params.bass_crossover_hz,
                         octaves=params.crossover_octaves)[:, None]
    bass = np.clip(1.0 - vocals - drums, 0.0, 1.0) * low
    if bass_f0_hz is not None and params.bass_comb_weight > 0 and np.any(bass_f0_hz > 0):
        # Only the sub-bass rows (a prefix of the ascending bins) change.
        n_sub = int(np.count_nonzero(freqs_hz < params.bass_sub_hz))
        comb_b = bass_comb(freqs_hz[:n_sub], bass_f0_hz, params=params.bass_line)
        voiced = (bass_f0_hz > 0)[None, :]
        open_sub = 1.0 - vocals[:n_sub]
        weight = params.bass_comb_weight
        drums[:n_sub] = np.where(
            voiced, weight * open_sub * (1.0 - comb_b) + (1.0 - weight) * drums[:n_sub],
            drums[:n_sub])
        bass[:n_sub] = np.where(
            voiced, weight * open_sub * comb_b + (1.0 - weight) * bass[:n_sub], bass[:n_sub])
    if centre is not None and params.bass_centre_power > 0:
        bass *= centre ** params.bass_centre_power
    if kick_model is not None and params.kick_model_weight > 0:
        # The kick model re-shares what drums and bass hold together.
        low_rows = slice(0, kick_model.shape[0])
        pool = drums[low_rows] + bass[low_rows]
        weight = params.kick_model_weight
        drums[low_rows] = weight * pool * kick_model + (1.0 - weight) * drums[low_rows]
        bass[low_rows] = weight * pool * (1.0 - kick_model) + (1.0 - weight) * bass[low_rows]
    return {
        "vocals": vocals.astype(np.float32),
        "drums": drums.astype(np.float32),
        "bass": bass.astype(np.float32),
    }


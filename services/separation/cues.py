"""Song-level cues for the separator, gathered in a first, cheap pass over the whole song.

Two decisions need statistics of the whole song rather than of one chunk: which frames
carry the sung melody (Melodia's voicing and our confidence gate compare each contour
with the song's others), and how much overtone a bass note has (the kick test's
reference). Deciding them per chunk made the stems depend on the chunk size, so this
pass runs on a 22.05 kHz mono copy (a quarter of the full-rate work; the 2048-point
STFT keeps the same 10.8 Hz bins and 23 ms hop), chunk by chunk:

- the repeating-pattern model (`repetition`, REPET-SIM) finds, for every frame, the
  most similar frames of the same 60 s cue chunk and keeps the song's repeating share
  of every bin (float16, about 50 MB for a 10-minute song); the chunk pass reads its
  part of it, so the result does not depend on the separator's chunk size; once the
  melody is known, the share above 400 Hz is found again with the frames that sing the
  same note left out of each frame's neighbours (a sung hook that comes back is not
  accompaniment; `MaskParams.repeat_same_pitch_cents`);
- the non-repeating (or, with repetition off, unsteady) part of the mid signal above
  150 Hz, centred bins only, is overlap-added into one melody source for the whole
  song, and Melodia runs once: with the repeating accompaniment gone it follows the
  voice far more often; its notes are then moved to the octave whose harmonic comb
  fits the source (`octave`), its steady-pitch segments, held instrument notes,
  let go (`steady`), and the frames where the lead-vocal detector hears no voice let go
  too (`vocal_gate`), and the sung frames it left without a pitch get one
  (`sung_gaps`);
- the sub-bass overtone ratios of every frame are pooled for one kick reference;
- the low band's percussive part (HPSS on the bins below `KICK_SOURCE_HZ`) is
  overlap-added into one kick source for the whole song, on which `kick.kick_track`
  finds the kick's hits and waveform.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from services.separation.chunks import iter_chunks
from services.separation.comb_bands import add_band_power, band_contrast, band_index
from services.separation.kick import KickTrack, kick_track
from services.separation.masks import (
    MaskParams,
    centre_weight,
    comb_mask,
    kick_reference,
    median_along_freq,
    median_along_time,
    overtone_ratio,
    soft_mask,
    sure_comb_weight,
    vocal_band,
)
from services.separation.melody import MELODY_HOP, MELODY_RATE_HZ, melody_f0, melody_on_frames
from services.separation.octave import correct_octaves
from services.separation.repetition import song_repeating_share
from services.separation.steady import steady_voicing
from services.separation.stft import fft_size_for, istft, n_frames_for, stft
from services.separation.sung_gaps import bridge_gaps, search_sung
from services.separation.vocal_gate import gated_voicing, intervals_on_grid, sung_intervals
from shared.audio_io import resample

MELODY_MIN_HZ = 150.0  # below this lies the bass; the sung melody's overtones lie above
KICK_SOURCE_HZ = 250.0  # the kick source keeps the percussive part below this


@dataclass(frozen=True)
class SongCues:
    f0_hz: np.ndarray  # predominant melody per melody frame (0 = unvoiced), float32
    melody_hop_sec: float  # melody frame i is centred at i * melody_hop_sec
    kick_reference: float  # overtone ratio of a bass note (0 = no kick detection)
    # Per melody frame: 1 voiced, 0 a guessed pitch (`melody.melody_f0`); None: all 1.
    f0_certainty: np.ndarray | None = None
    # Repeating share of each bin (`repetition`), (bins, frames) float16: bin k at
    # k * repeat_bin_hz, frame i centred at i * repeat_hop_sec; empty when not computed.
    repeat_share: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float16))
    repeat_hop_sec: float = 0.0
    repeat_bin_hz: float = 0.0
    kick: KickTrack = field(default_factory=KickTrack)  # the song's kick (may be empty)
    # The melody comb's contrast per band of MaskParams.vocal_band_edges_hz
    # (`comb_bands`); empty when not computed.
    comb_contrast: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


def song_cues(
    samples: np.ndarray,
    *,
    sample_rate_hz: int,
    params: MaskParams,
    window_sec: float,
    chunk_sec: float,
    overlap_sec: float,
) -> SongCues:
    """Cues for a whole song from its samples (channels, n) at `sample_rate_hz`."""
    low_rate = resample(np.asarray(samples, dtype=np.float32), from_rate_hz=sample_rate_hz,
                        to_rate_hz=MELODY_RATE_HZ)
    mono = low_rate.mean(axis=0)
    # The detector runs first, before the song-long sources below are allocated: its
    # whole-song spectrograms are the cue pass's largest transient (peak RSS of the
    # 10-minute song 1365 MB when it ran after them, 1185 MB now; its intervals the same).
    sung_times_sec = (sung_intervals(low_rate, sample_rate_hz=MELODY_RATE_HZ)
                      if params.vocal_gate_certainty is not None else [])
    n_fft = fft_size_for(MELODY_RATE_HZ, window_sec=window_sec)
    hop_length = n_fft // 4
    freqs_hz = np.fft.rfftfreq(n_fft, d=1.0 / MELODY_RATE_HZ).astype(np.float32)
    above_bass = (freqs_hz >= MELODY_MIN_HZ)[:, None]
    source = np.zeros_like(mono)
    with_kick = params.kick_model_weight > 0
    kick_source = np.zeros_like(mono) if with_kick else mono
    n_kick_rows = int(np.count_nonzero(freqs_hz < KICK_SOURCE_HZ))
    ratios: list[np.ndarray] = []
    energies: list[np.ndarray] = []
    n_song_frames = n_frames_for(mono.size, hop_length=hop_length)
    # float16 (a share in [0, 1] needs no more): 50 MB for a 10-minute song.
    n_share_frames = n_song_frames if params.repetition else 0
    repeat_share = np.zeros((freqs_hz.size, n_share_frames), dtype=np.float16)
    for start, end, weights in iter_chunks(
        mono.size, chunk_samples=round(chunk_sec * MELODY_RATE_HZ),
        overlap_samples=round(overlap_sec * MELODY_RATE_HZ),
    ):
        stereo = stft(low_rate[:, start:end], n_fft=n_fft, hop_length=hop_length)
        spectrum = stereo.mean(axis=0)
        magnitude = np.abs(spectrum)
        if params.repetition:
            # The non-repeating part: the repeating accompaniment (drums, bass, chords)
            # no longer competes with the voice for Melodia's salience.
            foreground = 1.0 - _add_chunk_share(repeat_share, magnitude, start=start,
                                                weights=weights, hop_length=hop_length,
                                                params=params)
        else:
            harmonic = median_along_time(magnitude, kernel=params.harmonic_kernel_frames)
            foreground = 1.0 - soft_mask(harmonic, magnitude, power=params.mask_power)
        # Centred bins only: lead vocals sit in the centre, wide pads and stabs do not.
        centre = centre_weight(stereo) ** params.vocal_centre_power
        source[start:end] += weights * istft(spectrum * foreground * above_bass * centre,
                                             hop_length=hop_length,
                                             length_samples=end - start)
        if with_kick:
            kick_source[start:end] += weights * _percussive_low(
                spectrum, magnitude, n_rows=n_kick_rows, params=params,
                length_samples=end - start, hop_length=hop_length)
        ratio, energy = overtone_ratio(magnitude, freqs_hz=freqs_hz,
                                       min_hz=params.kick_min_hz, max_hz=params.kick_max_hz)
        ratios.append(ratio.ravel())
        energies.append(energy.ravel())
    f0_hz, f0_certainty, melody_hop_sec = melody_f0(
        source, sample_rate_hz=MELODY_RATE_HZ, relative_confidence=params.melody_confidence,
        guess_unvoiced=params.melody_guess)
    if params.octave_margin is not None:
        f0_hz = correct_octaves(f0_hz, source, sample_rate_hz=MELODY_RATE_HZ,
                                hop_length=MELODY_HOP, margin=params.octave_margin)
    if params.steady_cents is not None:
        f0_hz, f0_certainty = steady_voicing(f0_hz, f0_certainty,
                                             steady_cents=params.steady_cents,
                                             guess_steady_cents=params.guess_steady_cents,
                                             min_frames=params.steady_min_frames)
    if params.vocal_gate_certainty is not None and f0_hz.size:
        sung = intervals_on_grid(sung_times_sec, n_frames=f0_hz.size, hop_sec=melody_hop_sec)
        if f0_certainty is None:
            f0_certainty = (f0_hz > 0).astype(np.float32)
        f0_hz, f0_certainty = gated_voicing(f0_hz, f0_certainty, sung,
                                            sung_certainty=params.vocal_gate_certainty)
        if params.sung_gap_frames > 0:
            f0_hz, f0_certainty = bridge_gaps(f0_hz, f0_certainty, sung,
                                              max_gap_frames=params.sung_gap_frames,
                                              max_jump_cents=params.sung_gap_cents,
                                              fill_certainty=params.sung_fill_certainty)
        if params.sung_search_cents is not None:
            f0_hz, f0_certainty = search_sung(f0_hz, f0_certainty, sung, source,
                                              sample_rate_hz=MELODY_RATE_HZ,
                                              hop_length=MELODY_HOP,
                                              span_cents=params.sung_search_cents,
                                              min_score=params.sung_search_min_score,
                                              fill_certainty=params.sung_fill_certainty)
    if params.repetition and params.repeat_same_pitch_cents > 0 and f0_hz.size:
        voice_free = _voice_free_share(low_rate, f0_hz=f0_hz, melody_hop_sec=melody_hop_sec,
                                       n_fft=n_fft, hop_length=hop_length,
                                       n_frames=n_share_frames, chunk_sec=chunk_sec,
                                       overlap_sec=overlap_sec, params=params)
        # Below repeat_same_pitch_min_hz the first share stays: there riffs and bass
        # lines that follow the sung notes would count as non-repeating (Lithium's bass
        # lost 0.1 dB).
        n_low = int(np.count_nonzero(freqs_hz < params.repeat_same_pitch_min_hz))
        repeat_share[n_low:] = voice_free[n_low:]
        del voice_free
    contrast = np.zeros(0, np.float32)
    if params.vocal_band_contrast is not None and f0_hz.size:
        contrast = _comb_contrast(low_rate, f0_hz=f0_hz, f0_certainty=f0_certainty,
                                  repeat_share=repeat_share, melody_hop_sec=melody_hop_sec,
                                  n_fft=n_fft, hop_length=hop_length, chunk_sec=chunk_sec,
                                  overlap_sec=overlap_sec, params=params)
    reference = kick_reference(np.concatenate(ratios), np.concatenate(energies),
                               quantile=params.overtone_quantile)
    kick = KickTrack()
    if with_kick:
        kick = kick_track(mono, sample_rate_hz=MELODY_RATE_HZ, params=params.kick,
                          percussive=kick_source)
    return SongCues(f0_hz=f0_hz, f0_certainty=f0_certainty, melody_hop_sec=melody_hop_sec,
                    kick_reference=reference,
                    kick=kick, repeat_share=repeat_share, comb_contrast=contrast,
                    repeat_hop_sec=hop_length / MELODY_RATE_HZ,
                    repeat_bin_hz=MELODY_RATE_HZ / n_fft)


def _comb_contrast(
    low_rate: np.ndarray, *, f0_hz: np.ndarray, f0_certainty: np.ndarray | None,
    repeat_share: np.ndarray, melody_hop_sec: float, n_fft: int, hop_length: int,
    chunk_sec: float, overlap_sec: float, params: MaskParams,
) -> np.ndarray:
    """The song's melody-comb contrast per band (`comb_bands`) over the frames whose
    comb is sure of the voice (`masks.sure_comb_weight` above 0.5, as the chunk pass
    judges it: a melody frame heard as voiced whose comb holds non-repeating, centred
    energy that dominates its band), on the cue STFT of the mid signal. A comb that
    follows a wrong pitch samples the voice's partials no better than its gaps do:
    counting Melodia's voiced frames alone, Lithium's bands above 1.1 kHz read 0.8-1.6
    and its vocals lost 0.3 dB."""
    freqs_hz = np.fft.rfftfreq(n_fft, d=1.0 / MELODY_RATE_HZ).astype(np.float32)
    bands = band_index(freqs_hz, params.vocal_band_edges_hz)
    band = vocal_band(freqs_hz, params=params)
    sums = np.zeros((4, len(params.vocal_band_edges_hz) - 1))
    evidence_range = params.vocal_floor_sure_evidence or (0.3, 0.5)
    for start, end, _weights in iter_chunks(
        low_rate.shape[1], chunk_samples=round(chunk_sec * MELODY_RATE_HZ),
        overlap_samples=round(overlap_sec * MELODY_RATE_HZ),
    ):
        stereo = stft(low_rate[:, start:end], n_fft=n_fft, hop_length=hop_length)
        magnitude = np.abs(stereo.mean(axis=0))
        melody = melody_on_frames(f0_hz, melody_hop_sec=melody_hop_sec,
                                  n_frames=magnitude.shape[1],
                                  frame_hop_sec=hop_length / MELODY_RATE_HZ,
                                  window_sec=n_fft / MELODY_RATE_HZ,
                                  start_sec=start / MELODY_RATE_HZ, certainty=f0_certainty)
        comb = comb_mask(freqs_hz, melody, n_harmonics=params.n_harmonics,
                         width_hz=params.comb_width_hz) * band[:, None]
        presence = (melody.voiced & (melody.certainty >= 0.99)).astype(np.float32)
        if repeat_share.size:
            song_frames = np.rint(start / hop_length + np.arange(magnitude.shape[1]))
            index = np.clip(song_frames.astype(int), 0, repeat_share.shape[1] - 1)
            repeating = repeat_share[:, index].astype(np.float32)
        else:
            repeating = np.zeros_like(magnitude)
        sure = sure_comb_weight(magnitude, comb, presence=presence, repeating=repeating,
                                centre=centre_weight(stereo), band=band,
                                evidence_range=evidence_range) > 0.5
        inside = freqs_hz[:, None] < params.n_harmonics * melody.f0_hz[None, :]
        add_band_power(sums, magnitude**2, comb, bands=bands, frames=sure, inside=inside)
    return band_contrast(sums, min_teeth=params.vocal_band_min_teeth)


def _voice_free_share(
    low_rate: np.ndarray, *, f0_hz: np.ndarray, melody_hop_sec: float, n_fft: int,
    hop_length: int, n_frames: int, chunk_sec: float, overlap_sec: float, params: MaskParams,
) -> np.ndarray:
    """The song's repeating share found again with the melody known: a frame's
    neighbours never sing its note (`repetition.similar_frames`), so a sung line that
    comes back (a chorus, a hook) no longer counts as repeating accompaniment."""
    times_sec = np.arange(n_frames) * hop_length / MELODY_RATE_HZ
    index = np.clip(np.rint(times_sec / melody_hop_sec).astype(int), 0, f0_hz.size - 1)
    f0 = f0_hz[index]
    cents = np.where(f0 > 0, 1200.0 * np.log2(np.maximum(f0, 1e-3) / 440.0), np.nan)
    share_out = np.zeros((n_fft // 2 + 1, n_frames), dtype=np.float16)
    for start, end, weights in iter_chunks(
        low_rate.shape[1], chunk_samples=round(chunk_sec * MELODY_RATE_HZ),
        overlap_samples=round(overlap_sec * MELODY_RATE_HZ),
    ):
        magnitude = np.abs(stft(low_rate[:, start:end], n_fft=n_fft,
                                hop_length=hop_length).mean(axis=0))
        song_frames = np.rint(start / hop_length + np.arange(magnitude.shape[1])).astype(int)
        chunk_cents = cents[np.clip(song_frames, 0, n_frames - 1)]
        _add_chunk_share(share_out, magnitude, start=start, weights=weights,
                         hop_length=hop_length, params=params, pitch_cents=chunk_cents)
    return share_out


def _add_chunk_share(
    song_share: np.ndarray, magnitude: np.ndarray, *, start: int, weights: np.ndarray,
    hop_length: int, params: MaskParams, pitch_cents: np.ndarray | None = None,
) -> np.ndarray:
    """Add one cue chunk's repeating share (its frames at start + j * hop) into the song's
    (frame g at g * hop), weighted by the chunk's cross-fade at each song frame."""
    share = song_repeating_share(magnitude, frame_hop_sec=hop_length / MELODY_RATE_HZ,
                                 n_neighbours=params.repeat_neighbours,
                                 min_gap_sec=params.repeat_min_gap_sec,
                                 pitch_cents=pitch_cents,
                                 same_pitch_cents=params.repeat_same_pitch_cents)
    first = -(-start // hop_length)
    last = min(song_share.shape[1], (start + weights.size - 1) // hop_length + 1)
    if last <= first:
        return share
    song_frames = np.arange(first, last)
    offsets = song_frames * hop_length - start
    local = np.clip(np.rint(offsets / hop_length).astype(int), 0, share.shape[1] - 1)
    song_share[:, first:last] += (share[:, local] * weights[offsets][None, :]).astype(
        song_share.dtype)
    return share


def _percussive_low(
    spectrum: np.ndarray, magnitude: np.ndarray, *, n_rows: int, params: MaskParams,
    length_samples: int, hop_length: int,
) -> np.ndarray:
    """The percussive part (HPSS soft mask) of the lowest `n_rows` bins of one cue chunk's
    mid spectrum, as samples (length_samples,). The frequency median runs on a few more
    rows than kept, so the top kept rows see neighbours on both sides."""
    rows = min(magnitude.shape[0], n_rows + params.percussive_kernel_bins)
    low = magnitude[:rows]
    harmonic = median_along_time(low, kernel=params.harmonic_kernel_frames)
    percussive = median_along_freq(low, kernel=params.percussive_kernel_bins)
    share = soft_mask(percussive, harmonic, power=params.mask_power)[:n_rows]
    masked = np.zeros_like(spectrum)
    masked[:n_rows] = spectrum[:n_rows] * share
    return istft(masked, hop_length=hop_length, length_samples=length_samples)

"""The embedded DSP separator: HPSS, repetition, melody and bass-line combs, chunked.

Pure numpy/scipy/Essentia, no model weights. The four stems (vocals, drums, bass, other)
sum back to the mix exactly: masks are computed on the mid channel, applied to every
channel's STFT (then, in one band, re-shared per channel by a multichannel Wiener filter),
and "other" is the time-domain residual of the mix minus the other three.
(Where the song's kick is a fitted sweep, the drums' and bass's masks on the lowest rows
are complex: the kick is subtracted with its phase; their sum stays a real mask.)

Two passes: `cues.song_cues` gathers the song-level decisions (melody f0, kick reference,
the repeating-pattern model, the kick's waveform and hits) cheaply over the whole song,
then the masks are built chunk by chunk (default 30 s with 1 s overlap) and recombined
with complementary linear cross-fades, so working memory stays bounded (about 100 MB of
spectrogram per chunk) however long the song is. Each chunk is separated on two STFT
windows (93 and 186 ms) and the results are averaged (the vocals lean to the short
window); on each window a second, Wiener-style pass (`refine`) re-shares the bins among
the stems (then bass and "other" once more, "other" held over a second: by its median,
on 100-160 Hz by its peak), and on the
short window a third (`spatial`, stereo only) re-shares the band
between 100 and 400 Hz (up to 2 kHz where the voice is the most centred sound) by
where each stem sits in the stereo image. Each chunk's stems sum to the
chunk's mix and the cross-fade weights sum to one, so the exact-sum property survives;
the song-level cues keep the result independent of the chunk size up to the
cross-fades.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from services.separation.bassline import bass_f0, bass_reach_hz
from services.separation.chunks import Piece, iter_chunks, overlap_add_blocks
from services.separation.comb_bands import band_gain
from services.separation.cues import SongCues, song_cues
from services.separation.kick import kick_model_ratio, kick_model_share, kick_signal
from services.separation.masks import (
    MaskParams,
    centre_weight,
    hpss_medians,
    soft_mask,
    stem_masks,
)
from services.separation.melody import melody_on_frames
from services.separation.refine import refine_masks
from services.separation.repetition import share_on_grid
from services.separation.spatial import multichannel_wiener
from services.separation.stft import fft_size_for, istft, n_frames_for, stft

STEMS: tuple[str, ...] = ("vocals", "drums", "bass", "other")
MASKED_STEMS: tuple[str, ...] = ("vocals", "drums", "bass")  # "other" is the residual
CUE_CHUNK_SEC = 60.0  # chunking of the cheap whole-song cue pass (~10 MB per chunk)
CUE_OVERLAP_SEC = 2.0
KERNEL_WINDOW_SEC = 0.0929  # MaskParams' kernels are for this window, hop a quarter


@dataclass(frozen=True)
class DspParams:
    masks: MaskParams = field(default_factory=MaskParams)
    window_sec: float = 0.0929  # STFT window: 4096 samples at 44.1 kHz, hop a quarter
    # The chunk pass separates on each of these STFTs, (window in seconds, frames per
    # window), and averages (see `separate_chunk`); empty: window_sec with hop a quarter.
    # The long windows step by half a window: as good as a quarter, at half the cost.
    # A third, 372 ms window (2.7 Hz bins: bass notes and chord partials a semitone apart
    # down to ~100 Hz) adds +0.09 dB on the tuning seeds (Lithium +0.15, Potassium -0.02)
    # but a quarter more CPU (14.8x -> 11.9x realtime per core), too close to the 10x
    # floor: add (0.3716, 2) here where CPU is plentiful. The cue pass uses window_sec.
    chunk_windows: tuple[tuple[float, int], ...] = ((0.0929, 4), (0.1858, 2))
    # Per stem, the weights of the chunk windows' separations (each summing to one); a
    # stem not named takes the plain mean. The vocals lean to the short window (a voice's
    # glides and consonants move within the long one). Vocals (0.75, 0.25) against the
    # mean: tuning seeds 5000 / 6000 / 100 7.19 / 7.41 / 7.22 (+0.00 / +0.00 / +0.01),
    # Lithium 3.06 (+0.00), Potassium 1.92 (+0.06); (1, 0) 5000 7.16, Lithium 3.05,
    # Potassium 1.95; (0.25, 0.75) 5000 7.16, Potassium 1.77. Bass (0.25, 0.75) and
    # drums (0.75, 0.25) lost on 5000 and Lithium (-0.02 / -0.07, -0.06 / -0.04).
    window_weights: tuple[tuple[str, tuple[float, ...]], ...] = (("vocals", (0.75, 0.25)),)
    # The spatial pass (MaskParams.spatial_filter) runs on the chunk windows up to this
    # long: on the 93 ms one only it kept the real excerpts' figures (Lithium 3.07,
    # Potassium 1.93 dB; on both windows 3.06 / 1.91, without the pass 3.06 / 1.92) at
    # half the cost (tuning seeds 7.23 / 7.44 / 7.25; on both 7.23 / 7.45 / 7.26).
    spatial_max_window_sec: float = 0.1
    chunk_sec: float = 30.0
    overlap_sec: float = 1.0

    @property
    def stft_windows(self) -> tuple[tuple[float, int], ...]:
        """The chunk pass's STFTs as (window in seconds, frames per window)."""
        return self.chunk_windows or ((self.window_sec, 4),)


def _odd(value: float) -> int:
    return max(3, 2 * round((value - 1) / 2) + 1)


def mask_params_for(params: MaskParams, *, bin_ratio: float, hop_ratio: float) -> MaskParams:
    """`params` (kernels given for the reference STFT) for an STFT whose bins are
    `bin_ratio` times narrower and whose hop is `hop_ratio` times longer: the same
    median lengths in seconds and hertz."""
    if bin_ratio == 1.0 and hop_ratio == 1.0:
        return params
    def frames(count: int, *, off: int) -> int:
        # A hold of 1 frame or less is off, and stays off (as `off`) on any hop.
        return _odd(count / hop_ratio) if count > 1 else off

    return replace(params,
                   harmonic_kernel_frames=_odd(params.harmonic_kernel_frames / hop_ratio),
                   percussive_kernel_bins=_odd(params.percussive_kernel_bins * bin_ratio),
                   other_hold_frames=frames(params.other_hold_frames, off=1),
                   harmonic_hold_frames=frames(params.harmonic_hold_frames, off=1),
                   other_high_frames=frames(params.other_high_frames, off=1),
                   vocal_floor_hold_frames=frames(params.vocal_floor_hold_frames, off=0),
                   guess_near_frames=frames(params.guess_near_frames, off=0),
                   vocal_comb_rest_frames=frames(params.vocal_comb_rest_frames, off=0))


def vocal_centre_lead(magnitude: np.ndarray, vocals: np.ndarray, centre: np.ndarray
                      ) -> float:
    """How much more centred the vocal estimate's energy is than the rest of the mix's:
    energy-weighted mean `centre_weight` of the one minus the other's, all (bins,
    frames); 0 where either is silent."""
    power = np.asarray(magnitude, dtype=np.float32) ** 2
    on = vocals * power
    off = power - on
    if on.sum() <= 0 or off.sum() <= 0:
        return 0.0
    return float((on * centre).sum() / on.sum() - (off * centre).sum() / off.sum())


def masked_stems(
    samples: np.ndarray,
    *,
    sample_rate_hz: int,
    cues: SongCues,
    start_sec: float,
    n_fft: int,
    overlap: int,
    params: MaskParams,
) -> dict[str, np.ndarray]:
    """The masked stems (vocals, drums, bass) of one chunk (float (channels, n)) on an
    STFT of `n_fft` points and hop n_fft / overlap; stem → (channels, n)."""
    length_samples = samples.shape[1]
    hop_length = n_fft // overlap
    spectrum = stft(samples, n_fft=n_fft, hop_length=hop_length)  # (channels, bins, frames)
    # The masks follow the mid signal (a side-only sound is rare and lands in "other");
    # the stereo image only tempers the vocal and bass masks (`masks.centre_weight`).
    magnitude = np.abs(spectrum.mean(axis=0))
    freqs_hz = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate_hz).astype(np.float32)
    melody = melody_on_frames(
        cues.f0_hz,
        melody_hop_sec=cues.melody_hop_sec,
        n_frames=n_frames_for(length_samples, hop_length=hop_length),
        frame_hop_sec=hop_length / sample_rate_hz,
        window_sec=n_fft / sample_rate_hz,
        start_sec=start_sec,
        certainty=cues.f0_certainty,
    )
    repeating = None
    if cues.repeat_share.size:
        repeating = share_on_grid(cues.repeat_share, share_hop_sec=cues.repeat_hop_sec,
                                  share_bin_hz=cues.repeat_bin_hz, freqs_hz=freqs_hz,
                                  n_frames=magnitude.shape[1],
                                  frame_hop_sec=hop_length / sample_rate_hz,
                                  start_sec=start_sec)
    if not cues.kick.swept:
        params = replace(params, kick_model_weight=min(params.kick_model_weight,
                                                       params.kick_median_weight))
    medians = hpss_medians(magnitude, params=params)
    centre = centre_weight(spectrum)
    kick = None
    if not cues.kick.empty and params.kick_model_weight > 0:
        n_rows = int(np.count_nonzero(freqs_hz < params.kick_model_max_hz))
        kick_wave = kick_signal(cues.kick, sample_rate_hz=sample_rate_hz, start_sec=start_sec,
                                length_samples=length_samples)
        kick_spectrum = stft(kick_wave, n_fft=n_fft, hop_length=hop_length)[:n_rows]
        kick = kick_model_share(spectrum[:, :n_rows].mean(axis=0), kick_spectrum,
                          power=params.kick_model_power)
    # The bass line follows the harmonic, centred energy without the modelled kick (kick
    # transients and tails and wide pads would pull the f0 away).
    harmonic = soft_mask(medians.harmonic, medians.percussive, power=params.mask_power)
    tracked = magnitude * harmonic * centre
    if kick is not None:
        tracked[:kick.shape[0]] *= 1.0 - kick
    bass_line = bass_f0(tracked, freqs_hz=freqs_hz, params=params.bass_line)
    if params.bass_crossover_range_hz is not None:
        # The crossover sits where the bass's partials sink under the accompaniment.
        reach_hz = bass_reach_hz(magnitude, freqs_hz=freqs_hz, f0_hz=bass_line,
                                 hold_frames=params.harmonic_hold_frames,
                                 margin=params.bass_reach_margin,
                                 max_hz=params.bass_reach_max_hz)
        low_hz, high_hz = params.bass_crossover_range_hz
        params = replace(params, bass_crossover_hz=float(
            np.clip(params.bass_reach_scale * reach_hz, low_hz, high_hz)))
    comb_gain = None
    if params.vocal_band_contrast is not None and cues.comb_contrast.size:
        comb_gain = band_gain(freqs_hz, cues.comb_contrast,
                              edges_hz=params.vocal_band_edges_hz,
                              ramp=params.vocal_band_contrast)
    masks = stem_masks(
        magnitude,
        medians=medians,
        freqs_hz=freqs_hz,
        melody=melody,
        bass_overtone_ratio=cues.kick_reference,
        params=params,
        centre=centre,
        repeating=repeating,
        bass_f0_hz=bass_line,
        kick_model=kick,
        comb_gain=comb_gain,
    )
    if params.refine_power != 1.0 or params.other_hold_frames > 1:
        high_rows = slice(0, 0)
        if params.other_high_min_hz is not None:
            high_rows = slice(int(np.count_nonzero(freqs_hz < params.other_high_min_hz)), None)
        masks = refine_masks(masks, magnitude, power=params.refine_power,
                             other_hold_frames=params.other_hold_frames,
                             high_rows=high_rows, high_frames=params.other_high_frames,
                             high_percentile=params.other_high_percentile)
    if params.harmonic_hold_frames > 1 and params.refine_held_passes > 0:
        # Bass and "other" re-share what drums and vocals leave, with "other" held over
        # a second (`MaskParams.refine_held_passes`); only on the rows up to the last
        # the bass holds anything in (above them the pass would give "other" all it has).
        holding = np.flatnonzero(masks["bass"].max(axis=1) > 1e-4)
        held_rows = slice(0, int(holding[-1]) + 1 if holding.size else 0)
        low = {name: mask[held_rows] for name, mask in masks.items()}
        peak_rows = slice(int(np.count_nonzero(freqs_hz < params.held_peak_min_hz)),
                          int(np.count_nonzero(freqs_hz < params.held_peak_max_hz)))
        for _ in range(params.refine_held_passes):
            low = refine_masks(low, magnitude[held_rows], power=1.0,
                               other_hold_frames=params.harmonic_hold_frames,
                               fixed=("drums", "vocals"), peak_rows=peak_rows)
        for name in masks:
            masks[name][held_rows] = low[name]
    low_masks: dict[str, np.ndarray] = {}
    if kick is not None and cues.kick.swept and params.kick_complex_weight > 0:
        # A kick confirmed as a sweep is subtracted with its phase (`kick_model_ratio`):
        # the drums' and bass's masks on the low rows become complex, their sum kept.
        rows = kick.shape[0]
        pool = masks["drums"][:rows] + masks["bass"][:rows]
        ratio = kick_model_ratio(spectrum[:, :rows].mean(axis=0), kick_spectrum, pool=pool)
        weight = params.kick_complex_weight
        low_masks["drums"] = weight * ratio + (1.0 - weight) * masks["drums"][:rows]
        low_masks["bass"] = pool - low_masks["drums"]

    def masked(name: str, rows: slice) -> np.ndarray:
        """The stem's masked spectrum on `rows` (both channels)."""
        part = spectrum[:, rows] * masks[name][rows][None]
        if name in low_masks:
            # The complex kick shares replace the real ones on their low rows.
            low = range(low_masks[name].shape[0])[rows]  # absolute rows, from rows.start
            rows_low = slice(low.start, low.stop)
            part[:, :len(low)] = spectrum[:, rows_low] * low_masks[name][rows_low][None]
        return part

    filtered: dict[str, np.ndarray] = {}
    band = slice(0, 0)
    if params.spatial_filter and spectrum.shape[0] == 2:
        # The masks were shared by both channels; the filter re-shares a band by where
        # each stem sits in the stereo image, "other" (the residual) included so the
        # four still model the whole mix (what the filter leaves over goes to "other").
        max_hz = params.spatial_max_hz
        if params.spatial_wide_max_hz is not None:
            # Higher up only where the voice is the more centred (MaskParams).
            wide = slice(int(np.count_nonzero(freqs_hz < max_hz)),
                         int(np.count_nonzero(freqs_hz < params.spatial_wide_max_hz)))
            if vocal_centre_lead(magnitude[wide], masks["vocals"][wide],
                                 centre[wide]) >= params.spatial_wide_lead:
                max_hz = params.spatial_wide_max_hz
        band = slice(int(np.count_nonzero(freqs_hz < params.spatial_min_hz)),
                     int(np.count_nonzero(freqs_hz < max_hz)))
        parts = [masked(name, band) for name in MASKED_STEMS]
        residual = spectrum[:, band] - sum(parts)
        shares = multichannel_wiener(spectrum[:, band], [*parts, residual],
                                     iterations=params.spatial_iterations,
                                     psd_power=params.spatial_psd_power)
        filtered = dict(zip(MASKED_STEMS, shares, strict=False))
    stems = {}
    # One stem's full spectrum at a time: working memory stays one spectrogram per stem.
    for name in MASKED_STEMS:
        full = masked(name, slice(None))
        if name in filtered:
            full[:, band] = filtered[name]
        stems[name] = istft(full, hop_length=hop_length, length_samples=length_samples)
    return stems


def separate_chunk(
    samples: np.ndarray,
    *,
    sample_rate_hz: int,
    cues: SongCues,
    start_sec: float,
    params: DspParams,
) -> dict[str, np.ndarray]:
    """Separate one chunk (float (channels, n), starting `start_sec` into the song) with
    the song's cues; returns stem → (channels, n).

    The masked stems are the mean of the separations on each STFT of
    `params.chunk_windows`: a short window follows drum hits and moving voices, a
    long one resolves low notes and the partials of dense chords, and their errors are
    partly independent, so the mean beats either one. "other" is the residual."""
    reference = fft_size_for(sample_rate_hz, window_sec=KERNEL_WINDOW_SEC)
    windows = params.stft_windows
    stems = {name: np.zeros(samples.shape, dtype=np.float32) for name in MASKED_STEMS}
    weights = dict(params.window_weights)
    for index, (window_sec, overlap) in enumerate(windows):
        n_fft = fft_size_for(sample_rate_hz, window_sec=window_sec)
        mask_params = mask_params_for(params.masks, bin_ratio=n_fft / reference,
                                      hop_ratio=(n_fft / overlap) / (reference / 4))
        if window_sec > params.spatial_max_window_sec:
            mask_params = replace(mask_params, spatial_filter=False)
        parts = masked_stems(samples, sample_rate_hz=sample_rate_hz, cues=cues,
                             start_sec=start_sec, n_fft=n_fft, overlap=overlap,
                             params=mask_params)
        for name, part in parts.items():
            share = weights[name][index] if name in weights else 1.0 / len(windows)
            stems[name] += share * part
    stems["other"] = samples.astype(np.float32) - sum(stems.values())
    return stems


def _largest_hop(params: DspParams, sample_rate_hz: int) -> int:
    """The longest STFT hop of the chunk pass: chunks start on multiples of it, so every
    STFT's frames sit on one song-wide grid (frames off that grid made the masks, and
    with them the stems, depend on where a chunk began)."""
    return max(fft_size_for(sample_rate_hz, window_sec=window_sec) // overlap
               for window_sec, overlap in params.stft_windows)


def _as_channels(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None, :]
    if samples.ndim != 2 or samples.shape[1] == 0:
        raise ValueError("samples must be a non-empty (channels, n) or (n,) array")
    if sample_rate_hz < 8000:
        raise ValueError("sample_rate_hz must be at least 8000")
    return samples


def dsp_pieces(
    samples: np.ndarray, *, sample_rate_hz: int, params: DspParams | None = None
) -> Iterator[Piece]:
    """The separator chunk by chunk: (start, end, cross-fade weights, stems) for
    `chunks.overlap_add_blocks`. samples: float (channels, n)."""
    params = params or DspParams()
    samples = _as_channels(samples, sample_rate_hz)
    # The cue pass uses its own fixed chunking (a 22.05 kHz mono copy is small), so the
    # melody and kick cues, and with them the stems, do not depend on `chunk_sec`.
    cues = song_cues(samples, sample_rate_hz=sample_rate_hz, params=params.masks,
                     window_sec=params.window_sec, chunk_sec=CUE_CHUNK_SEC,
                     overlap_sec=CUE_OVERLAP_SEC)
    for start, end, weights in iter_chunks(
        samples.shape[1], chunk_samples=round(params.chunk_sec * sample_rate_hz),
        overlap_samples=round(params.overlap_sec * sample_rate_hz),
        align_samples=_largest_hop(params, sample_rate_hz),
    ):
        chunk = separate_chunk(samples[:, start:end], sample_rate_hz=sample_rate_hz, cues=cues,
                               start_sec=start / sample_rate_hz, params=params)
        yield start, end, weights, chunk


def stream_dsp(
    samples: np.ndarray, *, sample_rate_hz: int, params: DspParams | None = None
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Finished stem blocks (start, {stem: (channels, n)}) in order, tiling the song;
    only about two chunks of stems are in memory at once."""
    return overlap_add_blocks(dsp_pieces(samples, sample_rate_hz=sample_rate_hz, params=params))


def separate_dsp(
    samples: np.ndarray,
    *,
    sample_rate_hz: int,
    params: DspParams | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, np.ndarray]:
    """Split a mix into vocals, drums, bass and other.

    samples: float (channels, n) or (n,), any sample rate (≥ 8 kHz). Returns float32 stems
    of the same shape whose sum equals the input within float rounding (~1e-6).
    `progress` is called with the finished fraction (0..1] after each block.
    """
    mono_input = np.ndim(samples) == 1
    samples = _as_channels(samples, sample_rate_hz)
    out = {name: np.zeros_like(samples) for name in STEMS}
    for start, blocks in stream_dsp(samples, sample_rate_hz=sample_rate_hz, params=params):
        end = start + blocks["other"].shape[1]
        for name in STEMS:
            out[name][:, start:end] = blocks[name]
        if progress is not None:
            progress(end / samples.shape[1])
    if mono_input:
        return {name: stem[0] for name, stem in out.items()}
    return out

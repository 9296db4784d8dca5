"""Separators behind one small protocol: the embedded DSP one, and Demucs when weights exist.

`get_separator()` picks Demucs only when `DEMUCS_WEIGHTS_DIR` names a folder holding the
model `DEMUCS_MODEL` in demucs' `--repo` layout (`<sig>[-<checksum>].th` files and
`<name>.yaml` bags). It never downloads unless `DEMUCS_ALLOW_DOWNLOAD` says so: demucs
is otherwise only ever asked for a local repo. Without the model, or when loading it
fails, the DSP separator answers, and the response's `backend` says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from services.separation.chunks import iter_chunks, overlap_add_blocks
from services.separation.dsp import STEMS, separate_dsp, stream_dsp
from services.separation.settings import SeparationSettings
from services.separation.spill import SpilledAudio, mono_mean_std
from shared.audio_io import resample

log = logging.getLogger(__name__)

DSP_BACKEND = "dsp-hpss-melody"


class SeparatorUnavailable(RuntimeError):
    """The separator cannot run here (missing or unreadable model weights)."""


class Separator(Protocol):
    name: str  # the response's `backend`
    model: str | None  # the response's `model`
    # True when `stream` reads its input only as pieces `samples[:, a:b]`, so the caller
    # may hand it a `SpilledAudio` instead of an array held in memory.
    reads_pieces: bool

    def separate(self, samples: np.ndarray, sample_rate_hz: int) -> dict[str, np.ndarray]:
        """float32 (channels, n) → {"vocals", "drums", "bass", "other"} → (channels, n)."""
        ...

    def stream(
        self, samples: np.ndarray, sample_rate_hz: int
    ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """The same stems as finished blocks (start sample, {stem: (channels, n)}) that
        tile the song in order, so a long song never holds all four stems in memory."""
        ...


def collect(blocks: Iterable[tuple[int, dict[str, np.ndarray]]], samples: np.ndarray,
            ) -> dict[str, np.ndarray]:
    """Whole stems (like `samples`, (channels, n) or (n,)) from `stream` blocks."""
    shaped = samples if samples.ndim == 2 else samples[None, :]
    out = {name: np.zeros(shaped.shape, dtype=np.float32) for name in STEMS}
    for start, block in blocks:
        for name in STEMS:
            out[name][:, start:start + block[name].shape[-1]] = block[name]
    return out if samples.ndim == 2 else {name: stem[0] for name, stem in out.items()}


class DspSeparator:
    """HPSS + melody-comb soft masks (services.separation.dsp); stems sum to the mix."""

    name = DSP_BACKEND
    model: str | None = None
    reads_pieces = False  # the whole-song cue pass works on the array

    def separate(self, samples: np.ndarray, sample_rate_hz: int) -> dict[str, np.ndarray]:
        return separate_dsp(samples, sample_rate_hz=sample_rate_hz)

    def stream(
        self, samples: np.ndarray, sample_rate_hz: int
    ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        return stream_dsp(samples, sample_rate_hz=sample_rate_hz)


def demucs_model_present(weights_dir: Path | None, model_name: str) -> bool:
    """True when `weights_dir` holds `model_name` as a bag (`<name>.yaml`) or as a single
    model file (`<name>.th` or `<name>-<checksum>.th`)."""
    if weights_dir is None or not weights_dir.is_dir():
        return False
    if (weights_dir / f"{model_name}.yaml").is_file():
        return True
    return any(
        path.stem == model_name or path.stem.rsplit("-", 1)[0] == model_name
        for path in weights_dir.glob("*.th")
    )


def pick_device(requested: str) -> str:
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class DemucsSeparator:
    """A Demucs model from a local repo folder, loaded on first use and then kept.

    Long songs go through in `chunk_sec` pieces cross-faded over `overlap_sec` (inside a
    piece demucs' own `apply_model` splits into its training segments), so memory is
    bounded by the piece, not the song: demucs would otherwise allocate every source of
    the whole song twice over (about 1.7 GB for 10 minutes of stereo).
    """

    name = "demucs"
    reads_pieces = True

    def __init__(self, *, weights_dir: Path | None, model_name: str, threads: int, device: str,
                 chunk_sec: float = 15.0, overlap_sec: float = 1.0) -> None:
        self.weights_dir = weights_dir  # None only when downloads are allowed
        self.model: str | None = model_name
        self.threads = threads
        self.requested_device = device
        self.chunk_sec = chunk_sec
        self.overlap_sec = overlap_sec
        self._loaded: Any = None
        self._device = "cpu"
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    @property
    def device(self) -> str:
        return self._device

    def load(self) -> Any:
        """The model (loaded once; thread-safe). Raises SeparatorUnavailable."""
        with self._lock:
            if self._loaded is None:
                try:
                    import torch
                    from demucs.pretrained import get_model

                    torch.set_num_threads(self.threads)
                    model = get_model(name=str(self.model), repo=self.weights_dir)
                    self._device = pick_device(self.requested_device)
                    model.to(self._device)
                    model.eval()
                # demucs calls sys.exit when the repo folder vanished: that is "no model" too.
                except (Exception, SystemExit) as exc:
                    raise SeparatorUnavailable(
                        f"could not load Demucs model {self.model!r} from {self.weights_dir}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                self._loaded = model
            return self._loaded

    def separate(self, samples: np.ndarray, sample_rate_hz: int) -> dict[str, np.ndarray]:
        samples = np.asarray(samples, dtype=np.float32)
        return collect(self.stream(samples, sample_rate_hz), samples)

    def stream(
        self, samples: np.ndarray | SpilledAudio, sample_rate_hz: int
    ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        model = self.load()  # before the generator starts, so failures surface at once
        if isinstance(samples, np.ndarray):
            samples = np.asarray(samples, dtype=np.float32)
            if samples.ndim == 1:
                samples = samples[None, :]
        # Normalise as demucs' own CLI does, with whole-song statistics: the models were
        # trained on unit-variance input.
        mean, std = mono_mean_std(samples)
        std = max(std, 1e-8)
        pieces = (
            (start, end, weights,
             self._separate_piece(model, samples[:, start:end], sample_rate_hz,
                                  mean=mean, std=std))
            for start, end, weights in iter_chunks(
                samples.shape[1], chunk_samples=round(self.chunk_sec * sample_rate_hz),
                overlap_samples=round(self.overlap_sec * sample_rate_hz))
        )
        return overlap_add_blocks(pieces)

    def _separate_piece(self, model: Any, samples: np.ndarray, sample_rate_hz: int, *,
                        mean: float, std: float) -> dict[str, np.ndarray]:
        import torch
        from demucs.apply import apply_model

        channels, length_samples = samples.shape
        mix = _match_channels(samples, model.audio_channels)
        mix = resample(mix, from_rate_hz=sample_rate_hz, to_rate_hz=model.samplerate)
        wav = (torch.from_numpy(np.ascontiguousarray(mix)) - mean) / std
        with torch.inference_mode():
            # shifts=0: demucs' default (1) offsets the input by a random amount, so the
            # same song gave different stems on every run; without it the stems are
            # reproducible and each piece is 1 s shorter to compute.
            out = apply_model(model, wav[None], shifts=0, split=True, overlap=0.25,
                              device=self._device, progress=False)[0]
        out = (out * std + mean).cpu().numpy()
        stems = _to_four_stems(dict(zip(model.sources, out, strict=True)), mix)
        result = {}
        for name, stem in stems.items():
            stem = resample(stem, from_rate_hz=model.samplerate, to_rate_hz=sample_rate_hz)
            result[name] = _fit_length(_match_channels(stem, channels), length_samples)
        return result


def _match_channels(samples: np.ndarray, channels: int) -> np.ndarray:
    if samples.shape[0] == channels:
        return samples
    mono = samples.mean(axis=0, keepdims=True)
    return np.repeat(mono, channels, axis=0).astype(np.float32)


def _fit_length(samples: np.ndarray, length_samples: int) -> np.ndarray:
    if samples.shape[1] >= length_samples:
        return samples[:, :length_samples].astype(np.float32, copy=False)
    pad = length_samples - samples.shape[1]
    return np.pad(samples, ((0, 0), (0, pad))).astype(np.float32)


def _to_four_stems(sources: dict[str, np.ndarray], mix: np.ndarray) -> dict[str, np.ndarray]:
    """Map a model's sources onto the mesh's four stems: extra sources (guitar, piano of
    the 6-source models) join "other"; a model without "other" gets the residual."""
    stems = {name: sources[name] for name in STEMS if name in sources}
    extras = [src for name, src in sources.items() if name not in STEMS]
    if "other" not in stems:
        stems["other"] = mix - sum((stems[name] for name in stems), np.zeros_like(mix))
    elif extras:
        stems["other"] = stems["other"] + sum(extras)
    for name in STEMS:
        stems.setdefault(name, np.zeros_like(mix))
    return {name: stems[name].astype(np.float32) for name in STEMS}


_DSP = DspSeparator()
_DEMUCS: dict[tuple[Any, ...], DemucsSeparator] = {}
_BROKEN: set[tuple[Any, ...]] = set()


def _demucs_key(settings: SeparationSettings) -> tuple[Any, ...]:
    return (settings.demucs_weights_dir, settings.demucs_model, settings.threads,
            settings.device, settings.demucs_chunk_sec, settings.demucs_allow_download)


def get_separator(settings: SeparationSettings | None = None) -> Separator:
    """Demucs when its weights are configured, present and loadable; else the DSP one."""
    settings = settings or SeparationSettings.from_env()
    key = _demucs_key(settings)
    local = demucs_model_present(settings.demucs_weights_dir, settings.demucs_model)
    if key in _BROKEN or not (local or settings.demucs_allow_download):
        return _DSP
    if key not in _DEMUCS:
        _DEMUCS[key] = DemucsSeparator(
            weights_dir=settings.demucs_weights_dir if local else None,
            model_name=settings.demucs_model, threads=settings.threads,
            device=settings.device, chunk_sec=settings.demucs_chunk_sec,
        )
    return _DEMUCS[key]


def mark_unavailable(separator: Separator, settings: SeparationSettings | None = None) -> None:
    """Stop offering a separator whose model failed to load (falls back to DSP)."""
    settings = settings or SeparationSettings.from_env()
    if isinstance(separator, DemucsSeparator):
        key = _demucs_key(settings)
        _BROKEN.add(key)
        _DEMUCS.pop(key, None)


def dsp_separator() -> Separator:
    return _DSP

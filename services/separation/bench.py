"""Separation benchmark: quality, speed and memory (`make bench-separation`).

- SDR per stem and on average on a synthesised corpus whose true stems are known
  (shared/synth.py, every style, several keys and tempos; seeds that the tests and the
  tuning never used), for the DSP separator, plain HPSS and the ideal ratio mask (the
  ceiling of any mask-based separator on the same STFT);
- the same on real recordings with exact stems under shared/real-audio when present
  (read in place, never copied);
- × realtime per core of the DSP separator (audio seconds per CPU second of this
  process, all threads counted) and × realtime of full-size HTDemucs with random weights
  (speed only; on CUDA too when torch sees a GPU);
- peak memory (max RSS of a fresh process) separating and storing a 10-minute song the
  way the service does.

Run `python -m services.separation.bench [--songs N] [--duration-sec S] [--skip-demucs]
[--skip-memory] [--json PATH]`; the default run takes about 2–3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from services.separation.dsp import STEMS, separate_dsp
from services.separation.leakage import leak_energy
from services.separation.metrics import sdr_db
from services.separation.stft import istft, stft
from shared.real_audio import real_audio_dir
from shared.synth import STYLES, SongSpec, synthesize_song

KEYS = (("A", "minor"), ("E", "major"), ("F#", "minor"), ("C", "major"), ("G", "minor"),
        ("D#", "major"), ("B", "minor"), ("F", "major"))
TEMPO_BPM = {"pop": 108.0, "house": 126.0, "hiphop": 92.0, "dnb": 172.0, "rock": 136.0}
HELD_OUT_SEED = 9000  # corpus seeds start here; tests and tuning use small seeds
LEAK_BANDS_HZ = ((0.0, 100.0), (100.0, 200.0), (200.0, 400.0), (400.0, 1e9))
Separate = Callable[[np.ndarray, int], dict[str, np.ndarray]]


def corpus_specs(n_songs: int, duration_sec: float, *, first_seed: int = HELD_OUT_SEED
                 ) -> list[SongSpec]:
    """Songs cycling through every style and several keys, tempo jittered per song; seeds
    first_seed, first_seed + 1, ... (another first seed gives another held-out corpus)."""
    specs = []
    for index in range(n_songs):
        style = STYLES[index % len(STYLES)]
        tonic, mode = KEYS[index % len(KEYS)]
        tempo = TEMPO_BPM[style] * (1.0 + 0.04 * ((index * 7) % 5 - 2))
        specs.append(SongSpec(f"bench_{style}_{index}", tempo, tonic, mode, duration_sec,
                              seed=first_seed + index, style=style))
    return specs


def hpss_baseline(mix: np.ndarray, sample_rate_hz: int) -> dict[str, np.ndarray]:
    """Plain HPSS with a band split: percussive → drums, harmonic below 200 Hz → bass,
    the rest of the harmonic part → other, nothing → vocals."""
    import librosa

    spectrum = stft(mix, n_fft=4096, hop_length=1024)
    harmonic, percussive = librosa.decompose.hpss(spectrum)
    freqs_hz = np.fft.rfftfreq(4096, d=1.0 / sample_rate_hz)
    low = (freqs_hz < 200.0)[:, None]
    length = mix.shape[-1]
    return {
        "vocals": np.zeros_like(mix),
        "drums": istft(percussive, hop_length=1024, length_samples=length),
        "bass": istft(harmonic * low, hop_length=1024, length_samples=length),
        "other": istft(harmonic * ~low, hop_length=1024, length_samples=length),
    }


def ideal_ratio_mask(mix: np.ndarray, stems: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The oracle: each stem's magnitude share of the summed magnitudes, on our STFT."""
    spectra = {name: stft(stem, n_fft=4096, hop_length=1024) for name, stem in stems.items()}
    total = sum(np.abs(spec) for spec in spectra.values()) + 1e-10
    mix_spec = stft(mix, n_fft=4096, hop_length=1024)
    return {name: istft(mix_spec * (np.abs(spec) / total), hop_length=1024,
                        length_samples=mix.shape[-1])
            for name, spec in spectra.items()}


def stem_sdrs(truth: dict[str, np.ndarray], estimate: dict[str, np.ndarray]) -> dict[str, float]:
    """SDR per stem; a stem that is silent in the truth is left out (SDR is undefined)."""
    return {name: sdr_db(truth[name], estimate[name]) for name in STEMS
            if np.any(truth[name])}


def _table_row(label: str, scores: dict[str, list[float]]) -> str:
    means = {name: float(np.mean(values)) for name, values in scores.items() if values}
    cells = " ".join(f"{means[name]:7.2f}" if name in means else "      -" for name in STEMS)
    average = np.mean(list(means.values())) if means else float("nan")
    return f"{label:<22} {cells} {average:7.2f}"


def _print_table(title: str, rows: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    print(f"\n{title}\n{'SDR dB':<22} " + " ".join(f"{n:>7}" for n in STEMS) + "     avg")
    for label, scores in rows.items():
        print(_table_row(label, scores))
    return {label: {name: float(np.mean(v)) for name, v in scores.items() if v}
            for label, scores in rows.items()}


def timed(func: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _print_leaks(leaks: dict[str, dict[tuple[str, str], np.ndarray]],
                 energy: dict[str, float]) -> dict[str, Any]:
    """The leak table (`leakage`), in % of the true "other"'s energy, per method and band."""
    reference = energy.get("other", 0.0) + 1e-12
    bands = " ".join(f"{f'{low:.0f}-{high:.0f}' if high < 1e8 else f'>{low:.0f}':>8}"
                     for low, high in LEAK_BANDS_HZ)
    print(f"\nLeaks, % of the true other's energy (true -> estimated){'':<4} all {bands}")
    table: dict[str, Any] = {}
    for method, pairs in leaks.items():
        print(f"  {method}")
        for (source, target), values in sorted(pairs.items()):
            share = 100.0 * values / reference
            table.setdefault(method, {})[f"{source}->{target}"] = round(float(share.sum()), 2)
            print(f"    {source:>6} -> {target:<6}{'':<22}{share.sum():6.2f} "
                  + " ".join(f"{value:8.2f}" for value in share))
    return table


def bench_synthetic(n_songs: int, duration_sec: float, *, first_seed: int = HELD_OUT_SEED,
                    leaks: bool = False) -> dict[str, Any]:
    methods: dict[str, Callable[[np.ndarray, int, dict[str, np.ndarray]], dict]] = {
        "dsp (ours)": lambda mix, sr, truth: separate_dsp(mix, sample_rate_hz=sr),
        "plain HPSS + band": lambda mix, sr, truth: hpss_baseline(mix, sr),
        "ideal ratio mask": lambda mix, sr, truth: ideal_ratio_mask(mix, truth),
    }
    rows: dict[str, dict[str, list[float]]] = {m: {n: [] for n in STEMS} for m in methods}
    audio_sec = cpu_sec = wall_sec = 0.0
    per_song = []
    leak_sums: dict[str, dict[tuple[str, str], np.ndarray]] = {}
    energy = dict.fromkeys(STEMS, 0.0)
    for spec in corpus_specs(n_songs, duration_sec, first_seed=first_seed):
        song = synthesize_song(spec)
        for method, run in methods.items():
            stems, wall, cpu = timed(functools.partial(run, song.mix, song.sample_rate_hz,
                                                       song.stems))
            scores = stem_sdrs(song.stems, stems)
            for name, value in scores.items():
                rows[method][name].append(value)
            if leaks and method != "plain HPSS + band":
                pairs, stem_energy = leak_energy(song.mix, song.stems, stems,
                                                 sample_rate_hz=song.sample_rate_hz,
                                                 bands_hz=LEAK_BANDS_HZ)
                sums = leak_sums.setdefault(method, {})
                for pair, values in pairs.items():
                    sums[pair] = sums.get(pair, 0.0) + values
                if method == "dsp (ours)":
                    for name, value in stem_energy.items():
                        energy[name] += value
            if method == "dsp (ours)":
                audio_sec += spec.duration_sec
                cpu_sec += cpu
                wall_sec += wall
                per_song.append({"song": spec.name, "key": f"{spec.key_tonic} {spec.key_mode}",
                                 **{k: round(v, 2) for k, v in scores.items()}})
                print(f"  {spec.name:<18} " + " ".join(f"{k}={v:5.2f}" for k, v in
                                                       scores.items())
                      + f"  avg={np.mean(list(scores.values())):5.2f}", flush=True)
    table = _print_table(f"Synthesised corpus: {n_songs} songs × {duration_sec:.0f} s, seeds "
                         f"{first_seed}..{first_seed + n_songs - 1}", rows)
    speed = {"audio_sec": audio_sec, "cpu_sec": round(cpu_sec, 2),
             "x_realtime_per_core": round(audio_sec / max(cpu_sec, 1e-9), 1),
             "x_realtime_wall": round(audio_sec / max(wall_sec, 1e-9), 1)}
    print(f"\nDSP speed: {speed['x_realtime_per_core']}× realtime per core "
          f"({speed['x_realtime_wall']}× wall) over {audio_sec:.0f} s of audio")
    result = {"sdr_db": table, "songs": per_song, "dsp_speed": speed}
    if leaks:
        result["leaks_pct_of_other"] = _print_leaks(leak_sums, energy)
    return result


def bench_real() -> dict[str, Any]:
    import soundfile as sf

    root = real_audio_dir()
    folders = sorted(p.parent for p in root.glob("*/stems_excerpt*/mixture.flac")) if root else []
    if not folders:
        print("\nReal audio: shared/real-audio with exact stems not found; skipped.")
        return {}
    rows: dict[str, dict[str, list[float]]] = {}
    for folder in folders:
        mix, sr = sf.read(folder / "mixture.flac", dtype="float32", always_2d=True)
        truth = {}
        for name in STEMS:
            stem, _ = sf.read(folder / f"{name}.flac", dtype="float32", always_2d=True)
            truth[name] = stem.T
        label = folder.parent.name[:22]
        scores = stem_sdrs(truth, separate_dsp(mix.T, sample_rate_hz=sr))
        oracle = stem_sdrs(truth, ideal_ratio_mask(mix.T, truth))
        rows[label] = {k: [v] for k, v in scores.items()}
        rows[f"  ideal mask, {label[:10]}"] = {k: [v] for k, v in oracle.items()}
    return _print_table("Real recordings with exact stems (DSP separator)", rows)


def _save_random_htdemucs(folder: Path) -> None:
    """The htdemucs architecture with random weights, as `random0-<sum>.th` in `folder`."""
    import torch
    from demucs.htdemucs import HTDemucs
    from demucs.states import get_state, save_with_checksum

    torch.manual_seed(0)
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], segment=7.8)
    args, kwargs = model._init_args_kwargs
    package = {"klass": HTDemucs, "args": args, "kwargs": kwargs,
               "state": get_state(model, None, half=True)}
    save_with_checksum(package, folder / "random0.th")


def bench_demucs(clip_sec: float, threads: int) -> dict[str, Any]:
    """Full-size HTDemucs (the htdemucs architecture) with random weights, saved to a
    temporary local repo and run through DemucsSeparator: speed only."""
    import torch

    from services.separation.backends import DemucsSeparator

    rng = np.random.default_rng(0)
    clip = (0.1 * rng.standard_normal((2, round(clip_sec * 44100)))).astype(np.float32)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-demucs-") as folder:
        _save_random_htdemucs(Path(folder))
        for device in devices:
            separator = DemucsSeparator(weights_dir=Path(folder), model_name="random0",
                                        threads=threads, device=device)
            separator.load()
            _, wall, cpu = timed(lambda sep=separator: sep.separate(clip, 44100))
            results[device] = {"x_realtime_wall": round(clip_sec / wall, 2),
                               "x_realtime_per_core": round(clip_sec / max(cpu, 1e-9), 2),
                               "threads": threads}
            print(f"\nHTDemucs (random weights) on {device}, {threads} thread(s): "
                  f"{results[device]['x_realtime_wall']}× realtime wall, "
                  f"{results[device]['x_realtime_per_core']}× per core ({clip_sec:.1f} s clip)")
    return results


def long_song_wav(path: Path, duration_sec: float) -> None:
    """A long song: a 30 s synthetic song tiled, with a fade so the tiles differ."""
    import soundfile as sf

    song = synthesize_song(SongSpec("bench_long", 124.0, "A", "minor", 30.0, seed=HELD_OUT_SEED,
                                    style="house"))
    n = round(duration_sec * song.sample_rate_hz)
    with sf.SoundFile(path, "w", samplerate=song.sample_rate_hz, channels=2,
                      subtype="PCM_16") as out:
        written = 0
        while written < n:
            tile = song.mix[:, : n - written] * (0.6 + 0.4 * np.cos(written / n * 7.0))
            out.write(tile.T)
            written += tile.shape[1]


def _status_mb(field: str) -> float:
    """VmRSS / VmHWM of this process in MB (ru_maxrss would count the forking parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(wav_path: str, backend: str) -> None:
    """In a fresh process: separate and store one file as the service's worker does,
    then print {"peak_rss_mb", "seconds"} as JSON."""
    from services.separation.backends import DemucsSeparator, dsp_separator
    from services.separation.pipeline import separate_and_store
    from shared.storage import LocalStorage

    data = Path(wav_path).read_bytes()
    separator: Any = dsp_separator()
    if backend != "dsp":
        separator = DemucsSeparator(weights_dir=Path(backend), model_name="random0", threads=2,
                                    device="cpu")
    baseline_mb = _status_mb("VmRSS")
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as root:
        _, wall, _ = timed(lambda: separate_and_store(data, separator=separator,
                                                      storage=LocalStorage(root),
                                                      prefix="stems/bench/x"))
    peak_mb = _status_mb("VmHWM")
    print(json.dumps({"peak_rss_mb": round(peak_mb), "imports_rss_mb": round(baseline_mb),
                      "seconds": round(wall, 1)}))


def bench_memory(duration_sec: float, backend: str) -> dict[str, Any]:
    """Peak RSS of a fresh process separating and storing a long song. backend "dsp", or
    "demucs": full-size HTDemucs with random weights (~6 min for 10 minutes of audio on 2
    quiet cores). Measure the real length: the song's bytes and the pieces in flight
    count beside the model's forward pass (HTDemucs, 10 min: 1624 MB with the whole song
    in memory and 30 s pieces; 1341 MB spilled with 15 s pieces)."""
    with tempfile.TemporaryDirectory(prefix="bench-long-") as folder:
        wav = Path(folder) / "long.wav"
        long_song_wav(wav, duration_sec)
        target = "dsp"
        if backend == "demucs":
            target = str(Path(folder) / "repo")
            Path(target).mkdir()
            _save_random_htdemucs(Path(target))
        proc = subprocess.run(
            [sys.executable, "-m", "services.separation.bench", "--memory-child", str(wav),
             "--memory-backend", target],
            capture_output=True, text=True, check=True,
        )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nPeak memory, {backend} separator + FLAC storage, {duration_sec / 60:.0f} min "
          f"stereo 44.1 kHz song: {result['peak_rss_mb']} MB peak RSS (before separating, "
          f"with the file read: {result['imports_rss_mb']} MB; {result['seconds']} s, "
          f"{duration_sec / result['seconds']:.1f}× realtime wall)")
    return {"backend": backend, "song_sec": duration_sec, **result}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=10)
    parser.add_argument("--duration-sec", type=float, default=20.0)
    parser.add_argument("--first-seed", type=int, default=HELD_OUT_SEED,
                        help="first seed of the synthetic corpus (another held-out set)")
    # One htdemucs training segment (7.8 s): a shorter clip is padded to it anyway.
    parser.add_argument("--demucs-clip-sec", type=float, default=7.8)
    parser.add_argument("--demucs-threads", type=int,
                        default=int(os.environ.get("SEPARATION_THREADS", "2")))
    parser.add_argument("--memory-song-sec", type=float, default=600.0)
    parser.add_argument("--skip-demucs", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--leaks", action="store_true",
                        help="also print where each true stem's energy went (`leakage`)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--memory-backend", default="dsp", help="dsp or demucs")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.memory_backend)
        return
    results: dict[str, Any] = {"synthetic": bench_synthetic(args.songs, args.duration_sec,
                                                            first_seed=args.first_seed,
                                                            leaks=args.leaks)}
    if not args.skip_real:
        results["real"] = bench_real()
    if not args.skip_demucs:
        results["demucs"] = bench_demucs(args.demucs_clip_sec, args.demucs_threads)
    if not args.skip_memory:
        results["memory"] = bench_memory(args.memory_song_sec, args.memory_backend)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

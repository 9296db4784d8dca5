"""Render benchmark with independent checks (`python -m services.processing.bench`).

Several synthesised pairs with different tempi and keys (pop 118 with house 131, a
half-time pair hip-hop 92 with drum & bass 174, rock 128 with pop 122) are rendered
through `render_plan` from the synthesiser's exact stems ("stems cached"), with a plan
that uses the whole effects vocabulary. Each output is then checked with measurements
that owe nothing to the renderer (`qa.py`): tempo from Essentia's beat tracker, every
layer's onsets against its source stem read at the ideal time (worst 2 s window ≤ 20 ms:
drums, bass, instrumental and full layers in the mix; pads and vocals, whose soft onsets
the mix's drums hide, each rendered alone on the same passage),
loudness (Essentia EBU R128; per section too: none louder than the plan's energy lets it
be, the "energy arc"), true peak (Essentia), clipped samples, silent holes and
clicks at every section splice. It prints one JSON line per render and a summary, with
the wall and CPU time and × realtime; the first pair is two 3-minute songs (target:
≤ 15 s on 2 cores) and its preview (target ≤ 10 s). For that pair the service's whole
render job is timed too ("service": stored FLAC stems decoded, rendered, encoded to WAV,
measured, stored; then again as the next job on the same songs finds them, decoded).
Exit status 1 when a check fails.

Options: `--quick` (1-minute songs only), `--engine high|fast|both` (Rubber Band engine;
default: the service default), `--pairs N`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.processing import qa, stems
from services.processing.app import render_job
from services.processing.material import SongMaterial, parse_analysis
from services.processing.preview import preview_window
from services.processing.render import RenderResult, render_plan
from services.processing.settings import RenderSettings
from shared.audio_io import encode_audio
from shared.contracts.orchestrator import Masterplan, layer_stems_needed
from shared.contracts.processing import SongRef
from shared.effects import parse_effects
from shared.storage import LocalStorage
from shared.synth import SongSpec, SynthSong, synthesize_song

LOCK_MS = 20.0
LUFS_TOLERANCE = 1.0
# Layers whose onsets are timed in the mix; pads ("other") and vocals have soft onsets
# that the other layers' drums drown in the mix's onset envelope (lags of 50 ms and more
# where they play exactly on time), so they are timed alone (`solo_locks`).
_LOCKED_STEMS = ("drums", "bass", "instrumental", "full")


@dataclass(frozen=True)
class Pair:
    name: str
    a: SongSpec
    b: SongSpec
    target_bpm: float
    target_key: str


# The energy arc: a section may be this much quieter per unit of energy under the plan's
# top sections (the renderer's ride asks 6 dB, with 0.5 dB tolerance)...
ARC_DB_PER_ENERGY = 6.0
ARC_SLACK_DB = 1.0  # ...and the check allows the master's limiter and the meter 0.5 more


def pairs(*, long_sec: float, short_sec: float) -> list[Pair]:
    def spec(name: str, bpm: float, tonic: str, mode: str, style: str, seed: int,
             duration_sec: float) -> SongSpec:
        return SongSpec(name=name, tempo_bpm=bpm, key_tonic=tonic, key_mode=mode,
                        duration_sec=duration_sec, seed=seed, style=style)

    return [
        Pair("pop118+house131", spec("pop118", 118, "C", "major", "pop", 11, long_sec),
             spec("house131", 131, "B", "minor", "house", 12, long_sec), 124.0, "A minor"),
        Pair("hiphop92+dnb174", spec("hiphop92", 92, "D", "minor", "hiphop", 13, short_sec),
             spec("dnb174", 174, "F", "minor", "dnb", 14, short_sec), 90.0, "D minor"),
        Pair("rock128+pop122", spec("rock128", 128, "E", "minor", "rock", 15, short_sec),
             spec("pop122", 122, "F", "major", "pop", 16, short_sec), 125.0, "E minor"),
    ]


# (description, energy, layers); "a" and "b" are the pair's songs.
_TEMPLATES: list[tuple[str, float, list[dict[str, Any]]]] = [
    ("intro", 0.3, [{"songId": "a", "stem": "drums", "effects": ["fade_in:4"]},
                    {"songId": "b", "stem": "other", "effects": ["highpass:300"]}]),
    ("verse", 0.5, [{"songId": "a", "stem": "drums"}, {"songId": "a", "stem": "bass"},
                    {"songId": "b", "stem": "vocals", "effects": ["flanger"]}]),
    ("build", 0.7, [{"songId": "b", "stem": "instrumental", "effects": ["filter_sweep_up"]},
                    {"songId": "a", "stem": "vocals", "effects": ["reverb:0.3"]}]),
    ("drop", 1.0, [{"songId": "a", "stem": "instrumental"},
                   {"songId": "b", "stem": "drums", "volume_db": -6},
                   {"songId": "b", "stem": "vocals", "effects": ["delay:1/8d", "sidechain:6"]}]),
    ("breakdown", 0.4, [{"songId": "b", "stem": "other", "effects": ["lowpass:1200"]},
                        {"songId": "a", "stem": "vocals"}]),
    ("second drop", 0.9, [{"songId": "b", "stem": "drums"}, {"songId": "b", "stem": "bass"},
                          {"songId": "a", "stem": "other", "effects": ["eq_swap_low"]},
                          {"songId": "a", "stem": "vocals"}]),
    ("wind down", 0.6, [{"songId": "b", "stem": "instrumental",
                         "effects": ["filter_sweep_down"]},
                        {"songId": "a", "stem": "drums", "effects": ["sidechain"]}]),
]
_OUTRO = ("outro", 0.3, [{"songId": "a", "stem": "full", "effects": ["fade_out:4"]}])


def bench_plan(pair: Pair, *, duration_sec: float, bars: int = 8) -> Masterplan:
    """A plan of `bars`-bar sections filling about `duration_sec`: intro, then the middle
    templates in turn, then an outro."""
    bar_sec = 4 * 60.0 / pair.target_bpm
    n = max(3, round(duration_sec / (bars * bar_sec)))
    chosen = [_TEMPLATES[0]] + [_TEMPLATES[1 + i % (len(_TEMPLATES) - 1)]
                                for i in range(n - 2)] + [_OUTRO]
    timeline = [{"time_start_sec": i * bars * bar_sec, "duration_sec": bars * bar_sec,
                 "description": desc, "energy_level": energy,
                 "layers": [{**layer, "songId": pair.a.name if layer["songId"] == "a"
                             else pair.b.name} for layer in layers]}
                for i, (desc, energy, layers) in enumerate(chosen)]
    return Masterplan.model_validate({
        "title": pair.name, "global": {"targetBPM": pair.target_bpm,
                                       "targetKey": pair.target_key},
        "timeline": timeline})


def analysis_of(song: SynthSong) -> dict[str, Any]:
    """The song's ground truth as the analysis service's result would give it."""
    truth = song.truth
    return {"bpm": truth.tempo_bpm, "beats": list(truth.beats_sec),
            "downbeats": list(truth.downbeats_sec), "key": truth.key,
            "vocal_intervals": [list(v) for v in truth.vocal_intervals],
            "sections": [{"label": s.label, "start_sec": s.start_sec, "end_sec": s.end_sec}
                         for s in truth.sections]}


def material(song: SynthSong) -> SongMaterial:
    duration = song.mix.shape[1] / song.sample_rate_hz
    return SongMaterial.build(song.spec.name, stems=dict(song.stems),
                              sample_rate_hz=song.sample_rate_hz,
                              analysis=parse_analysis(analysis_of(song), song_id=song.spec.name,
                                                      duration_sec=duration))


def service_render(songs: dict[str, SynthSong], plan: Masterplan, *,
                   settings: RenderSettings, fmt: str = "wav") -> dict[str, Any]:
    """Time the service's own render job with stems cached: the songs and their stems
    stored as FLAC (as separation stores them), then decoded, rendered, encoded,
    measured and stored, exactly as `POST /execute-masterplan` runs it in its worker."""
    with tempfile.TemporaryDirectory() as root:
        storage = LocalStorage(root)
        refs, stem_keys = [], {}
        for name, song in songs.items():
            sr = song.sample_rate_hz
            storage.put_bytes(f"songs/{name}.flac",
                              encode_audio(song.mix, sample_rate_hz=sr, fmt="flac"))
            stem_keys[name] = {}
            for stem, audio in song.stems.items():
                key = f"stems/{name}/{stem}.flac"
                storage.put_bytes(key, encode_audio(audio, sample_rate_hz=sr, fmt="flac"))
                stem_keys[name][stem] = key
            refs.append(SongRef(id=name, storage_path=f"songs/{name}.flac"))
        analyses = {name: analysis_of(song) for name, song in songs.items()}

        needs = layer_stems_needed(plan, [ref.id for ref in refs])

        def job() -> Any:
            return render_job(refs, plan=plan, needs=needs,
                              analyses=analyses, stem_keys=stem_keys, preview=False, fmt=fmt,
                              base_key="mashups/bench", settings=settings, storage=storage)

        stems.decode_cache.clear()  # the first job decodes every file
        response, wall, cpu = _timed(job)
        # The next job on the same songs (the full render after the page's preview, or
        # another format) finds them decoded.
        _, warm_wall, warm_cpu = _timed(job)
    return {"kind": "service", "format": fmt, "output_sec": response.duration_sec,
            "wall_sec": round(wall, 2), "cpu_sec": round(cpu, 2),
            "x_realtime": round(response.duration_sec / wall, 2),
            "decoded_wall_sec": round(warm_wall, 2), "decoded_cpu_sec": round(warm_cpu, 2),
            "lufs": response.lufs, "true_peak_dbtp": response.true_peak_dbtp,
            "passed": response.true_peak_dbtp <= settings.ceiling_dbtp}


def _speed(song_bpm: float, target_bpm: float) -> float:
    """Source seconds per output second at the least-stretch fold (the oracle's own)."""
    fold = min((1.0, 2.0, 0.5), key=lambda r: abs(math.log(target_bpm / (r * song_bpm))))
    return target_bpm / (fold * song_bpm)


def _timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _holes(result: RenderResult, songs: dict[str, SynthSong], *, target_bpm: float
           ) -> list[str]:
    """Silent runs (≥ 0.2 s under -50 dBFS) of the output where its layers' sources, read
    at the same (ideal) time, are not silent: a rest in the music is not a hole, nor is
    the quiet end of a fade the plan asked for."""
    sr = result.sample_rate_hz
    holes = []
    for start, length in qa.silent_runs(result.audio, sample_rate_hz=sr):
        section = next((s for s in result.report["sections"]  # type: ignore[union-attr]
                        if s["start_sec"] <= start < s["end_sec"]), None)
        if section is None:
            continue
        span = section["end_sec"] - section["start_sec"]
        effects = " ".join(e for layer in section["layers"] for e in layer["effects"])
        if ("fade_out" in effects and start >= section["end_sec"] - 0.25 * span) or (
                "fade_in" in effects and start + length <= section["start_sec"] + 0.25 * span):
            continue  # the quiet end of a fade the plan asked for
        loudest = -200.0
        for layer in section["layers"]:
            song = songs[layer["songId"]]
            speed = _speed(song.truth.tempo_bpm, target_bpm)
            t0 = layer["source_start_sec"] + (start - section["start_sec"]) * speed
            a, b = round(t0 * sr), round((t0 + length * speed) * sr)
            parts = (("drums", "bass", "other") if layer["stem"] == "instrumental" else
                     tuple(song.stems) if layer["stem"] == "full" else (layer["stem"],))
            source = sum(song.stems[p][:, max(a, 0):max(b, 0)] for p in parts)
            loudest = max(loudest, qa.level_dbfs(source) + layer["volume_db"])
        if loudest > qa.GAP_LEVEL_DB + 10:
            holes.append(f"{length:.2f} s at {start:.2f} s (sources at {loudest:.0f} dBFS)")
    return holes


def _fade_bars(effects: list[str], *, bars: float) -> tuple[float, float]:
    """Bars at the start and the end of a section that a layer's fade_in / fade_out
    effects cover (a fade of 0 bars, the default: the whole section)."""
    lead = tail = 0.0
    for effect in parse_effects(effects)[0]:
        if effect.name in ("fade_in", "fade_out"):
            covered = min(bars, effect.value or bars)
            if effect.name == "fade_in":
                lead = covered
            else:
                tail = covered
    return lead, tail


def _energy_arc(result: RenderResult) -> tuple[list[float], list[str]]:
    """Each section's loudness (Essentia), and the sections that play louder than the
    ones the plan gives most energy (those within 0.1 of the highest, power-averaged)
    allow: `ARC_DB_PER_ENERGY` quieter per unit of energy under them, with
    `ARC_SLACK_DB` to spare."""
    sr = result.sample_rate_hz
    sections = result.report["sections"]  # type: ignore[index]
    lufs = [qa.essentia_lufs(result.audio[:, round(s["start_sec"] * sr):round(s["end_sec"] * sr)],
                             sample_rate_hz=sr) for s in sections]
    energy = [float(s["energy_level"]) for s in sections]
    top = max(energy)
    band = [i for i, e in enumerate(energy) if e >= top - 0.1]
    ref = 10 * math.log10(float(np.mean([10 ** (lufs[i] / 10) for i in band])))
    ref_energy = float(np.mean([energy[i] for i in band]))
    outplaying = [f"section {i + 1} (energy {energy[i]:.2f}) at {lufs[i]:.1f} LUFS over "
                  f"the top sections' {ref:.1f}"
                  for i in range(len(sections)) if i not in band
                  and lufs[i] > ref - ARC_DB_PER_ENERGY * (ref_energy - energy[i]) + ARC_SLACK_DB]
    return [round(v, 1) for v in lufs], outplaying


def check_render(result: RenderResult, plan: Masterplan, songs: dict[str, SynthSong], *,
                 settings: RenderSettings) -> dict[str, Any]:
    """Independent measurements of one render, and which checks pass."""
    sr = result.sample_rate_hz
    audio = result.audio
    target = plan.global_.targetBPM
    bpm, ticks = qa.essentia_beats(audio, sample_rate_hz=sr)
    fitted = qa.fitted_tempo_bpm(ticks, target_bpm=target)
    lufs = qa.essentia_lufs(audio, sample_rate_hz=sr)
    tp = qa.essentia_true_peak_dbtp(audio, sample_rate_hz=sr)
    bar_sec = 4 * 60.0 / target
    worst: dict[str, float] = {}
    typical: dict[str, list[float]] = {}
    unlocked: list[str] = []
    for section in result.report["sections"]:  # type: ignore[union-attr]
        a, b = round(section["start_sec"] * sr), round(section["end_sec"] * sr)
        for layer in section["layers"]:
            if layer["looped"] or layer["stem"] not in _LOCKED_STEMS:
                continue
            song = songs[layer["songId"]]
            stem = layer["stem"]
            if stem == "full":
                source = song.mix
            elif stem == "instrumental":
                source = song.stems["drums"] + song.stems["bass"] + song.stems["other"]
            else:
                source = song.stems[stem]
            # A layer fading in or out is measured where it plays at full level: under
            # the fade the mix's onsets are the other layers', not its own.
            lead, tail = _fade_bars(layer["effects"], bars=(b - a) / sr / bar_sec)
            a0, b0 = a + round(lead * bar_sec * sr), b - round(tail * bar_sec * sr)
            speed = _speed(song.truth.tempo_bpm, target)
            lock = qa.layer_lock(audio[:, a0:b0], source,
                                 source_start_sec=layer["source_start_sec"]
                                 + (a0 - a) / sr * speed,
                                 speed=speed, sample_rate_hz=sr)
            if not lock.windows:
                continue
            worst[stem] = max(worst.get(stem, 0.0), lock.worst_ms)
            typical.setdefault(stem, []).extend(np.abs(lock.lags_ms).tolist())
            if lock.worst_ms > LOCK_MS:
                unlocked.append(f"section {section['index'] + 1} {layer['songId']} {stem}: "
                                f"{lock.worst_ms:.1f} ms")
    splices = [round(s["start_sec"] * sr) for s in result.report["sections"][1:]]  # type: ignore[index]
    clicks = [qa.click_ratio(audio, at_sample=s, sample_rate_hz=sr) for s in splices]
    holes = _holes(result, songs, target_bpm=target)
    clipped = qa.clipped_samples(audio)
    section_lufs, outplaying = _energy_arc(result)
    checks = {
        "tempo": abs(fitted - target) / target < 0.002
        and abs(qa.folded_bpm(bpm, target_bpm=target) - target) / target < 0.02,
        "layers_on_grid": not unlocked and bool(worst),
        "lufs": abs(lufs - settings.target_lufs) <= LUFS_TOLERANCE,
        "true_peak": tp <= settings.ceiling_dbtp,
        "no_clipping": clipped == 0,
        "no_holes": not holes,
        "no_clicks": max(clicks, default=0.0) < qa.CLICK_RATIO,
        "energy_arc": not outplaying,
    }
    return {
        "tempo_bpm_essentia": round(bpm, 2), "tempo_bpm_beat_fit": round(fitted, 3),
        "layer_worst_lag_ms": {k: round(v, 1) for k, v in sorted(worst.items())},
        "layer_median_lag_ms": {k: round(float(np.median(v)), 1)
                                for k, v in sorted(typical.items())},
        "unlocked_layers": unlocked, "lufs_essentia": round(lufs, 2),
        "true_peak_dbtp_essentia": round(tp, 2), "clipped_samples": clipped,
        "holes": holes,
        "worst_splice_click_ratio": round(max(clicks, default=0.0), 2),
        "section_lufs_essentia": section_lufs, "outplaying_sections": outplaying,
        "checks": checks, "passed": all(checks.values()),
    }


def solo_locks(result: RenderResult, plan: Masterplan, songs: dict[str, SynthSong],
               materials: dict[str, SongMaterial], *, settings: RenderSettings
               ) -> dict[str, float]:
    """Worst lag (ms) per stem of the layers whose onsets the mix hides (pads, vocals),
    each rendered alone: its section's length, the same source passage (pinned by
    `source_start_sec`), dry (echoes and reverbs would smear its onsets), measured
    against its source read at the ideal time like the others."""
    sr = result.sample_rate_hz
    target = plan.global_.targetBPM
    worst: dict[str, float] = {}
    for section in result.report["sections"]:  # type: ignore[union-attr]
        for layer in section["layers"]:
            if layer["stem"] in _LOCKED_STEMS or layer["looped"] or layer["filled"]:
                continue
            # Two bars more than the section, measured over the section only: the
            # render's closing fade would hide the onsets of its last window.
            length_sec = section["end_sec"] - section["start_sec"]
            solo = Masterplan.model_validate({
                "title": "solo", "global": {"targetBPM": target,
                                            "targetKey": plan.global_.targetKey},
                "timeline": [{"time_start_sec": 0.0,
                              "duration_sec": length_sec + 2 * 4 * 60.0 / target,
                              "description": "solo", "energy_level": 0.5,
                              "layers": [{"songId": layer["songId"], "stem": layer["stem"],
                                          "source_start_sec": layer["source_start_sec"]}]}]})
            alone = render_plan(solo, materials, settings=settings)
            song = songs[layer["songId"]]
            start = alone.report["sections"][0]["layers"][0]["source_start_sec"]  # type: ignore[index]
            lock = qa.layer_lock(alone.audio[:, :round(length_sec * sr)],
                                 song.stems[layer["stem"]], source_start_sec=start,
                                 speed=_speed(song.truth.tempo_bpm, target), sample_rate_hz=sr)
            if lock.windows:
                worst[layer["stem"]] = max(worst.get(layer["stem"], 0.0), lock.worst_ms)
    return worst


def run_pair(pair: Pair, *, settings: RenderSettings, duration_sec: float, engine: str,
             preview: bool, service: bool = False) -> list[dict[str, Any]]:
    songs = {pair.a.name: synthesize_song(pair.a), pair.b.name: synthesize_song(pair.b)}
    materials = {name: material(song) for name, song in songs.items()}
    plan = bench_plan(pair, duration_sec=duration_sec)
    rows = []
    result, wall, cpu = _timed(lambda: render_plan(plan, materials, settings=settings))
    row = {"pair": pair.name, "engine": engine, "kind": "full",
           "songs_sec": [round(s.mix.shape[1] / s.sample_rate_hz, 1) for s in songs.values()],
           "output_sec": round(result.duration_sec, 2), "wall_sec": round(wall, 2),
           "cpu_sec": round(cpu, 2), "x_realtime": round(result.duration_sec / wall, 2),
           "warnings": len(result.warnings),
           "unknown_effect_warned": any("unknown effect 'flanger'" in w
                                        for w in result.warnings)}
    row.update(check_render(result, plan, songs, settings=settings))
    solo = solo_locks(result, plan, songs, materials, settings=settings)
    row["solo_worst_lag_ms"] = {k: round(v, 1) for k, v in sorted(solo.items())}
    row["checks"]["solo_layers_on_grid"] = all(v <= LOCK_MS for v in solo.values())
    row["checks"]["unknown_effect_warned"] = row["unknown_effect_warned"]
    row["passed"] = all(row["checks"].values())
    rows.append(row)
    if service:
        rows.append({"pair": pair.name, "engine": engine,
                     **service_render(songs, plan, settings=settings)})
    if preview:
        window = preview_window(plan, max_sec=settings.preview_max_sec)
        quick = settings.for_preview()
        first, wall, cpu = _timed(lambda: render_plan(plan, materials, settings=quick,
                                                      window_sec=window))
        second = render_plan(plan, materials, settings=quick, window_sec=window)
        digests = [hashlib.sha256(encode_audio(r.audio, sample_rate_hz=r.sample_rate_hz,
                                               fmt="wav")).hexdigest() for r in (first, second)]
        tp = qa.essentia_true_peak_dbtp(first.audio, sample_rate_hz=first.sample_rate_hz)
        rows.append({"pair": pair.name, "kind": "preview",
                     "engine": "high" if quick.stretch_high_quality else "fast",
                     "window_sec": [round(w, 2) for w in window],
                     "output_sec": round(first.duration_sec, 2), "wall_sec": round(wall, 2),
                     "cpu_sec": round(cpu, 2), "true_peak_dbtp_essentia": round(tp, 2),
                     "same_bytes_twice": digests[0] == digests[1],
                     "passed": digests[0] == digests[1] and first.duration_sec <= 30.0 + 1e-6
                     and tp <= settings.ceiling_dbtp})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1-minute songs only")
    parser.add_argument("--engine", choices=("default", "high", "fast", "both"),
                        default="default")
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args(argv)
    base = RenderSettings.from_env()
    engines = {"default": [base.stretch_high_quality], "high": [True], "fast": [False],
               "both": [True, False]}[args.engine]
    long_sec = 60.0 if args.quick else 180.0
    all_rows = []
    for i, pair in enumerate(pairs(long_sec=long_sec, short_sec=60.0)[:args.pairs]):
        for hq in engines:
            settings = base.with_changes(stretch_high_quality=hq)
            rows = run_pair(pair, settings=settings, engine="high" if hq else "fast",
                            duration_sec=long_sec if i == 0 else 50.0, preview=i == 0,
                            service=i == 0)
            for row in rows:
                print(json.dumps(row))
                sys.stdout.flush()
            all_rows += rows
    failed = [f"{r['pair']} {r['engine']} {r['kind']}" for r in all_rows if not r["passed"]]
    long_rows = [r for r in all_rows if r["kind"] == "full" and r["pair"] == all_rows[0]["pair"]]
    summary = {
        "renders": len(all_rows), "failed": failed,
        "two_songs_render_wall_sec": {r["engine"]: r["wall_sec"] for r in long_rows},
        "two_songs_render_cpu_sec": {r["engine"]: r["cpu_sec"] for r in long_rows},
        "two_songs_service_job_wall_sec": {r["engine"]: r["wall_sec"] for r in all_rows
                                           if r["kind"] == "service"},
        "two_songs_service_job_decoded_wall_sec": {
            r["engine"]: r["decoded_wall_sec"] for r in all_rows if r["kind"] == "service"},
        "two_songs_sec": long_rows[0]["songs_sec"] if long_rows else None,
        "preview_wall_sec": {r["engine"]: r["wall_sec"] for r in all_rows
                             if r["kind"] == "preview"},
        "targets": {"two_3min_songs_sec": 15.0, "preview_sec": 10.0},
    }
    print(json.dumps({"summary": summary}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

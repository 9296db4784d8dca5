"""Accuracy and speed of the analysis against ground truth, beside plain Essentia.

    python -m services.analysis.bench [--songs 24] [--seed 1000] [--workers 2] [--verbose]
                                      [--corpus default|stress] [--length 45 80]
                                      [--sample-rate 44100] [--real-audio DIR | --no-real]

A corpus of annotated songs is synthesised with `shared.synth` (six styles from 80 to
175 BPM, every one of the 24 keys, forms with builds, drops and breakdowns, a sung-like
lead in most songs, tempo-ambiguous drum & bass and half-time trap grooves) and analysed
twice: by `analyze_audio`, and by what a user gets from plain Essentia calls
(RhythmExtractor2013 + KeyExtractor with their defaults, every fourth beat taken as a
downbeat). Metrics follow mir_eval: beat and downbeat F-measure (70 ms window, the first
5 s trimmed as `mir_eval.beat.evaluate` does), key exact and MIREX weighted score
(`mir_eval.key`), section boundary hit-rate F at 3 s and 0.5 s (`mir_eval.segment.detection`,
trimmed), and voicing from `mir_eval.melody`. Tempo Acc1 / Acc2 (Gouyon et al. 2006) are
the share of songs within 4 % of the true tempo, Acc2 also accepting ×2, ×3, ×1/2, ×1/3.
Drop recall: true drops with an estimated section labelled "drop" starting within 3 s.
Speed is audio seconds per CPU second of the analysing process (× realtime per core).

`--corpus stress` synthesises songs the analysis was not tuned on (`stress_specs`): any
style at any tempo from 80 to 175 BPM, each song with three departures from the house
style drawn in turn from swing, humanised timing, tempo drift, another groove (half-time,
breakbeat, syncopated, four on the floor), a drumless intro, a panned or doubled lead,
detuning (A4 = 435-445 Hz), modal or ambiguous harmony, other stem levels and a brighter
or darker pad; the variations are in the song names.

The real recordings of ../shared/real-audio (found beside the repository, or given with
--real-audio) are analysed too when present, each scored on the truth it has.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from services.analysis.bench_metrics import Estimate, Truth, score
from shared.real_audio import real_audio_dir

STYLE_TEMPI_BPM: dict[str, tuple[float, float, str]] = {
    # name: (lowest, highest tempo, shared.synth style)
    "house": (118.0, 130.0, "house"),
    "dnb": (160.0, 175.0, "dnb"),
    "boom-bap": (80.0, 100.0, "hiphop"),
    "pop": (86.0, 134.0, "pop"),
    "rock": (100.0, 165.0, "rock"),
    "trap": (130.0, 150.0, "hiphop"),  # half-time snare on beat 3: tempo-ambiguous
}
TONICS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TARGETS = {"acc1": 0.98, "beat_f": 0.97, "downbeat_f": 0.95, "key_exact": 0.92,
           "key_weighted": 0.95, "section_f3": 0.85, "drop_recall": 0.9, "vocal_acc": 0.9,
           "x_realtime": 40.0}


@dataclass
class Row:
    name: str
    duration_sec: float
    truth: Truth
    ours: Estimate
    essentia: Estimate
    scores: dict[str, dict[str, float]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------


def corpus_specs(n_songs: int, *, seed: int, length_sec: tuple[float, float] = (45.0, 80.0),
                 sample_rate_hz: int = 44100) -> list[Any]:
    """`n_songs` SongSpecs: styles in turn, keys shuffled so every 24 songs cover all 24
    keys, tempi and lengths (within `length_sec`) drawn per song; one song in six is
    instrumental."""
    from shared.synth import SongSpec

    rng = np.random.default_rng(seed)
    styles = list(STYLE_TEMPI_BPM)
    specs = []
    keys: list[int] = []
    for i in range(n_songs):
        if not keys:
            keys = list(rng.permutation(24))
        key = int(keys.pop())
        name = styles[i % len(styles)]
        low, high, synth_style = STYLE_TEMPI_BPM[name]
        tempo = float(np.round(rng.uniform(low, high), 1))
        specs.append(SongSpec(
            name=f"{i:02d}-{name}-{tempo:g}", tempo_bpm=tempo, key_tonic=TONICS[key // 2],
            key_mode=("major", "minor")[key % 2], duration_sec=float(rng.uniform(*length_sec)),
            seed=seed + i, style=synth_style, with_vocals=bool(i % 6 != 5),
            sample_rate_hz=sample_rate_hz))
    return specs


STRESS_VARIATIONS = ("swing", "humanize", "drift", "groove", "drumless_intro", "vocal",
                     "tuning", "harmony", "levels", "timbre")
STRESS_PER_SONG = 3


def _stress_variation(kind: str, rng: np.random.Generator, *, turn: int
                      ) -> tuple[dict[str, Any], str]:
    """Variation fields for one kind of departure, and a short tag for the song name;
    `turn` (how often this kind came before) alternates its two flavours."""
    if kind == "swing":
        swing = float(np.round(rng.uniform(0.3, 1.0), 2))
        return {"swing": swing}, f"swing{swing:g}"
    if kind == "humanize":
        ms = float(np.round(rng.uniform(5.0, 15.0), 1))
        return {"humanize_ms": ms}, f"hum{ms:g}ms"
    if kind == "drift":
        drift = float(np.round(rng.uniform(0.01, 0.03), 3))
        return {"tempo_drift": drift}, f"drift{drift:g}"
    if kind == "groove":
        groove = str(rng.choice(["halftime", "breakbeat", "syncopated", "four"]))
        return {"groove": groove}, groove
    if kind == "drumless_intro":
        return {"drumless_intro": True}, "nodrumintro"
    if kind == "vocal":
        if turn % 2 == 0:
            return {"vocal_double": True}, "vocdouble"
        pan = float(np.round(rng.choice([-1, 1]) * rng.uniform(0.4, 0.8), 2))
        return {"vocal_pan": pan}, f"vocpan{pan:g}"
    if kind == "tuning":
        hz = float(np.round(rng.uniform(435.0, 445.0), 1))
        return {"tuning_hz": hz}, f"A{hz:g}"
    if kind == "harmony":
        harmony = str(rng.choice(["modal", "ambiguous"]))
        return {"harmony": harmony}, harmony
    if kind == "levels":
        if turn % 2 == 0:
            db = float(np.round(rng.uniform(-9.0, -4.0), 1))
            return {"stem_gain_db": (("vocals", db),)}, f"voc{db:g}dB"
        db = float(np.round(rng.uniform(4.0, 8.0), 1))
        return {"stem_gain_db": (("bass", db), ("drums", -3.0))}, f"bass+{db:g}dB"
    rolloff = (0.8, 2.5)[turn % 2]
    return {"pad_rolloff": rolloff}, f"pad{rolloff:g}"


def stress_specs(n_songs: int, *, seed: int, length_sec: tuple[float, float] = (45.0, 80.0),
                 sample_rate_hz: int = 44100) -> list[Any]:
    """`n_songs` SongSpecs with variations the analysis was not tuned on (see the module
    docstring): every kind of variation equally often, keys covering all 24 in turn."""
    from shared.synth import STYLES, SongSpec, Variation

    rng = np.random.default_rng(seed)
    specs = []
    keys: list[int] = []
    kinds: list[str] = []
    turns = dict.fromkeys(STRESS_VARIATIONS, 0)
    for i in range(n_songs):
        if not keys:
            keys = list(rng.permutation(24))
        key = int(keys.pop())
        chosen: list[str] = []
        while len(chosen) < STRESS_PER_SONG:
            if not kinds:
                kinds = list(rng.permutation(STRESS_VARIATIONS))
            kind = kinds.pop()
            if kind not in chosen:
                chosen.append(kind)
        fields: dict[str, Any] = {}
        tags = []
        for kind in chosen:
            more, tag = _stress_variation(kind, rng, turn=turns[kind])
            turns[kind] += 1
            fields.update(more)
            tags.append(tag)
        style = str(rng.choice(STYLES))
        tempo = float(np.round(rng.uniform(80.0, 175.0), 1))
        specs.append(SongSpec(
            name=f"{i:02d}-{style}-{tempo:g}-{'-'.join(tags)}", tempo_bpm=tempo,
            key_tonic=TONICS[key // 2], key_mode=("major", "minor")[key % 2],
            duration_sec=float(rng.uniform(*length_sec)), seed=seed + i, style=style,
            with_vocals=bool(rng.random() < 0.85), sample_rate_hz=sample_rate_hz,
            variation=Variation(**fields)))
    return specs


def _synth_job(spec: Any) -> tuple[str, float, np.ndarray, int, Truth]:
    from shared.synth import synthesize_song

    song = synthesize_song(spec)
    t = song.truth
    boundaries = np.array([s.start_sec for s in t.sections[1:]])
    drops = np.array([s.start_sec for s in t.sections if s.label == "drop"])
    truth = Truth(t.tempo_bpm, t.key, t.beats_sec, t.downbeats_sec, boundaries, drops,
                  list(t.vocal_intervals))
    return spec.name, spec.duration_sec, song.mix, song.sample_rate_hz, truth


def real_items(root: Path) -> list[dict[str, Any]]:
    """Manifest items that have a full mix to analyse."""
    items = []
    for item in json.loads((root / "manifest.json").read_text())["items"]:
        files = item["files"]
        mix = files.get("mix") or files.get("mixture")
        parts = [mix] if mix else [files[k] for k in ("backing", "guitar") if k in files]
        if parts:
            items.append({**item, "root": str(root), "parts": parts})
    return items


# Modes named in a label decide major/minor by their third, as the Camelot wheel files them:
# "F (blues/dorian phrasing)" is an F-tonic song with a minor third, so F minor.
_MINOR_MODES = ("dorian", "phrygian", "aeolian", "minor")
_MAJOR_MODES = ("lydian", "mixolydian", "ionian", "major")


def _truth_key(label: str) -> str:
    from shared.camelot import normalize_key

    tonic, _, remark = label.partition(" (")
    lowered = label.lower()
    if remark and not any(m in tonic.lower() for m in ("major", "minor")):
        if any(m in lowered for m in _MINOR_MODES):
            return normalize_key(f"{tonic} minor")
        if any(m in lowered for m in _MAJOR_MODES):
            return normalize_key(f"{tonic} major")
    return normalize_key(tonic)


def _real_job(item: dict[str, Any]) -> tuple[str, float, np.ndarray, int, Truth]:
    import soundfile as sf

    root = Path(item["root"])
    audio = None
    rate = 44100
    for part in item["parts"]:
        data, rate = sf.read(root / part, dtype="float32", always_2d=True)
        audio = data.T if audio is None else audio[:, : data.shape[0]] + data.T[:, : audio.shape[1]]
    assert audio is not None
    if len(item["parts"]) > 1:
        audio = audio * 0.5  # the README: the plain sum of the two stems clips
    notes = {}
    if item.get("annotations"):
        notes = json.loads((root / item["annotations"]).read_text())
    key = None
    for candidate in (notes.get("key"), item.get("key")):
        try:
            key = _truth_key(str(candidate)) if candidate else None
        except ValueError:
            key = None
        if key:
            break
    def arr(name: str) -> np.ndarray | None:
        return np.asarray(notes[name], dtype=np.float64) if notes.get(name) else None

    vocals = notes.get("vocal_activity")
    truth = Truth(tempo_bpm=notes.get("tempo_bpm") or item.get("tempo_bpm"), key=key,
                  beats_sec=arr("beats"), downbeats_sec=arr("downbeats"),
                  vocal_intervals=[tuple(v) for v in vocals] if vocals else None)
    return item["id"], audio.shape[1] / rate, audio, int(rate), truth


# ---------------------------------------------------------------------------------------
# The two analysers
# ---------------------------------------------------------------------------------------


def _ours(audio: np.ndarray, rate: int, name: str) -> Estimate:
    from services.analysis.analyzer import analyze_audio

    started = time.process_time()
    result = analyze_audio(audio, sample_rate_hz=rate, song_id=name)
    cpu = time.process_time() - started
    drops = [s.start_sec for s in result.sections if s.label == "drop"]
    return Estimate(result.bpm, result.key, np.asarray(result.beats),
                    np.asarray(result.downbeats), cpu,
                    np.array([s.start_sec for s in result.sections]), np.array(drops),
                    [tuple(v) for v in result.vocal_intervals])


def _essentia(audio: np.ndarray, rate: int, name: str) -> Estimate:
    import essentia.standard as es

    from services.analysis.algorithms import cached_algorithm, rhythm_extractor
    from shared.audio_io import resample, to_mono
    from shared.camelot import normalize_key

    started = time.process_time()
    mono = resample(to_mono(audio), from_rate_hz=rate, to_rate_hz=44100)
    # Kept per thread, like the service's own instances: building and destroying them
    # per song reset Essentia's "last network", after which every call of the service's
    # kept RhythmExtractor2013 logged warnings (~31,000 lines per 24-song run).
    bpm, beats, _, _, _ = rhythm_extractor("multifeature")(mono)
    tonic, scale, _ = cached_algorithm(("baseline-key",), es.KeyExtractor)(mono)
    cpu = time.process_time() - started
    beats = np.asarray(beats, dtype=np.float64)
    return Estimate(float(bpm), normalize_key(f"{tonic} {scale}"), beats, beats[::4], cpu)


def run_job(job: tuple[str, Any]) -> Row:
    import warnings

    import essentia

    essentia.log.infoActive = False
    # mir_eval warns about songs without vocals; they are scored all the same.
    warnings.filterwarnings("ignore", module="mir_eval")
    kind, payload = job
    loader: Callable[[Any], tuple[str, float, np.ndarray, int, Truth]] = (
        _synth_job if kind == "synth" else _real_job)
    name, duration, audio, rate, truth = loader(payload)
    row = Row(name, duration, truth, _ours(audio, rate, name), _essentia(audio, rate, name))
    row.scores = {"ours": score(truth, row.ours, duration),
                  "essentia": score(truth, row.essentia, duration)}
    return row


def summarise(rows: list[Row], who: str) -> dict[str, float]:
    def mean(name: str) -> float:
        values = [r.scores[who][name] for r in rows if name in r.scores[who]]
        return float(np.mean(values)) if values else float("nan")

    def total(name: str) -> float:
        return float(sum(r.scores[who].get(name, 0.0) for r in rows))

    summary = {name: mean(name) for name in (
        "acc1", "acc2", "beat_f", "downbeat_f", "key_exact", "key_weighted", "section_f3",
        "section_f05", "vocal_acc", "vocal_recall", "vocal_false_alarm")}
    drops = total("drops_true")
    summary["drop_recall"] = total("drops_found") / drops if drops else float("nan")
    estimated = total("drops_estimated")
    summary["drop_precision"] = total("drops_correct") / estimated if estimated else float("nan")
    summary["x_realtime"] = total("audio_sec") / max(total("cpu_sec"), 1e-9)
    return summary


METRIC_NAMES = {
    "acc1": "tempo Acc1 (4 %)", "acc2": "tempo Acc2 (4 %)", "beat_f": "beat F (70 ms)",
    "downbeat_f": "downbeat F (70 ms)", "key_exact": "key exact",
    "key_weighted": "key MIREX weighted", "section_f3": "section boundary F @3 s",
    "section_f05": "section boundary F @0.5 s", "drop_recall": "drop recall",
    "drop_precision": "drop precision", "vocal_acc": "vocal frame accuracy",
    "vocal_recall": "vocal voicing recall", "vocal_false_alarm": "vocal false alarm",
    "x_realtime": "× realtime per core",
}


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "—"
    return f"{value:.1f}" if value >= 2.0 else f"{value:.3f}"


def print_table(title: str, rows: list[Row]) -> None:
    ours, base = summarise(rows, "ours"), summarise(rows, "essentia")
    print(f"\n{title} ({len(rows)} songs, {sum(r.duration_sec for r in rows) / 60:.1f} min)")
    print(f"{'metric':28s} {'ours':>8s} {'essentia':>9s} {'target':>7s}")
    for key, label in METRIC_NAMES.items():
        target = TARGETS.get(key)
        mark = "" if target is None or ours[key] != ours[key] else (
            " ok" if ours[key] >= target else " MISS")
        print(f"{label:28s} {_fmt(ours[key]):>8s} {_fmt(base[key]):>9s} "
              f"{_fmt(target) if target else '':>7s}{mark}")


def print_rows(rows: list[Row]) -> None:
    for r in rows:
        o, e = r.scores["ours"], r.scores["essentia"]
        truth_bpm = f"{r.truth.tempo_bpm:g}" if r.truth.tempo_bpm else "?"
        print(f"  {r.name:34s} bpm {truth_bpm:>6s} ours {r.ours.tempo_bpm:7.2f} "
              f"ess {r.essentia.tempo_bpm:7.2f} | key {r.truth.key or '?':9s} "
              f"ours {r.ours.key:9s} ess {r.essentia.key:9s} | "
              + " ".join(f"{k}={_fmt(o[k])}/{_fmt(e.get(k, float('nan')))}"
                         for k in ("beat_f", "downbeat_f", "section_f3", "vocal_acc")
                         if k in o)
              + f" | {r.duration_sec / max(r.ours.cpu_sec, 1e-9):.0f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=24, help="synthetic songs (default 24)")
    parser.add_argument("--seed", type=int, default=1000, help="corpus seed (default 1000)")
    parser.add_argument("--corpus", choices=("default", "stress"), default="default",
                        help="synthetic corpus: the house styles or the stress variations")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--length", type=float, nargs=2, default=(45.0, 80.0),
                        metavar=("MIN_SEC", "MAX_SEC"), help="song lengths (default 45 80)")
    parser.add_argument("--sample-rate", type=int, default=44100, help="of the synth songs")
    parser.add_argument("--real-audio", default=None, help="folder of the real recordings")
    parser.add_argument("--no-real", action="store_true", help="skip the real recordings")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every song")
    args = parser.parse_args(argv)

    make_specs = stress_specs if args.corpus == "stress" else corpus_specs
    specs = make_specs(args.songs, seed=args.seed, length_sec=tuple(args.length),
                       sample_rate_hz=args.sample_rate)
    jobs: list[tuple[str, Any]] = [("synth", s) for s in specs]
    real_root = None if args.no_real else real_audio_dir(args.real_audio)
    if real_root is not None:
        jobs += [("real", item) for item in real_items(real_root)]
    started = time.perf_counter()
    # Longest first, so the pool does not end waiting on one long song.
    order = sorted(range(len(jobs)), key=lambda i: -float(
        jobs[i][1].duration_sec if jobs[i][0] == "synth"
        else jobs[i][1].get("audio_info", {}).get(jobs[i][1]["parts"][0], {})
        .get("duration_s", 60.0)))
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        done = dict(zip(order, pool.map(run_job, [jobs[i] for i in order]), strict=True))
    rows = [done[i] for i in range(len(jobs))]
    synth_rows = [r for (kind, _), r in zip(jobs, rows, strict=True) if kind == "synth"]
    real_rows = [r for (kind, _), r in zip(jobs, rows, strict=True) if kind == "real"]
    if args.verbose:
        print_rows(synth_rows)
    if synth_rows:
        print_table(f"Synthetic {args.corpus} corpus, seed {args.seed}", synth_rows)
    if real_rows:
        print(f"\nReal recordings ({real_root}): truth where annotated; ours/essentia")
        print_rows(real_rows)
        print_table("Real recordings", real_rows)
    elif real_root is None and not args.no_real:
        print("\n(real recordings not found beside the repository: skipped)")
    print(f"\nwall time {time.perf_counter() - started:.0f} s on {args.workers} processes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

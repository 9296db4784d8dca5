"""Time a render of the two demo songs (`python -m services.processing.bench`).

Stems come straight from the synthesiser (as if cached), so this measures the renderer
alone: warping, effects, mixing and mastering. Prints one JSON line per engine with the
output length, the wall time and the speed as a multiple of real time.
"""

from __future__ import annotations

import json
import sys
import time

from services.processing.material import SongMaterial, parse_analysis
from services.processing.render import render_plan
from services.processing.settings import RenderSettings
from shared.contracts.orchestrator import Masterplan
from shared.synth import SynthSong, demo_songs


def _material(song: SynthSong, song_id: str) -> SongMaterial:
    truth = song.truth
    analysis = {"bpm": truth.tempo_bpm, "beats": list(truth.beats_sec),
                "downbeats": list(truth.downbeats_sec), "key": truth.key,
                "vocal_intervals": [list(v) for v in truth.vocal_intervals],
                "sections": [{"label": s.label, "start_sec": s.start_sec, "end_sec": s.end_sec}
                             for s in truth.sections]}
    return SongMaterial.build(song_id, stems=dict(song.stems), sample_rate_hz=song.sample_rate_hz,
                              analysis=parse_analysis(analysis, song_id=song_id,
                                                      duration_sec=song.mix.shape[1]
                                                      / song.sample_rate_hz))


def demo_plan(target_bpm: float = 121.0, bars: int = 8) -> Masterplan:
    """Eight 8-bar sections (about 2 minutes at 121 BPM), two or three layers each."""
    layers = [
        [{"songId": "a", "stem": "drums"}, {"songId": "b", "stem": "other"}],
        [{"songId": "a", "stem": "drums"}, {"songId": "a", "stem": "bass"},
         {"songId": "b", "stem": "vocals"}],
        [{"songId": "b", "stem": "instrumental", "effects": ["filter_sweep_up"]},
         {"songId": "a", "stem": "vocals", "effects": ["reverb"]}],
        [{"songId": "a", "stem": "instrumental", "effects": ["sidechain"]},
         {"songId": "b", "stem": "vocals", "effects": ["delay:1/8d"]}],
        [{"songId": "b", "stem": "other"}, {"songId": "a", "stem": "vocals"}],
        [{"songId": "b", "stem": "drums"}, {"songId": "b", "stem": "bass"},
         {"songId": "a", "stem": "vocals"}],
        [{"songId": "a", "stem": "full"}, {"songId": "b", "stem": "vocals", "volume_db": -3}],
        [{"songId": "b", "stem": "instrumental", "effects": ["fade_out"]}],
    ]
    bar_sec = 4 * 60 / target_bpm
    energies = [0.4, 0.6, 0.7, 0.9, 0.5, 0.8, 1.0, 0.3]
    return Masterplan.model_validate({
        "title": "demo", "global": {"targetBPM": target_bpm, "targetKey": "A minor"},
        "timeline": [{"time_start_sec": i * bars * bar_sec, "duration_sec": bars * bar_sec,
                      "energy_level": energies[i], "layers": section}
                     for i, section in enumerate(layers)]})


def main() -> None:
    song_a, song_b = demo_songs()
    materials = {"a": _material(song_a, "a"), "b": _material(song_b, "b")}
    plan = demo_plan()
    for high_quality in (True, False):
        start = time.perf_counter()
        result = render_plan(plan, materials,
                             settings=RenderSettings(stretch_high_quality=high_quality))
        wall = time.perf_counter() - start
        print(json.dumps({"engine": "high_quality" if high_quality else "fast",
                          "output_sec": round(result.duration_sec, 2),
                          "wall_sec": round(wall, 2),
                          "x_realtime": round(result.duration_sec / wall, 2),
                          "lufs": result.lufs, "true_peak_dbtp": result.true_peak_dbtp,
                          "warnings": len(result.warnings)}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Timing of the `/find-mashups` core on random libraries (not used by the service).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m services.scoring.bench 10000 100000

Per size: building the SongTable from rows (validation + features), a top-10 query for
one song, and the top-10 pairs of the whole library. Rows look like analysis output:
tempo 70–180 BPM, a random key, energy, a Dirichlet spectral profile and 0–9 vocal
phrases. Times exclude JSON parsing and pydantic (the HTTP layer).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from services.scoring.features import table_from_rows
from services.scoring.harmonic import key_of_index
from services.scoring.library import rank_pairs, rank_partners
from services.scoring.spectral import BANDS


def random_library(size: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """`size` AnalysisResult-like rows with the fields /find-mashups reads."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(size):
        duration_sec = float(rng.uniform(120, 300))
        phrases = int(rng.integers(0, 10))
        edges = np.sort(rng.uniform(0, duration_sec, 2 * phrases)).reshape(-1, 2)
        rows.append({
            "songId": f"song-{index}",
            "bpm": round(float(rng.uniform(70, 180)), 2),
            "key": key_of_index(int(rng.integers(24))),
            "energy": float(rng.uniform()),
            "duration_sec": duration_sec,
            "spectral_profile": dict(zip(BANDS, rng.dirichlet(np.full(5, 3.0)).tolist(),
                                         strict=True)),
            "vocal_intervals": edges.tolist(),
        })
    return rows


def _timed(label: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    result = func(*args, **kwargs)
    print(f"  {label}: {time.perf_counter() - started:.3f} s", flush=True)
    return result


def main(sizes: list[int]) -> None:
    for size in sizes:
        print(f"library of {size} songs")
        rows = random_library(size)
        table = _timed("build table (validate rows)", table_from_rows, rows)
        _, _, scores = _timed("query top-10", rank_partners, table, 0, top_k=10)
        print(f"    best partner score {scores[0]:.2f}")
        _, _, scores = _timed("whole-library top-10 pairs", rank_pairs, table, top_k=10)
        print(f"    best pair score {scores[0]:.2f}, 10th {scores[-1]:.2f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000, 100_000])

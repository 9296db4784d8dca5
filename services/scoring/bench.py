"""Timing of the `/find-mashups` core on random libraries (not used by the service).

    make bench-scoring                        # 10 000 and 100 000 songs, ~30 s
    python -m services.scoring.bench 10000 100000 1000000

Runs on one core (BLAS/OpenMP threads pinned to 1 before numpy loads). Per size:
building the SongTable from rows (validation + features), top-10 queries for
`QUERIES` random songs (median and worst; the target is ≤ 1 s at 10 000 songs), and the
top-10 pairs of the whole library. Rows look like analysis output: tempo 70–180 BPM, a
random key, energy, a Dirichlet spectral profile and 0–9 vocal phrases. Times exclude
JSON parsing and pydantic (the HTTP layer).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one core, as the target is stated

import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from services.scoring.features import table_from_rows  # noqa: E402
from services.scoring.library import rank_pairs, rank_partners  # noqa: E402
from services.scoring.spectral import BANDS  # noqa: E402
from shared.harmony import key_of_index  # noqa: E402

QUERIES = 20
QUERY_TARGET_SEC = 1.0  # the bound for a top-10 query at 10 000 songs


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
        times = []
        for query in np.random.default_rng(1).choice(size, QUERIES, replace=False).tolist():
            started = time.perf_counter()
            _, _, scores = rank_partners(table, query, top_k=10)
            times.append(time.perf_counter() - started)
        median = float(np.median(times))
        headroom = (f" ({QUERY_TARGET_SEC / max(times):.0f}× under the {QUERY_TARGET_SEC:g} s "
                    "target)") if size <= 10_000 else ""
        print(f"  query top-10 ({QUERIES} queries): median {1000 * median:.1f} ms, worst "
              f"{1000 * max(times):.1f} ms{headroom}", flush=True)
        print(f"    best partner score of the last query {scores[0]:.2f}")
        _, _, scores = _timed("whole-library top-10 pairs", rank_pairs, table, top_k=10)
        print(f"    best pair score {scores[0]:.2f}, 10th {scores[-1]:.2f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000, 100_000])

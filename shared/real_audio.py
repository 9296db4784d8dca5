"""Where the openly licensed real recordings are, for benchmarks only.

`../shared/real-audio/` (beside the checkout) holds recordings with annotations and true
stems. Nothing at run time may depend on it, so this only ever answers "here" or None:
benchmarks score on it when present and say they skipped it otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

MANIFEST = "manifest.json"


def real_audio_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The real-audio folder: `explicit`, else REAL_AUDIO_DIR, else a `shared/real-audio`
    in a folder above this checkout; None when the one chosen has no manifest."""
    chosen = explicit or os.environ.get("REAL_AUDIO_DIR")
    if chosen:
        path = Path(chosen)
        return path if (path / MANIFEST).is_file() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "real-audio"
        if (candidate / MANIFEST).is_file():
            return candidate
    return None

"""Process checks for tests that kill services and their workers (Linux: reads /proc)."""

from __future__ import annotations

from pathlib import Path


def process_running(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"

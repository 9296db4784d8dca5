"""DSP separations in worker processes: the real separator in a spawned child, errors
carried back with their status, a dead worker answered with 503 and replaced."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from services.separation import processes
from services.separation.dsp import STEMS
from shared.audio_io import decode_audio, encode_audio
from shared.errors import MeshError, ServiceUnavailable
from shared.storage import LocalStorage
from shared.synth import SongSpec, synthesize_song
from tests.procs import process_running


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    processes.shutdown()
    yield
    processes.shutdown()


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_a_song_is_separated_and_stored_by_a_worker_process(storage_root: Path) -> None:
    song = synthesize_song(SongSpec("proc", 174.0, "A", "minor", 6.0, seed=3, style="dnb"))
    wav = encode_audio(song.mix, sample_rate_hz=song.sample_rate_hz)
    keys = processes.separate_in_process(wav, prefix="stems/proc/dsp", workers=1)
    assert sorted(keys) == sorted(STEMS)
    storage = LocalStorage(storage_root)  # the child wrote where this process's settings say
    stems = [decode_audio(storage.get_bytes(keys[name])).samples for name in STEMS]
    mix = decode_audio(wav).samples
    assert np.max(np.abs(sum(stems) - mix)) < 1e-3  # FLAC rounding only
    assert processes.run_in_pool(os.getpid, workers=1) != os.getpid()


def test_bad_audio_fails_with_its_own_4xx_from_the_worker(storage_root: Path) -> None:
    with pytest.raises(MeshError) as caught:
        processes.separate_in_process(b"not audio at all" * 100, prefix="stems/bad/dsp",
                                      workers=1)
    assert 400 <= caught.value.status_code < 500 and caught.value.code != "internal_error"
    assert not any(storage_root.rglob("*.flac"))


def test_a_worker_that_dies_gives_503_and_the_next_call_a_fresh_pool() -> None:
    with pytest.raises(ServiceUnavailable, match="try again"):
        processes.run_in_pool(os._exit, 9, workers=1)
    assert processes.run_in_pool(os.getpid, workers=1) != os.getpid()


def test_two_songs_at_once_run_in_two_processes() -> None:
    processes.run_in_pool(os.getpid, workers=2)  # start the pool before timing anything
    with ThreadPoolExecutor(2) as threads:
        pids = list(threads.map(lambda _: processes.run_in_pool(_pid_after, 1.0, workers=2),
                                range(2)))
    assert len(set(pids)) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_service_is_killed() -> None:
    service = subprocess.Popen(
        [sys.executable, "-c",
         "import os, time\n"
         "from services.separation import processes\n"
         "print(processes.run_in_pool(os.getpid, workers=1), flush=True)\n"
         "time.sleep(60)\n"],
        cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, text=True)
    try:
        assert service.stdout is not None
        worker = int(service.stdout.readline())
        assert process_running(worker)
        service.kill()
        service.wait(timeout=10)
        deadline = time.monotonic() + 10
        while process_running(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not process_running(worker)
    finally:
        service.kill()

"""Decoded audio kept in memory between render jobs, keyed by the file's content.

A render decodes every file it plays (a 3-minute stereo stem is ~0.3 CPU-s of FLAC
decoding; a two-song job ~3 CPU-s, a tenth of the job), and the next job on the same
songs decodes them again: the web page's preview and the full render of one job, a
second render of a mashup in another format or with another plan. This cache keeps the
decoded samples of recent files, least recently used first out, within a byte budget
(`PROCESSING_DECODE_CACHE_MB`; 0 turns it off).

Files are keyed by a digest of their bytes, not their storage path: a path that is
written again cannot serve stale audio. The arrays handed out are shared and read-only
(numpy refuses an in-place write), so no job can change another's audio.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from shared.audio_io import DecodedAudio


def content_key(data: bytes) -> str:
    """Digest of a file's bytes (BLAKE2b: ~1 GB/s, a few ms for a stem)."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


class DecodedCache:
    """LRU of decoded files within `max_bytes` of samples (thread-safe)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._entries: OrderedDict[tuple[str, bool], DecodedAudio] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def decode(self, data: bytes, *, reject_silent: bool,
               decoder: Callable[..., DecodedAudio]) -> DecodedAudio:
        """`decoder(data, reject_silent=...)`, or the audio an earlier call decoded from
        the same bytes. Errors are raised as the decoder raises them and never cached."""
        if self.max_bytes == 0:
            return decoder(data, reject_silent=reject_silent)
        # The flag is part of the key: a silent file decoded as a stem (allowed) must
        # still be refused as a song.
        key = (content_key(data), reject_silent)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        # Decoded outside the lock: two jobs decoding different files run in parallel
        # (a file decoded twice at once is only decoded twice).
        decoded = decoder(data, reject_silent=reject_silent)
        samples = decoded.samples
        samples.flags.writeable = False
        size = int(samples.nbytes)
        if size > self.max_bytes:
            return decoded
        with self._lock:
            if key not in self._entries:
                self._entries[key] = decoded
                self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self._bytes -= int(old.samples.nbytes)
        return decoded

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


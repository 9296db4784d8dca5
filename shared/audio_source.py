"""Fetch the bytes of a song given as `audioData` (base64) or `storage_path`."""

from __future__ import annotations

import base64
import binascii

from shared.contracts.common import AudioInput
from shared.errors import BadRequest, PayloadTooLarge
from shared.settings import AudioLimits
from shared.storage import Storage


def song_bytes(
    request: AudioInput, storage: Storage, *, limits: AudioLimits | None = None
) -> bytes:
    """The file bytes of the song in `request`; 400 on bad base64, 404 on a missing key."""
    limits = limits or AudioLimits.from_env()
    if request.audioData:
        # Base64 is 4/3 of the bytes: refuse before decoding a huge string.
        if len(request.audioData) * 3 // 4 > limits.max_bytes:
            raise PayloadTooLarge(f"The audio is larger than {limits.max_bytes / 1e6:.0f} MB.")
        try:
            return base64.b64decode(request.audioData, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("audioData is not valid base64.", code="invalid_base64") from exc
    assert request.storage_path is not None  # the model guarantees one source
    return storage.get_bytes(request.storage_path)

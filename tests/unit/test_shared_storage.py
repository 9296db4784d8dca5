from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import BadRequest, ObjectNotFound
from shared.storage import LocalStorage, content_key, sign_key, verify_signature


@pytest.mark.parametrize("key", ["../etc/passwd", "/etc/passwd", "a/../../b", "http://x/y",
                                 "a//b", "", "a\\b", "uploads/./x", "s3://bucket/k"])
def test_hostile_keys_are_refused(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(BadRequest):
        storage.put_bytes(key, b"x")
    with pytest.raises(BadRequest):
        storage.get_bytes(key)


def test_round_trip_and_content_addressing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = content_key("uploads", b"hello", "wav")
    assert key == content_key("uploads", b"hello", ".wav")
    assert key != content_key("uploads", b"hello!", "wav")
    storage.put_bytes(key, b"hello")
    assert storage.exists(key) and storage.get_bytes(key) == b"hello"
    assert storage.local_path(key) == (tmp_path / key).resolve()
    assert not list(tmp_path.rglob(".tmp-*"))  # the atomic write left nothing behind
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(ObjectNotFound):
        storage.get_bytes(key)


def test_signatures_expire_and_bind_the_key() -> None:
    secret = b"s"
    expires_at, sig = sign_key("mashups/a.wav", expires_in_sec=60, now_sec=1000, secret=secret)
    assert expires_at == 1060
    assert verify_signature("mashups/a.wav", expires_at, sig, now_sec=1059, secret=secret)
    assert not verify_signature("mashups/a.wav", expires_at, sig, now_sec=1061, secret=secret)
    assert not verify_signature("mashups/b.wav", expires_at, sig, now_sec=1000, secret=secret)
    assert not verify_signature("mashups/a.wav", expires_at + 1, sig, now_sec=1000,
                                secret=secret)
    assert not verify_signature("mashups/a.wav", expires_at, sig, now_sec=1000, secret=b"t")

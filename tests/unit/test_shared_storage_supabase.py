"""The Supabase Storage backend through the real `supabase` package, against a loopback
stand-in of the Storage REST endpoints."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.errors import BadRequest, ObjectNotFound, StorageError

pytest.importorskip("supabase")

from shared.storage_supabase import SupabaseStorage
from tests.supabase_standin import running_standin

SERVICE_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def standin_url() -> Iterator[str]:
    with running_standin(SERVICE_KEY) as url:
        yield url


def test_put_get_exists_delete_and_sign(standin_url: str) -> None:
    storage = SupabaseStorage(standin_url, SERVICE_KEY, "mashup-mesh")
    assert storage.put_bytes("uploads/x.wav", b"RIFFdata") == "uploads/x.wav"
    assert storage.exists("uploads/x.wav") and not storage.exists("uploads/y.wav")
    assert storage.get_bytes("uploads/x.wav") == b"RIFFdata"
    storage.put_bytes("uploads/x.wav", b"RIFFnew")  # upsert: same key, new bytes
    assert storage.get_bytes("uploads/x.wav") == b"RIFFnew"
    url = storage.signed_url("uploads/x.wav", expires_in_sec=60)
    assert url.startswith(standin_url) and "token=" in url and "uploads/x.wav" in url
    assert storage.local_path("uploads/x.wav") is None
    storage.delete("uploads/x.wav")
    assert not storage.exists("uploads/x.wav")
    with pytest.raises(ObjectNotFound):
        storage.get_bytes("uploads/x.wav")


@pytest.mark.parametrize("key", ["../x.wav", "/etc/passwd", "http://evil/x", "a/../../b",
                                 "uploads/../../x"])
def test_keys_never_leave_the_bucket(standin_url: str, key: str) -> None:
    storage = SupabaseStorage(standin_url, SERVICE_KEY, "mashup-mesh")
    for op in (lambda: storage.put_bytes(key, b"x"), lambda: storage.get_bytes(key),
               lambda: storage.exists(key), lambda: storage.delete(key)):
        with pytest.raises(BadRequest):
            op()


def test_errors_become_storage_errors(standin_url: str) -> None:
    wrong_key = SupabaseStorage(standin_url, SERVICE_KEY + "x", "mashup-mesh")
    with pytest.raises(StorageError):
        wrong_key.put_bytes("uploads/x.wav", b"x")
    with pytest.raises(StorageError):
        SupabaseStorage(standin_url, SERVICE_KEY, "no-such-bucket").put_bytes("a/b.wav", b"x")
    unreachable = SupabaseStorage("http://127.0.0.1:9", SERVICE_KEY, "mashup-mesh")
    with pytest.raises(StorageError, match="unreachable"):
        unreachable.exists("uploads/x.wav")


def test_get_storage_selects_supabase(standin_url: str, monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    from shared.storage import get_storage

    monkeypatch.setenv("STORAGE_BACKEND", "supabase")
    monkeypatch.setenv("SUPABASE_URL", standin_url)
    monkeypatch.setenv("SUPABASE_SERVICE_KEY", SERVICE_KEY)
    storage = get_storage()
    assert isinstance(storage, SupabaseStorage)
    storage.put_bytes("mashups/m.wav", b"RIFF")
    assert get_storage().exists("mashups/m.wav")

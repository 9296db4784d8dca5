"""Cached results keyed by content hash and analysis version."""

from __future__ import annotations

from pathlib import Path

from services.analysis.cache import cache_key, load_cached, store_cached
from shared.storage import LocalStorage
from tests.unit.analysis_songs import analysis


def test_key_depends_on_bytes_and_version() -> None:
    assert cache_key(b"abc") == cache_key(b"abc")
    assert cache_key(b"abc") != cache_key(b"abd")
    assert cache_key(b"abc", version="1") != cache_key(b"abc", version="2")
    assert cache_key(b"abc").startswith("analysis/") and cache_key(b"abc").endswith(".json")


def test_round_trip_renames_the_song(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = cache_key(b"song bytes")
    assert load_cached(storage, key, song_id="a") is None
    store_cached(storage, key, analysis("house"))
    loaded = load_cached(storage, key, song_id="renamed")
    assert loaded is not None and loaded.songId == "renamed"
    assert loaded.model_copy(update={"songId": "house"}) == analysis("house")


def test_unreadable_cache_entry_is_ignored(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = cache_key(b"x")
    storage.put_bytes(key, b"{not json")
    assert load_cached(storage, key, song_id="a") is None

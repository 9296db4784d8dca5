"""Supabase Storage as the object store (`STORAGE_BACKEND=supabase`), through the
`supabase` package: `SUPABASE_URL`, `SUPABASE_SERVICE_KEY` (a service-role key: the
services write on the user's behalf), `SUPABASE_BUCKET` (default `mashup-mesh`).

Keys pass the same check as the local backend (no `..`, no absolute paths, no URLs), so
an object can never land outside its bucket, and nothing here fetches a URL a user gave.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import httpx

from shared.errors import ObjectNotFound, StorageError
from shared.settings import env_str


def _safe(key: str) -> str:
    from shared.storage import safe_key  # shared.storage imports this module lazily

    return safe_key(key)


class SupabaseStorage:
    def __init__(self, url: str, service_key: str, bucket: str) -> None:
        from supabase import create_client  # optional dependency: the `supabase` extra

        self.bucket_name = bucket
        self._bucket = create_client(url, service_key).storage.from_(bucket)

    @classmethod
    def from_env(cls) -> SupabaseStorage:
        url = env_str("SUPABASE_URL", "")
        service_key = env_str("SUPABASE_SERVICE_KEY", "")
        if not url or not service_key:
            raise RuntimeError("STORAGE_BACKEND=supabase needs SUPABASE_URL and "
                               "SUPABASE_SERVICE_KEY")
        return cls(url, service_key, env_str("SUPABASE_BUCKET", "mashup-mesh"))

    def _call(self, key: str, action: str, func: Any, *args: Any) -> Any:
        from storage3.exceptions import StorageApiError

        try:
            return func(*args)
        except StorageApiError as exc:
            if str(exc.status) == "404":
                raise ObjectNotFound(f"No stored object at {key!r}; upload it first.") from exc
            raise StorageError(f"Supabase Storage could not {action} {key!r}: "
                               f"{exc.message}") from exc
        except httpx.HTTPError as exc:
            raise StorageError(f"Supabase Storage is unreachable ({action} {key!r}: "
                               f"{type(exc).__name__}).") from exc

    def put_bytes(self, key: str, data: bytes) -> str:
        key = _safe(key)
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        self._call(key, "store", self._bucket.upload, key, data,
                   {"upsert": "true", "content-type": content_type})
        return key

    def get_bytes(self, key: str) -> bytes:
        key = _safe(key)
        return self._call(key, "read", self._bucket.download, key)

    def exists(self, key: str) -> bool:
        key = _safe(key)
        return bool(self._call(key, "check", self._bucket.exists, key))

    def delete(self, key: str) -> None:
        key = _safe(key)
        self._call(key, "delete", self._bucket.remove, [key])

    def local_path(self, key: str) -> Path | None:
        return None

    def signed_url(self, key: str, *, expires_in_sec: int) -> str:
        """A Supabase-signed download URL (for handing to a browser directly)."""
        key = _safe(key)
        answer = self._call(key, "sign", self._bucket.create_signed_url, key, expires_in_sec)
        return str(answer["signedURL"])

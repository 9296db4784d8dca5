"""Object storage behind one small interface.

Keys are relative paths (`uploads/<sha256>.wav`), validated by
`shared.contracts.common.check_storage_key`: never `..`, never absolute, never a URL. The
local backend (the default) keeps each object as a plain file at its key under
`STORAGE_ROOT`; writes go through a temporary file and an atomic rename, so a process that
dies mid-write never leaves a half object behind.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Protocol

from shared.contracts.common import check_storage_key
from shared.errors import BadRequest, ObjectNotFound
from shared.settings import env_str


def safe_key(key: str) -> str:
    try:
        return check_storage_key(key)
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_storage_path") from exc


def content_key(prefix: str, data: bytes, ext: str) -> str:
    """Content-addressed key: the same bytes always land at the same key."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{prefix.strip('/')}/{digest}.{ext.lstrip('.')}"


class Storage(Protocol):
    def put_bytes(self, key: str, data: bytes) -> str: ...
    def get_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def local_path(self, key: str) -> Path | None: ...


class LocalStorage:
    """Files under a root folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / safe_key(key)).resolve()
        # Belt and braces: the key check forbids escaping, and so does this.
        if self.root not in path.parents:
            raise BadRequest("storage_path escapes the storage root", code="invalid_storage_path")
        return path

    def put_bytes(self, key: str, data: bytes) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"No stored object at {key!r}; upload it first.") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


_STORAGES: dict[str, Storage] = {}


def get_storage() -> Storage:
    """The configured storage (`STORAGE_BACKEND`, default `local` at `STORAGE_ROOT`)."""
    backend = env_str("STORAGE_BACKEND", "local")
    root = env_str("STORAGE_ROOT", "data/storage")
    cache_key = f"{backend}:{root}"
    if backend == "supabase":
        cache_key = f"supabase:{env_str('SUPABASE_URL', '')}:{env_str('SUPABASE_BUCKET', '')}"
    if cache_key not in _STORAGES:
        if backend == "supabase":
            from shared.storage_supabase import SupabaseStorage

            _STORAGES[cache_key] = SupabaseStorage.from_env()
        elif backend != "local":
            raise RuntimeError(f"unknown STORAGE_BACKEND {backend!r}; "
                               "supported: local, supabase")
        else:
            _STORAGES[cache_key] = LocalStorage(root)
    return _STORAGES[cache_key]


# --- signed download URLs ---------------------------------------------------------------

def signing_secret() -> bytes:
    """`SIGNING_SECRET`, else a random secret kept beside the storage root so URLs stay
    valid across restarts of the gateway."""
    configured = os.environ.get("SIGNING_SECRET")
    if configured:
        return configured.encode()
    root = Path(env_str("STORAGE_ROOT", "data/storage")).resolve()
    secret_file = root.parent / ".signing_secret"
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return secret_file.read_text().strip().encode()


def _signature(key: str, expires_at: int, secret: bytes) -> str:
    return hmac.new(secret, f"{key}\n{expires_at}".encode(), hashlib.sha256).hexdigest()


def sign_key(key: str, *, expires_in_sec: int = 3600, now_sec: float | None = None,
             secret: bytes | None = None) -> tuple[int, str]:
    """Return (expires_at unix seconds, hex signature) for a download of `key`."""
    expires_at = int((now_sec if now_sec is not None else time.time()) + expires_in_sec)
    return expires_at, _signature(safe_key(key), expires_at, secret or signing_secret())


def verify_signature(key: str, expires_at: int, signature: str, *, now_sec: float | None = None,
                     secret: bytes | None = None) -> bool:
    """True when `signature` signs `key` and has not expired."""
    if (now_sec if now_sec is not None else time.time()) > expires_at:
        return False
    expected = _signature(key, expires_at, secret or signing_secret())
    return hmac.compare_digest(expected, signature)

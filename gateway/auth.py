"""Who is calling, when auth is configured: API keys (`GATEWAY_API_KEYS`, `name:key`
pairs separated by commas) and/or Supabase JWTs (HS256 signed with the project's JWT
secret, `SUPABASE_JWT_SECRET`). With neither set the gateway is open (local use) and
every job belongs to nobody. A user only ever sees their own jobs: another user's job
answers 404, exactly like a missing one, so job ids cannot be probed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from gateway.jobs import Job
from shared.errors import MeshError, NotFound


class Unauthorized(MeshError):
    status_code = 401
    code = "unauthorized"


@dataclass(frozen=True)
class AuthConfig:
    api_keys: dict[str, str]  # key -> user name
    jwt_secret: bytes | None
    jwt_audience: str | None

    @property
    def enabled(self) -> bool:
        return bool(self.api_keys) or self.jwt_secret is not None

    @classmethod
    def from_env(cls) -> AuthConfig:
        keys: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in os.environ.get("GATEWAY_API_KEYS",
                                                                     "").split(","))):
            name, sep, key = pair.partition(":")
            if not sep or not name or len(key) < 16:
                raise ValueError("GATEWAY_API_KEYS holds name:key pairs with keys of at "
                                 "least 16 characters")
            keys[key] = name
        secret = os.environ.get("SUPABASE_JWT_SECRET") or None
        return cls(api_keys=keys, jwt_secret=secret.encode() if secret else None,
                   jwt_audience=os.environ.get("SUPABASE_JWT_AUDIENCE", "authenticated") or None)


def _b64url(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized("The bearer token is not a valid JWT.") from exc


def verify_hs256(token: str, secret: bytes, *, audience: str | None = None,
                 now_sec: float | None = None) -> dict[str, Any]:
    """The claims of an HS256 JWT signed with `secret`; Unauthorized when it is forged,
    expired, not yet valid, for another audience, or has no subject."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("The bearer token is not a valid JWT.")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unauthorized("The bearer token is not a valid JWT.") from exc
    # Only HS256: never let the token choose its own algorithm ("none", RS/HS confusion).
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise Unauthorized("Only HS256 tokens are accepted.")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64url(parts[2])):
        raise Unauthorized("The bearer token's signature is invalid.")
    if not isinstance(claims, dict):
        raise Unauthorized("The bearer token's claims are not an object.")
    now = time.time() if now_sec is None else now_sec
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or now >= exp:
        raise Unauthorized("The bearer token has expired; sign in again.")
    if isinstance(nbf, int | float) and now < nbf:
        raise Unauthorized("The bearer token is not valid yet.")
    if audience is not None:
        aud = claims.get("aud")
        if aud != audience and not (isinstance(aud, list) and audience in aud):
            raise Unauthorized("The bearer token is for another audience.")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise Unauthorized("The bearer token names no user (sub).")
    return claims


def current_user(conn: HTTPConnection) -> str | None:
    """The caller's user id, None when auth is off; Unauthorized when it is on and the
    caller sent no valid credentials (`Authorization: Bearer`, or `X-API-Key`)."""
    config: AuthConfig = conn.app.state.auth
    if not config.enabled:
        return None
    token = conn.headers.get("x-api-key", "")
    scheme, _, bearer = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer:
        token = bearer.strip()
    if not token:
        # Browsers cannot set headers on EventSource/WebSocket: allow ?access_token= there.
        token = conn.query_params.get("access_token", "")
    if not token:
        raise Unauthorized("Send an API key or a Supabase access token as "
                           "'Authorization: Bearer ...'.")
    for key, name in config.api_keys.items():
        if hmac.compare_digest(key.encode(), token.encode()):
            return f"key:{name}"
    if config.jwt_secret is not None and token.count(".") == 2:
        claims = verify_hs256(token, config.jwt_secret, audience=config.jwt_audience)
        return f"user:{claims['sub']}"
    raise Unauthorized("The API key or access token is not valid.")


def upload_prefix(user: str | None) -> str:
    """Where a user's uploads go: their own folder when auth is on, so one user can never
    name (or learn of) another's song, even one with the same content."""
    if user is None:
        return "uploads"
    return f"uploads/u-{hashlib.sha256(user.encode()).hexdigest()[:20]}"


def owns_upload(user: str | None, storage_path: str) -> bool:
    return user is None or storage_path.startswith(upload_prefix(user) + "/")


async def visible_job(conn: HTTPConnection, job_id: str) -> Job:
    """The job if it exists and the caller may see it; else 404."""
    user = current_user(conn)
    job = await conn.app.state.store.get(job_id)
    if job is None or (user is not None and job.user_id != user):
        raise NotFound(f"No job {job_id!r}; check the jobId from generate-mashup.",
                       code="job_not_found")
    return job

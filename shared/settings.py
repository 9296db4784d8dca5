"""Settings read from environment variables (documented in README.md).

Read at call time, not import time, so a test or the `mashup up` launcher can set the
environment of each process it starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

SERVICE_PORTS: dict[str, int] = {
    "analysis": 8000,
    "processing": 8001,
    "scoring": 8002,
    "orchestrator": 8003,
    "separation": 8004,
    "gateway": 8080,
}

# Per-service client timeouts (seconds): separation and rendering take minutes.
SERVICE_TIMEOUTS_SEC: dict[str, float] = {
    "analysis": 300.0,
    "processing": 900.0,
    "scoring": 60.0,
    "orchestrator": 180.0,
    "separation": 900.0,
    "gateway": 60.0,
}


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if not value else int(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if not value else float(value)


def service_port(service: str) -> int:
    """Port a service listens on: `<SERVICE>_PORT`, else the contract's default."""
    return env_int(f"{service.upper()}_PORT", SERVICE_PORTS[service])


def service_url(service: str) -> str:
    """Base URL other processes use to reach a service: `<SERVICE>_URL`."""
    host = env_str("MESH_HOST", "127.0.0.1")
    return env_str(f"{service.upper()}_URL", f"http://{host}:{service_port(service)}").rstrip("/")


def service_timeout_sec(service: str) -> float:
    return env_float(f"{service.upper()}_TIMEOUT_SEC", SERVICE_TIMEOUTS_SEC[service])


@dataclass(frozen=True)
class AudioLimits:
    """Caps applied to every incoming song."""

    max_bytes: int
    max_duration_sec: float
    min_duration_sec: float

    @classmethod
    def from_env(cls) -> AudioLimits:
        return cls(
            max_bytes=env_int("MAX_UPLOAD_BYTES", 200 * 1024 * 1024),
            max_duration_sec=env_float("MAX_DURATION_SEC", 20 * 60.0),
            min_duration_sec=env_float("MIN_DURATION_SEC", 5.0),
        )

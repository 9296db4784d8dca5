"""Structured (JSON-lines) logs that carry the job id, with secrets redacted.

The job id travels between services in the `X-Job-Id` header; `shared.http` puts it into
a context variable for the duration of each request, and `shared.client` forwards it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

JOB_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)
JOB_HEADER = "X-Job-Id"

# Anthropic keys (and anything shaped like a bearer secret) never reach a log line.
_SECRET_RE = re.compile(r"(sk-ant-[A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]+|(Bearer\s+)[A-Za-z0-9._\-]+")


def redact(text: str) -> str:
    """Replace secrets in `text` by a short, non-reversible marker."""
    return _SECRET_RE.sub(lambda m: (m.group(1) or m.group(2)) + "[REDACTED]", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        job_id = getattr(record, "job_id", None) or JOB_ID.get()
        if job_id:
            entry["job_id"] = job_id
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines for every logger to stderr; idempotent."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Access logs would duplicate our metrics and may carry query strings (signatures).
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)


@contextmanager
def job_context(job_id: str | None) -> Iterator[None]:
    token = JOB_ID.set(job_id)
    try:
        yield
    finally:
        JOB_ID.reset(token)

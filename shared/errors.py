"""One base exception for the project, small subclasses carrying an HTTP status and a
machine-readable code. Services raise these; `shared.http` maps them to the contract's
error body in one handler."""

from __future__ import annotations

from typing import Any


class MeshError(Exception):
    """Base of every error the mesh reports to a caller."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.data}}


class BadRequest(MeshError):
    status_code = 400
    code = "bad_request"


class NotFound(MeshError):
    status_code = 404
    code = "not_found"


class Conflict(MeshError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(MeshError):
    status_code = 413
    code = "too_large"


class UnsupportedMediaType(MeshError):
    status_code = 415
    code = "unsupported_media_type"


class Unprocessable(MeshError):
    status_code = 422
    code = "unprocessable"


class TooManyRequests(MeshError):
    status_code = 429
    code = "too_many_requests"


class UpstreamError(MeshError):
    """A service this one depends on failed or could not be reached."""

    status_code = 502
    code = "upstream_error"


class ServiceUnavailable(MeshError):
    status_code = 503
    code = "unavailable"


class StorageError(MeshError):
    status_code = 500
    code = "storage_error"


class ObjectNotFound(NotFound):
    code = "object_not_found"

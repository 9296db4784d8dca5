"""A loopback stand-in for the Supabase Storage REST endpoints the `supabase` package
calls (upload, download, info, remove, sign), keeping objects in a dict. It checks the
service key on every request and refuses keys that would leave the bucket."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.mesh import free_port


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"statusCode": str(status), "error": code, "message": message}, status)


def standin_app(service_key: str, buckets: tuple[str, ...] = ("mashup-mesh",)) -> Starlette:
    objects: dict[tuple[str, str], bytes] = {}

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {service_key}"

    def target(request: Request) -> tuple[str, str] | JSONResponse:
        bucket, path = request.path_params["bucket"], request.path_params.get("path", "")
        if bucket not in buckets:
            return _error(400, "Bucket not found", "Bucket not found")
        if ".." in path.split("/") or path.startswith("/"):
            return _error(400, "InvalidKey", f"Invalid key: {path}")
        return bucket, path

    async def upload(request: Request) -> Response:
        if not authorised(request):
            return _error(403, "Unauthorized", "invalid signature")
        where = target(request)
        if isinstance(where, JSONResponse):
            return where
        if where in objects and request.headers.get("x-upsert") != "true":
            return _error(409, "Duplicate", "The resource already exists")
        form = await request.form()
        objects[where] = await form["file"].read()  # type: ignore[union-attr]
        return JSONResponse({"Key": "/".join(where), "Id": str(len(objects))})

    async def download(request: Request) -> Response:
        if not authorised(request):
            return _error(403, "Unauthorized", "invalid signature")
        where = target(request)
        if isinstance(where, JSONResponse):
            return where
        if where not in objects:
            return _error(404, "not_found", "Object not found")
        return Response(objects[where], media_type="application/octet-stream")

    async def info(request: Request) -> Response:
        where = target(request)
        if isinstance(where, JSONResponse):
            return where
        if not authorised(request):
            return _error(403, "Unauthorized", "invalid signature")
        if where not in objects:
            return _error(404, "not_found", "Object not found")
        return JSONResponse({"name": where[1], "size": len(objects[where])})

    async def remove(request: Request) -> Response:
        if not authorised(request):
            return _error(403, "Unauthorized", "invalid signature")
        bucket = request.path_params["bucket"]
        removed = []
        for path in (await request.json())["prefixes"]:
            if objects.pop((bucket, path), None) is not None:
                removed.append({"name": path})
        return JSONResponse(removed)

    async def sign(request: Request) -> Response:
        if not authorised(request):
            return _error(403, "Unauthorized", "invalid signature")
        where = target(request)
        if isinstance(where, JSONResponse):
            return where
        expires = int((await request.json())["expiresIn"])
        token = f"tok-{int(time.time()) + expires}"
        return JSONResponse({"signedURL": f"/object/sign/{where[0]}/{where[1]}?token={token}"})

    prefix = "/storage/v1/object"
    return Starlette(routes=[
        Route(prefix + "/info/{bucket}/{path:path}", info, methods=["GET"]),
        Route(prefix + "/sign/{bucket}/{path:path}", sign, methods=["POST"]),
        Route(prefix + "/{bucket}/{path:path}", upload, methods=["POST"]),
        Route(prefix + "/{bucket}/{path:path}", download, methods=["GET"]),
        Route(prefix + "/{bucket}", remove, methods=["DELETE"]),
    ])


@contextmanager
def running_standin(service_key: str) -> Iterator[str]:
    """Serve the stand-in on a loopback port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(standin_app(service_key), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the Supabase stand-in did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""The web app the gateway serves at `/`: the page, its static files, and the few routes
only the page needs (format exports, stems, cue sheet, preview). `gateway.app` mounts
`routes`; nothing here is fetched from outside at run time."""

from __future__ import annotations

from starlette.routing import BaseRoute

from gateway.web.exports import routes as export_routes
from gateway.web.pages import routes as page_routes
from gateway.web.preview import routes as preview_routes

routes: list[BaseRoute] = [*page_routes, *export_routes, *preview_routes]

__all__ = ["routes"]

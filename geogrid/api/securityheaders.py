"""An ASGI middleware that puts the browser's security headers on every response.

- ``X-Content-Type-Options: nosniff``: a photo or a CSV is never run as a script;
- ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'``: no page may frame the map
  (clickjacking a cadre into 查看完整信息);
- ``Referrer-Policy: no-referrer``: no request tells another host the map's address
  (the tile layers of web_map/js/basemaps.js send their hosts the map's origin alone,
  ``referrerpolicy="strict-origin"``, as OpenStreetMap's tile policy asks and Tianditu
  checks a browser key's domain);
- ``Content-Security-Policy`` (:func:`content_security_policy`): scripts from the server
  only (the vendored Leaflet and the map's modules; no inline script, no ``eval``),
  images from the server, ``data:`` (the stylesheet's icons), ``blob:`` (issue photos,
  fetched with the token) and the tile hosts of the basemaps the web map offers;
  requests to the server only.  FastAPI's ``/docs`` and ``/redoc`` pages load Swagger UI
  and ReDoc from their CDN with an inline script, and get a policy that allows that;
- ``Cache-Control: no-store`` on the API's answers (``/api/``, ``/open311/``), which hold
  residents' data: no browser or proxy keeps a copy.  A route that set its own
  ``Cache-Control`` keeps it.

Headers a response already has are left as they are.  A pure ASGI middleware (no
``BaseHTTPMiddleware``): it adds a few byte strings to the response's start.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["SecurityHeaders", "content_security_policy", "tile_hosts", "DOCS_POLICY"]

#: the basemaps the web map offers in its menu (web_map/js/basemaps.js), Tianditu only
#: with its key
_OFFERED = ("osm", "tianditu", "amap")

#: FastAPI's documentation pages: Swagger UI and ReDoc from jsDelivr, with an inline
#: script that starts them (and ReDoc's fonts and workers)
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
               "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; "
               "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
               "frame-ancestors 'none'")
_DOCS_PATHS = ("/docs", "/redoc")


def tile_hosts(*, tianditu_key: str | None = None) -> list[str]:
    """The ``https://host`` origins of the tiles of every basemap the web map offers
    (:mod:`geogrid.basemaps`, each ``{s}`` written out for its subdomains), in order.

    >>> tile_hosts()
    ['https://tile.openstreetmap.org', 'https://webrd01.is.autonavi.com', 'https://webrd02.is.autonavi.com', 'https://webrd03.is.autonavi.com', 'https://webrd04.is.autonavi.com']
    >>> len(tile_hosts(tianditu_key="k"))  # t0 ... t7.tianditu.gov.cn too
    13
    """
    from geogrid.basemaps import basemap

    hosts: list[str] = []
    for name in _OFFERED:
        if name == "tianditu" and not tianditu_key:
            continue  # not offered without its key
        for layer in basemap(name, tianditu_key=tianditu_key).layers:
            parts = urlsplit(layer.url)
            netlocs = ([parts.netloc.replace("{s}", s) for s in layer.subdomains]
                       if "{s}" in parts.netloc else [parts.netloc])
            for netloc in netlocs:
                origin = f"{parts.scheme}://{netloc}"
                if origin not in hosts:
                    hosts.append(origin)
    return hosts


def content_security_policy(settings) -> str:
    """The web map's Content-Security-Policy under ``settings`` (``GEOGRID_TIANDITU_KEY``
    adds Tianditu's tile hosts, as the map offers Tianditu only with its key).

    Every basemap the map's menu offers is allowed, not only ``GEOGRID_BASEMAP``'s
    (which is the one it opens with): a user may choose another.  Styles may be inline
    (``'unsafe-inline'``): the map's panels colour dots and bars with ``style``
    attributes; scripts may not.
    """
    images = " ".join(["'self'", "data:", "blob:", *tile_hosts(tianditu_key=settings.tianditu_key or None)])
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; connect-src 'self'; font-src 'self'; worker-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def _route_path(scope) -> str:
    """The request's path after the root path a proxy publishes geogrid under
    (``/geogrid/api/v1/config`` under ``/geogrid``: ``/api/v1/config``), as Starlette
    routes it: the headers of an API answer or of ``/docs`` are theirs under it too."""
    path, root = scope.get("path", ""), scope.get("root_path", "").rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root):]
    return path


class SecurityHeaders:
    """Add the headers of the module docstring to every HTTP response of ``app``."""

    def __init__(self, app, *, policy: str, docs_policy: str = DOCS_POLICY):
        self.app = app
        common = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                  (b"referrer-policy", b"no-referrer")]
        self._page = [*common, (b"content-security-policy", policy.encode("ascii"))]
        self._docs = [*common, (b"content-security-policy", docs_policy.encode("ascii"))]
        self._api = [*self._page, (b"cache-control", b"no-store")]

    def _headers(self, path: str) -> list[tuple[bytes, bytes]]:
        if path.startswith(("/api/", "/open311/")):
            return self._api
        if path.startswith(_DOCS_PATHS):
            return self._docs
        return self._page

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = self._headers(_route_path(scope))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                have = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""geogrid under a path of a shared host (``https://xxx.gov.cn/geogrid/``) behind a proxy.

A county often publishes its internal systems under paths of one host name.  Its reverse
proxy then either strips the path before passing the request on (nginx ``location
/geogrid/ { proxy_pass http://127.0.0.1:8000/; }``: geogrid is asked for ``/api/v1/...``)
or passes it unchanged (``proxy_pass http://127.0.0.1:8000;``: ``/geogrid/api/v1/...``).
:class:`RootPath`, set up by ``geogrid serve --root-path /geogrid``
(``GEOGRID_API_ROOT_PATH``), takes both: every request reaches the app as an ASGI server
started with that root path hands it over (``root_path`` ``/geogrid``, ``path`` beginning
with it), and Starlette routes it on what follows.  uvicorn's own ``--root-path`` cannot:
it puts the root path before every path it receives, so a proxy that passes the path
unchanged made ``/geogrid/geogrid/api/v1/...``, which nothing answers.

The URLs the API writes into its answers (photos, ``Location``) carry the root path
through :func:`prefixed`; the paging links and Open311's take it from the request's URL;
the web map asks for everything relative to its page.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from geogrid.errors import InputError

__all__ = ["RootPath", "clean_root_path", "root_path", "prefixed"]

#: first segments of the paths geogrid answers at its own root: a root path beginning
#: with one of them could not tell a request the proxy stripped from one it did not
_OWN = frozenset({"api", "open311", "docs", "redoc", "openapi.json", "healthz", "js", "css",
                  "vendor", "strings", "static", "index.html", "i18n.js"})


def clean_root_path(value: str | None) -> str:
    """``value`` as a root path: ``""`` for none, else ``/a/b`` (one slash first, none last).

    Raises
    ------
    geogrid.errors.InputError
        For a URL rather than a path, a path with a query, dots or spaces, or one whose first
        segment is one of geogrid's own (``/api``, ``/docs``...).
    """
    text = (value or "").strip()
    if text in ("", "/"):
        return ""
    if "://" in text or any(c in text for c in "?#% \\"):
        raise InputError(f"the root path {value!r} is not a path: give the path the proxy publishes "
                         "geogrid under, such as /geogrid (not a URL, without ? # % or spaces)",
                         key="config.root_path_invalid", params={"value": text})
    parts = [p for p in text.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise InputError(f"the root path {value!r} holds . or ..: give it as the proxy publishes it, "
                         "such as /geogrid", key="config.root_path_invalid", params={"value": text})
    if parts[0] in _OWN:
        raise InputError(f"the root path {value!r} begins with /{parts[0]}, a path geogrid answers "
                         "itself, so a request could not be told apart: choose another, such as "
                         "/geogrid", key="config.root_path_own", params={"value": text, "segment": parts[0]})
    return "/" + "/".join(parts)


def root_path(conn: HTTPConnection) -> str:
    """The path the client reached geogrid under: ``""`` at a host's root, ``/geogrid`` ..."""
    scope = conn.scope
    return scope.get("app_root_path", scope.get("root_path", "")).rstrip("/")


def prefixed(conn: HTTPConnection, path: str) -> str:
    """``path`` (``/api/v1/...``) as the client asks for it: under the root path."""
    return root_path(conn) + path


class RootPath:
    """ASGI middleware: serve ``app`` under ``root_path`` whether the proxy strips it or not.

    A request whose path begins with the root path (the proxy passed it unchanged) keeps
    it; any other (the proxy stripped it, or a client on the server itself) has it put
    before its path, as an ASGI server started with a root path does.  Either way the
    scope's ``root_path`` is the root path, so Starlette routes on what follows it and
    the URLs the app makes carry it.  The root path itself, without the slash after it,
    is redirected to it with the slash, so that the web map's relative URLs resolve under
    it.  Without a root path the app is called as it is.
    """

    def __init__(self, app: ASGIApp, root_path: str = "") -> None:
        self.app = app
        self.root_path = clean_root_path(root_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = self.root_path
        if not root or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == root and scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            location = root + "/" + (f"?{query}" if query else "")
            await RedirectResponse(location, status_code=307)(scope, receive, send)
            return
        scope = dict(scope, root_path=root)
        if not path.startswith(root + "/"):
            scope["path"] = root + path
            raw = scope.get("raw_path")
            if raw is not None:
                scope["raw_path"] = quote(root).encode("ascii") + raw
        await self.app(scope, receive, send)

"""A FastAPI app that does no work, served like ``geogrid serve``: the API's floor.

    .venv/bin/python benchmarks/noop_app.py --port 8001 [--workers N]

``benchmarks/api_load.py`` drives it with the same clients as the real routes, so its
report shows what the prescribed stack (uvicorn with its default HTTP parser and event
loop, FastAPI routing, N worker processes sharing one listening socket) delivers per
request with nothing to compute.  It is started exactly as ``geogrid serve`` starts the
API: the same :func:`geogrid.cli.serve.listening_socket`, the same uvicorn config, the
same worker count.

Routes:

``GET /noop``
    ``{"ok": true}``, from an ``async def`` route (no thread-pool hop).
``GET /noop/bytes?size=N``
    ``N`` bytes of an already serialised JSON array (built once per size), so the cost
    of shipping a bbox-sized answer with no work behind it can be measured too.
"""

from __future__ import annotations

import argparse
import functools
import sys

from fastapi import FastAPI, Query, Response

__all__ = ["create_noop_app"]


@functools.lru_cache(maxsize=8)
def _body(size: int) -> bytes:
    item = b'{"type":"Feature","id":"0123456789abcdef0123456789abcdef"},'
    n = max(0, (size - 2) // len(item))
    return b"[" + (item * n).rstrip(b",") + b"]"


def create_noop_app() -> FastAPI:
    app = FastAPI(title="no-op floor")

    @app.get("/noop")
    async def noop() -> dict:
        return {"ok": True}

    @app.get("/noop/bytes")
    async def noop_bytes(size: int = Query(1000, ge=2, le=10_000_000)) -> Response:
        return Response(_body(size), media_type="application/json")

    return app


def main(argv=None) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from geogrid.cli.serve import default_workers, listening_socket

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=None, help="default: as geogrid serve")
    p.add_argument("--log-level", default="warning")
    args = p.parse_args(argv)
    workers = args.workers or default_workers()
    if workers == 1:
        config = uvicorn.Config(create_noop_app(), host=args.host, port=args.port,
                                log_level=args.log_level, proxy_headers=False)
        uvicorn.Server(config).run()  # as geogrid serve --workers 1
        return 0
    config = uvicorn.Config("noop_app:create_noop_app", factory=True, host=args.host,
                            port=args.port, workers=workers, log_level=args.log_level,
                            proxy_headers=False)
    Multiprocess(config, sockets=[listening_socket(args.host, args.port)]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``geogrid serve``: run the HTTP API (and the web map at /) with uvicorn.

    geogrid serve [--host 127.0.0.1] [--port 8000]

Refuses to start with the default GEOGRID_SECRET_KEY unless GEOGRID_DEMO=1.
"""

from __future__ import annotations

import typer

from geogrid.cli import app


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Worker processes (log-in throttling is per worker)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the API at http://HOST:PORT/api/v1 and the web map at /."""
    import uvicorn

    from geogrid.api import create_app
    from geogrid.api.masking import install_log_masking
    from geogrid.settings import get_settings

    settings = get_settings()
    api = create_app(settings)  # checks the secret before anything listens
    typer.echo(f"geogrid: serving http://{host}:{port}/ (API docs at /docs)"
               + ("  [demo mode]" if settings.demo else ""), err=True)
    config = uvicorn.Config(api if workers == 1 else "geogrid.api.app:_factory", host=host, port=port,
                            workers=workers, factory=workers > 1, log_level=log_level,
                            proxy_headers=False)
    server = uvicorn.Server(config)
    config.load()  # sets up uvicorn's logging handlers; mask before the first request
    install_log_masking()
    server.run()

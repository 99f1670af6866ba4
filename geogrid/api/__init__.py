"""The HTTP API: ``create_app(settings)`` builds the FastAPI application.

Modules: :mod:`~geogrid.api.app` (factory), :mod:`~geogrid.api.errors` (the one
error-to-status table), :mod:`~geogrid.api.security` (passwords, tokens, log-in
throttle), :mod:`~geogrid.api.scope` (roles and grid-tree scopes),
:mod:`~geogrid.api.scopecache` (resolved scopes reused across requests),
:mod:`~geogrid.api.masking` (personal fields and log lines), :mod:`~geogrid.api.etag`,
:mod:`~geogrid.api.paging`, :mod:`~geogrid.api.geojson`, and one router per resource
in :mod:`geogrid.api.routes`.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(settings=None, **kwargs):
    """Build the FastAPI application; see :func:`geogrid.api.app.create_app`."""
    from geogrid.api.app import create_app as _create_app

    return _create_app(settings, **kwargs)

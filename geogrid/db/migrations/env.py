"""Alembic environment of geogrid.

Called by :mod:`geogrid.db.migrate` (``geogrid db upgrade``), which passes a connection
in ``config.attributes["connection"]``; or by ``alembic -c geogrid/db/alembic.ini``, in
which case the URL comes from ``-x url=...`` or ``GEOGRID_DATABASE_URL``.
"""

from __future__ import annotations

import geoalchemy2.alembic_helpers as gis_helpers  # registers the geospatial operations
from alembic import context

from geogrid.db.models import Base

config = context.config
target_metadata = Base.metadata


def _include_object(obj, name, obj_type, reflected, compare_to):
    # SpatiaLite's own tables (geometry_columns, spatial_ref_sys, idx_* R-trees...)
    if obj_type == "table" and reflected and compare_to is None:
        return name in target_metadata.tables
    return gis_helpers.include_object(obj, name, obj_type, reflected, compare_to)


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        process_revision_directives=gis_helpers.writer,
        render_item=gis_helpers.render_item,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from geogrid.db.engine import make_engine
    from geogrid.settings import get_settings

    overrides = {}
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        overrides["database_url"] = url
    engine = make_engine(get_settings(**overrides))
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():  # pragma: no cover
    raise SystemExit("geogrid's migrations need a live database (no --sql mode)")
run_migrations_online()

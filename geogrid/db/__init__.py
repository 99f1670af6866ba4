"""Storage: SQLAlchemy 2 + GeoAlchemy2 models, repositories and Alembic migrations.

- :mod:`geogrid.db.engine`: ``make_engine(settings)``, ``session_scope(engine)``.
- :mod:`geogrid.db.models`: the tables.
- :mod:`geogrid.db.migrate`: ``upgrade(settings)``, ``downgrade(settings, rev)``.
- repositories by concept: :mod:`~geogrid.db.areas`, :mod:`~geogrid.db.households`,
  :mod:`~geogrid.db.persons`, :mod:`~geogrid.db.plans`, :mod:`~geogrid.db.audit`,
  :mod:`~geogrid.db.users`.  They take a Session and never commit.
"""

"""Issues on the map: the closed loop from report to feedback (pure domain).

- :mod:`~geogrid.issues.workflow`: states, levels, roles and transitions.
- :mod:`~geogrid.issues.catalogue`: categories (deadline, default level) and departments.
- :mod:`~geogrid.issues.deadlines`: due dates, overdue, supervision (督办), clocks.
- :mod:`~geogrid.issues.routing`: point -> cell / micro-grid / village, boundary flag.
- :mod:`~geogrid.issues.duplicates`: same category within a radius and time window.
- :mod:`~geogrid.issues.photos`: checks, EXIF stripping, thumbnails, storage.
- :mod:`~geogrid.issues.stats`: counts, on-time share, time to close, hotspots, CSV.

Storage is :mod:`geogrid.db.issues`; HTTP is :mod:`geogrid.api.routes.issues` and
:mod:`geogrid.api.routes.open311`.  Nothing here imports the database or the web
framework (settings for adapters live in :mod:`geogrid.issues.config`).
"""

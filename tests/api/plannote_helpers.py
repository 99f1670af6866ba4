"""Helpers of tests/api/test_plan_notes.py (not a test module)."""

from __future__ import annotations


def grown_into(session, a: str, b: str):
    """Village ``a``'s outline grown by 300 m into its neighbour ``b`` (WGS84): an
    overlap of about a tenth of a square kilometre or more."""
    import shapely
    from shapely import wkt
    from sqlalchemy import text

    from geogrid.crs import local_metric_crs
    import geopandas as gpd

    ga, gb = (wkt.loads(session.execute(text("SELECT ST_AsText(geom) FROM areas WHERE code = :c"),
                                        {"c": c}).scalar_one()) for c in (a, b))
    c = ga.centroid
    crs = local_metric_crs(c.x, c.y)
    ma, mb = gpd.GeoSeries([ga, gb], crs=4326).to_crs(crs)
    grown = shapely.union(ma, shapely.intersection(ma.buffer(300.0), mb))
    return gpd.GeoSeries([grown], crs=crs).to_crs(4326).iloc[0]

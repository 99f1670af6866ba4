"""The basemaps geogrid offers, by the names its settings use (``GEOGRID_BASEMAP``):
``none``, ``osm``, ``tianditu`` (with ``GEOGRID_TIANDITU_KEY``) and ``amap``.

The web map draws them in ``web_map/js/basemaps.js``; these are the same tiles (URL,
subdomains, zoom, attribution), for the analysts' folium maps (:func:`geogrid.viz.explore`),
and ``tests/partition/test_viz_cli.py`` checks that the two say the same.  Tianditu is
CGCS2000, the same as WGS84 to within a metre; AMap is GCJ-02, so WGS84 layers drawn on
it must be shifted to GCJ-02 (about 500 m in Xinhuang), as the web map does.
"""

from __future__ import annotations

from dataclasses import dataclass

from geogrid.errors import InputError

__all__ = ["NAMES", "Basemap", "TileSpec", "basemap"]

#: geogrid's basemap names, as in the web map's configuration
NAMES = ("none", "osm", "tianditu", "amap")

_TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
             "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
             "&TILECOL={x}&tk={key}")


@dataclass(frozen=True)
class TileSpec:
    """One tile layer: a Leaflet URL template and its options."""

    url: str
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 18


@dataclass(frozen=True)
class Basemap:
    """A basemap: ``name``, its ``label`` (Chinese, as the web map's), its tile layers
    (the first the map, the others drawn over it: Tianditu's labels) and ``crs``, the
    coordinate system of its tiles (``wgs84``, or ``gcj02`` for AMap)."""

    name: str
    label: str
    layers: tuple[TileSpec, ...]
    crs: str = "wgs84"


def basemap(name: str, *, tianditu_key: str | None = None) -> Basemap | None:
    """The basemap of geogrid's ``name`` (case and spaces aside; ``openstreetmap`` is
    ``osm``), ``None`` for ``none``.

    Raises InputError for ``tianditu`` without a key (set ``GEOGRID_TIANDITU_KEY``) and
    for a name that is not one of :data:`NAMES`.

    >>> basemap("OSM").layers[0].url
    'https://tile.openstreetmap.org/{z}/{x}/{y}.png'
    >>> basemap("amap").crs, basemap("none")
    ('gcj02', None)
    """
    key = str(name).strip().lower()
    key = {"openstreetmap": "osm"}.get(key, key)
    if key == "none":
        return None
    if key == "osm":
        return Basemap("osm", "OpenStreetMap", (TileSpec(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>', max_zoom=19),))
    if key == "tianditu":
        if not tianditu_key:
            raise InputError("the Tianditu basemap (天地图) needs a key: set GEOGRID_TIANDITU_KEY (in the "
                             "environment or .env), as the web map does, or draw with tiles='osm' or none")
        return Basemap("tianditu", "天地图", tuple(
            TileSpec(_TIANDITU.replace("{layer}", layer).replace("{key}", _url_quote(tianditu_key)),
                     "&copy; 天地图", subdomains="01234567")
            for layer in ("vec", "cva")))
    if key == "amap":
        return Basemap("amap", "高德地图", (TileSpec(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            "&copy; 高德地图", subdomains="1234"),), crs="gcj02")
    raise InputError(f"{name!r} is not one of geogrid's basemaps: {', '.join(NAMES)}")


def _url_quote(text: str) -> str:
    """``text`` as JavaScript's encodeURIComponent writes it (what the web map sends)."""
    from urllib.parse import quote

    return quote(text, safe="-_.!~*'()")

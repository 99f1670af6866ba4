"""Folium maps of a partition, for analysts in notebooks.

Nothing is fetched from the internet: the map has no base layer by default
(``tiles=None`` draws the basemap of ``GEOGRID_BASEMAP``, as the web map does, and that
is none unless set; pass one of geogrid's basemaps, ``tiles="osm"``, ``"tianditu"`` or
``"amap"``, when you are online; see :mod:`geogrid.basemaps`), and the page
carries its own Leaflet, the copy the web map vendors from npm
(``web_map/vendor/leaflet``), instead of folium's links to CDNs.  folium's other
defaults (jQuery, Bootstrap, Font Awesome, awesome-markers) are left out: nothing
here uses them.  The map speaks Chinese, as the web map does (``lang="en"``: English).
"""

from __future__ import annotations

import html
import numbers
import re

import folium
import numpy as np
import shapely

import geopandas as gpd

from geogrid import basemaps, webassets
from geogrid.columns import CELL_ID, HOUSEHOLDS, MICROGRID_ID, VILLAGE_CODE
from geogrid.crs import from_wgs84, geometry_from_wgs84
from geogrid.errors import InputError

__all__ = ["TEXT", "configured_basemap", "explore", "fill_colour", "diagnostic_layers", "kind_label", "note_text", "standalone"]

# light to dark: few households to full (colour-blind safe, from ColorBrewer YlGnBu)
_RAMP = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"]


def fill_colour(households: int, cap: int = 20) -> str:
    """Colour of a cell by how full it is; red when over ``cap`` (one big building)."""
    if households > cap:
        return "#d7301f"
    k = int(np.clip(np.ceil(households / cap * len(_RAMP)) - 1, 0, len(_RAMP) - 1))
    return _RAMP[k]


#: the map's words, by language: layer names and tooltip labels (those of the web map,
#: web_map/strings/*.js, where it has them: 微网格, 网格（户团）, 所属网格)
TEXT = {
    "zh": {"cells": "网格（户团）", "microgrids": "微网格", "households": "住户",
           "cell": "网格", "microgrid": "微网格", "count": "户数", "area": "面积（km²）",
           "house_cell": "所属网格",
           "some": "住户：{of_cells:,} 个网格中 {n_cells:,} 个的全部住户，分布于全图（{placed:,}/{total:,} 户）",
           "kind": "{label}（{n}）"},
    "en": {"cells": "cells", "microgrids": "micro-grids", "households": "households",
           "cell": "cell", "microgrid": "micro-grid", "count": "households", "area": "km²",
           "house_cell": "cell",
           "some": "households: those of {n_cells:,} of {of_cells:,} cells, spread over the map "
                   "({placed:,} of {total:,})",
           "kind": "{label} ({n})"},
}


def _text(lang: str) -> dict[str, str]:
    if lang not in TEXT:
        raise InputError(f"lang={lang!r}: the map speaks {' or '.join(map(repr, TEXT))} "
                         "(zh, the default: 微网格, 网格（户团）, 户数; en: micro-grids, cells, households)")
    return TEXT[lang]


def kind_label(kind: str, lang: str = "zh") -> str:
    """What the map calls a diagnostic's kind: in Chinese the web map's word for it
    (``hamlet_split``: 自然村被拆分, from ``web_map/strings/zh.js``), the kind itself when
    it has none; in English the kind, as ``result.diagnostics`` and ``result.notes()``
    name it."""
    _text(lang)
    if lang == "en":
        return kind
    return webassets.web_strings(lang).get(f"notekind.{kind}", kind)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def note_text(diagnostic: dict, lang: str = "zh") -> str:
    """A diagnostic of a partition in the map's words: in ``lang``'s template of its
    kind (``engine.<kind>`` of ``web_map/strings/zh.js``, ``en.js``: the words the web
    map's planner gives the same note, filled as its ``noteText`` fills them: the
    village, the number of households it names, the micro-grids, cells and villages it
    names, the areas and pieces of its ``params``); its own (English) ``message`` where
    the language has no template for its kind or it lacks what the template needs.

    >>> d = {"kind": "oversize_building", "village_code": "431227103001",
    ...      "households": list(range(45)), "message": "building T1 ..."}
    >>> note_text(d)[:32]
    '村 431227103001 有一栋楼（或同一地址）共 45 户'
    >>> note_text({**d, "kind": "nonesuch"})
    'building T1 ...'
    """
    _text(lang)
    strings = webassets.web_strings(lang)
    p = diagnostic.get("params") or {}

    def fill(key: str, values: dict) -> str | None:
        template = strings.get(key)
        if not isinstance(template, str):
            return None
        if any(values.get(name) is None for name in _PLACEHOLDER.findall(template)):
            return None
        # a village's name in full-width brackets ends a code the template spaced off
        return _PLACEHOLDER.sub(lambda m: str(values.get(m[1], m[0])), template).replace("） ", "）")

    def ids(values) -> str | None:
        if not isinstance(values, (list, tuple)) or not values:
            return None
        shown = [str(v) for v in values[:8]]
        more = fill("engine.list.more", {"n": len(values) - len(shown)}) if len(values) > len(shown) else ""
        return strings.get("engine.list.sep", ", ").join(shown) + (more or "")

    def area(m2) -> str | None:
        if isinstance(m2, bool) or not isinstance(m2, numbers.Real) or not np.isfinite(m2):
            return None
        if m2 >= 1e4:
            return fill("engine.area.km2", {"v": f"{m2 / 1e6:.3f}"})
        return fill("engine.area.m2", {"v": int(np.floor(m2 + 0.5))})

    code = diagnostic.get("village_code")
    households = list(dict.fromkeys(diagnostic.get("households") or []))
    pieces = p.get("pieces")
    values = {
        "village": None if code is None else str(code),
        "households": len(households) or None,
        "microgrids": ids(diagnostic.get("microgrids")),
        "cells": ids(diagnostic.get("cells")),
        "villages": ids(diagnostic.get("villages")),
        "pieces": int(pieces) if isinstance(pieces, numbers.Real) and float(pieces).is_integer() else pieces,
        "area": area(p.get("area_m2")),
        "gained": area(p.get("gained_m2")),
        "lost": area(p.get("lost_m2")),
        "passed": area(p.get("passed_m2")),
    }
    kind = diagnostic.get("kind")
    # a split made by hand is worded as such, not with the engine's reasons
    key = f"engine.{kind}.by_hand" if p.get("by_hand") and f"engine.{kind}.by_hand" in strings else f"engine.{kind}"
    # the template's optional phrases ("engine.<kind>.<name>", filling {<name>}): put
    # in where the diagnostic has what they need, else left out
    for name in dict.fromkeys(_PLACEHOLDER.findall(strings.get(key) or "")):
        if f"{key}.{name}" in strings:
            values[name] = fill(f"{key}.{name}", values) or ""
    worded = fill(key, values)
    return worded if worded is not None else str(diagnostic.get("message") or "")


def explore(result, *, tiles: str | None = None, households: bool = True,
            max_points: int | None = 20_000, diagnostics: bool = True,
            lang: str = "zh", attr: str | None = None) -> folium.Map:
    """A folium map of micro-grids, cells coloured by household count, households, and
    the diagnostics: where a planner's attention is needed.

    Parameters
    ----------
    result : PartitionResult
    tiles : str or None
        The base map.  None (default): the basemap of the settings,
        ``GEOGRID_BASEMAP`` (environment or ``.env``), which the server's web map opens
        with; it is ``none`` unless set, and then the map is blank and nothing is
        fetched (:func:`configured_basemap`).  ``"none"``: a blank map whatever the
        settings.  geogrid's basemaps, as the web map offers them (:mod:`geogrid.basemaps`):
        ``"osm"`` (OpenStreetMap), ``"tianditu"`` (天地图, with the key of
        ``GEOGRID_TIANDITU_KEY``, which the page then carries, as the web map's does) and
        ``"amap"`` (高德地图, GCJ-02 tiles: every layer of the map is then shifted to
        GCJ-02, as the web map shifts them, so that houses sit on their roofs and not
        some 500 m off).  Otherwise a folium tile name (``"OpenTopoMap"``) or a
        tile URL with its ``attr``.
    attr : str or None
        The attribution of a tile URL given as ``tiles`` (required for one).
    households : bool
        Draw the households in a cell as points: all of them up to ``max_points``
        (``None``: no limit); beyond it, those of whole cells drawn in a fixed shuffled
        order until ``max_points``, so that every part of the map shows some cells
        with all of their households (the layer's name says how many).
    diagnostics : bool
        A layer per kind of diagnostic (``hamlet_split``, ``oversize_building``, ...):
        a marker at the mean point of the households each names, its kind as the
        tooltip and what it says as the popup (see ``lang``).  A diagnostic that names no household
        with a point is marked at its village's micro-grids where it has a village;
        the others (a village code with no outline, say) are left to the report.
    lang : ``"zh"`` (default) or ``"en"``
        The words of the map: layer names, tooltip labels and the diagnostics' kinds
        and what they say (in Chinese the web map's words: 微网格, 网格（户团）, 户数,
        自然村被拆分 for ``hamlet_split``, the kind beside it in the tooltip, and each
        diagnostic worded as the web map's planner words it, :func:`note_text`, in its
        English message where the web map has no words for its kind; in English the
        kind ids and the engine's messages, as ``result.notes()`` gives them).  Ids are
        shown as they are, escaped.

    Every layer has a tooltip with its counts, and a layer control toggles them.  The
    page stands alone (Leaflet is written into it); :func:`standalone` says how.

    Raises InputError, saying what to pass, when ``result`` is not a partition (a
    GeoDataFrame, say) or lacks a column the map draws, for ``tiles="tianditu"``
    without a key, and for a tile URL without ``attr``.
    """
    _check_result(result)
    words = _text(lang)
    folium_tiles, base = _tiles(tiles, attr)
    crs = base.crs if base is not None else "wgs84"  # what the page's coordinates are in
    cap = result.report.get("parameters", {}).get("max_households", 20)
    cells = result.cells.to_crs("EPSG:4326")
    mgs = result.microgrids.to_crs("EPSG:4326")
    x0, y0, x1, y1 = mgs.total_bounds if len(mgs) else (0, 0, 0, 0)
    m = standalone(folium.Map(tiles=folium_tiles, attr=attr if folium_tiles is not None else None,
                              control_scale=True))
    if base is not None:
        for i, spec in enumerate(base.layers):  # the others over the first (Tianditu's labels)
            folium.TileLayer(spec.url, attr=spec.attribution, name=base.label, subdomains=spec.subdomains,
                             max_zoom=spec.max_zoom, max_native_zoom=spec.max_zoom, overlay=i > 0,
                             control=False).add_to(m)
    if len(mgs):
        (x0, x1), (y0, y1) = from_wgs84(np.array([x0, x1]), np.array([y0, y1]), crs)
        m.fit_bounds([[y0, x0], [y1, x1]])
    cell_layer = folium.FeatureGroup(name=words["cells"], show=True)
    folium.GeoJson(
        _as_text(_with_geometry(cells, [CELL_ID, MICROGRID_ID, VILLAGE_CODE, HOUSEHOLDS], crs)).to_json(),
        style_function=lambda f: {
            "fillColor": fill_colour(int(f["properties"][HOUSEHOLDS]), cap),
            "color": "#555555", "weight": 0.6, "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(fields=[CELL_ID, HOUSEHOLDS],
                                      aliases=[words["cell"], words["count"]]),
    ).add_to(cell_layer)
    cell_layer.add_to(m)
    mg_layer = folium.FeatureGroup(name=words["microgrids"], show=True)
    folium.GeoJson(
        # the area as a tooltip reads it: 2.782 km², not 2.7821136029467306
        _as_text(_with_geometry(mgs, [MICROGRID_ID, VILLAGE_CODE, HOUSEHOLDS, "area_km2"], crs)
                 .round({"area_km2": 3})).to_json(),
        style_function=lambda f: {"fill": False, "color": "#111111", "weight": 2.0},
        tooltip=folium.GeoJsonTooltip(fields=[MICROGRID_ID, HOUSEHOLDS, "area_km2"],
                                      aliases=[words["microgrid"], words["count"], words["area"]]),
    ).add_to(mg_layer)
    mg_layer.add_to(m)
    placed = result.households[result.households[CELL_ID].notna()] if households else result.households.iloc[:0]
    max_points = len(placed) if max_points is None else max(int(max_points), 0)
    name = words["households"]
    if len(placed) > max_points:
        n_placed = len(placed)
        placed, n_cells, of_cells = _whole_cells(placed, max_points)
        name = words["some"].format(n_cells=n_cells, of_cells=of_cells, placed=len(placed), total=n_placed)
    # none to draw (latitude and longitude swapped, say, or max_points=0): no layer, as
    # folium's tooltip of an empty layer fails when the map is drawn; the diagnostics
    # say why
    if len(placed):
        # without the index: a register indexed by ID number would put every one of
        # them in the page as the features' ids
        hh = placed.to_crs("EPSG:4326").reset_index(drop=True)
        hh = _as_text(_with_geometry(hh, [CELL_ID, MICROGRID_ID], crs))
        hl = folium.FeatureGroup(name=name, show=True)
        folium.GeoJson(
            hh.to_json(),
            marker=folium.CircleMarker(radius=2, weight=0, fill=True, fill_color="#222222",
                                       fill_opacity=0.8),
            tooltip=folium.GeoJsonTooltip(fields=[CELL_ID], aliases=[words["house_cell"]]),
        ).add_to(hl)
        hl.add_to(m)
    if diagnostics:
        for layer in diagnostic_layers(result, mgs, lang=lang, crs=crs):
            layer.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _tiles(tiles, attr):
    """``(what folium.Map takes as tiles, geogrid's Basemap)`` for ``tiles``: one of
    geogrid's names gives ``(None, its Basemap or None)``; folium's own tiles pass
    through; a URL without ``attr`` raises InputError; None is the configured basemap
    (:func:`configured_basemap`)."""
    if tiles is None:
        return None, configured_basemap()
    if isinstance(tiles, str) and tiles.strip().lower() in (*basemaps.NAMES, "openstreetmap"):
        key = None
        if tiles.strip().lower() == "tianditu":
            from geogrid.settings import get_settings

            key = get_settings().tianditu_key
        return None, basemaps.basemap(tiles, tianditu_key=key)
    try:
        folium.TileLayer(tiles, attr=attr)
    except ValueError as exc:  # folium: "Custom tiles must have an attribution."
        raise InputError(
            f"tiles={tiles!r} is no basemap geogrid or folium knows, so it is read as a tile URL, and "
            "a tile URL needs its attribution: pass attr='© whose tiles they are' with it, or one of "
            "geogrid's basemaps: 'none' (nothing fetched), 'osm', 'tianditu' (with "
            "GEOGRID_TIANDITU_KEY) or 'amap' (the map shifted to GCJ-02)") from exc
    return tiles, None


def configured_basemap() -> basemaps.Basemap | None:
    """The basemap of the settings, ``GEOGRID_BASEMAP`` (in the environment or a
    ``.env`` file of the working directory; with ``GEOGRID_TIANDITU_KEY`` for
    Tianditu), which the server's web map opens with: None for ``none``, the default.
    A setting the map cannot draw (Tianditu without its key, a name that is none of
    geogrid's basemaps) draws none, as the web map does, with a warning saying what to
    set."""
    import warnings

    from pydantic import ValidationError

    from geogrid.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:  # another GEOGRID_ variable that does not read
        warnings.warn(f"the map is drawn without a basemap: geogrid's settings do not read ({exc}); "
                      "correct them, or pass tiles= to explore()", stacklevel=4)
        return None
    try:
        return basemaps.basemap(settings.basemap, tianditu_key=settings.tianditu_key or None)
    except InputError as exc:
        warnings.warn(f"GEOGRID_BASEMAP={settings.basemap!r} cannot be drawn, so the map has no basemap: "
                      f"{exc}; or pass tiles= to explore()", stacklevel=4)
        return None


def _whole_cells(placed, max_points: int):
    """The households of whole cells, cells taken in a fixed shuffled order while their
    households fit ``max_points``: ``(those households, cells taken, cells)``.  Not the
    first rows, which are the first villages of a register in code order."""
    counts = placed[CELL_ID].value_counts().sort_index()
    order = np.random.default_rng(0).permutation(len(counts))
    sizes = counts.to_numpy()[order]
    taken = order[np.flatnonzero(np.cumsum(sizes) <= max_points)]
    keep = counts.index[np.sort(taken)]
    return placed[placed[CELL_ID].isin(keep)], len(keep), len(counts)


#: the columns the map reads, by frame of a PartitionResult
_NEEDS = {"households": [CELL_ID, MICROGRID_ID],
          "microgrids": [MICROGRID_ID, VILLAGE_CODE, HOUSEHOLDS, "area_km2"],
          "cells": [CELL_ID, MICROGRID_ID, VILLAGE_CODE, HOUSEHOLDS]}


def _check_result(result) -> None:
    frames = {name: getattr(result, name, None) for name in _NEEDS}
    if not all(isinstance(f, gpd.GeoDataFrame) for f in frames.values()):
        raise InputError(
            f"explore() draws a partition, not a {type(result).__name__}: pass the PartitionResult "
            "that geogrid.partition.partition or repartition returns; for a plan written by "
            "`geogrid partition --out FILE.gpkg`, geogrid.io.read_plan(FILE), which reads it back "
            "with the parameters it was drawn with; for a GeoDataFrame alone, its own .explore()")
    for name, frame in frames.items():
        missing = [c for c in _NEEDS[name] if c not in frame.columns]
        if missing:
            raise InputError(f"the {name} of the partition have no {', '.join(map(repr, missing))} "
                             f"column: explore() needs {', '.join(_NEEDS[name])} (as partition "
                             "returns them)")


def standalone(m: folium.Map) -> folium.Map:
    """``m`` with Leaflet's script and stylesheet written into its page, and folium's
    links to CDNs dropped, so the map draws with no internet (in a notebook, or saved
    as a file).  Only Leaflet is kept: jQuery, Bootstrap and the marker fonts folium
    links by default serve its ``Popup`` and ``Icon``, which these maps do not use
    (popups here are ``GeoJsonPopup``, plain Leaflet).

    Raises FileNotFoundError, saying what to do, when the vendored Leaflet is missing.
    """
    js, css = webassets.leaflet_inline()
    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    header.add_child(folium.Element(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(folium.Element(f"<script>{js}</script>"), name="leaflet")
    return m


#: marker colours of the diagnostic layers, by kind (others grey)
_KIND_COLOUR = {"hamlet_split": "#e66101", "building_split": "#e66101", "oversize_building": "#b2182b",
                "spread_building": "#fdb863", "isolated": "#5e3c99", "not_repartitioned": "#b2182b",
                "outside_village": "#b2182b", "locked_cell_full": "#b2182b",
                "kept_cell_full": "#b2182b", "locked_cell_empty": "#b2182b", "empty_microgrid": "#b2182b",
                "microgrid_dropped": "#fdb863"}


#: decimals of a degree kept in the page (about 0.1 m): a county's map was 16 MB of
#: HTML, most of it the sixteen digits of each vertex, and a notebook saves it per display
DECIMALS = 6


def _with_geometry(frame, columns, crs: str = "wgs84"):
    """``frame``'s ``columns`` and its geometry, whatever that column is called (``geom``
    from ``geopandas.read_postgis``, say), from WGS84 to ``crs`` (``gcj02`` over AMap
    tiles) and rounded to :data:`DECIMALS` (for the page only: a display, not the plan,
    whose own coordinates are untouched)."""
    geoms = frame.geometry.to_numpy()
    if crs != "wgs84":
        geoms = geometry_from_wgs84(geoms, crs)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, DECIMALS))
    return gpd.GeoDataFrame(frame[columns], geometry=geoms, crs=frame.crs)


def _as_text(frame):
    """``frame`` with its id columns escaped as HTML: folium's tooltips put property
    values into the page with ``innerHTML``, and ids carry village codes, which are
    the user's text (``<img onerror=...>`` in one would run as code)."""
    out = frame.copy()
    for col in (CELL_ID, MICROGRID_ID, VILLAGE_CODE):
        if col in out.columns:
            out[col] = [None if v is None or v != v else html.escape(str(v)) for v in out[col]]
    return out


def diagnostic_layers(result, mgs=None, *, lang: str = "zh", crs: str = "wgs84") -> list[folium.FeatureGroup]:
    """One folium layer per kind of ``result``'s diagnostics, hidden at first, named
    with its kind (:func:`kind_label`) and count: a circle marker per diagnostic (see
    :func:`explore`), at a point in ``crs`` (``gcj02`` over AMap tiles).  ``mgs``: the
    micro-grids in WGS84."""
    words = _text(lang)
    if not result.diagnostics:
        return []
    hh = result.households
    pts = hh.geometry.to_crs("EPSG:4326") if hh.crs is not None else hh.geometry
    ok = ~(pts.isna() | pts.is_empty).to_numpy()
    xy = np.full((len(hh), 2), np.nan)
    xy[ok, 0], xy[ok, 1] = pts[ok].x.to_numpy(), pts[ok].y.to_numpy()
    # a point that is no place (infinite, a latitude of 109: swapped) is no point:
    # a marker there is drawn nowhere
    xy[~((np.abs(xy[:, 0]) <= 180) & (np.abs(xy[:, 1]) <= 90))] = np.nan
    pos = {label: i for i, label in enumerate(hh.index)} if len(hh) else {}
    mgs = result.microgrids.to_crs("EPSG:4326") if mgs is None else mgs
    village_at = {}
    if len(mgs):
        for code, g in mgs.groupby(VILLAGE_CODE):
            c = g.geometry.union_all().representative_point()
            village_at[code] = (c.x, c.y)
    # the popup: in Chinese the web map's words for the note (note_text), in English
    # the engine's own message, as result.notes() and the report give it
    def said_of(d):
        return d["message"] if lang == "en" else note_text(d, lang)

    layers: dict[str, list] = {}
    for d in result.diagnostics:
        rows = [pos[h] for h in d.get("households") or [] if h in pos]
        here = xy[rows][~np.isnan(xy[rows, 0])] if rows else np.zeros((0, 2))
        if len(here):
            x, y = here.mean(axis=0)
        elif d.get("village_code") in village_at:
            x, y = village_at[d["village_code"]]
        else:
            continue
        if crs != "wgs84":
            (x,), (y,) = from_wgs84(np.array([x]), np.array([y]), crs)
        layers.setdefault(d["kind"], []).append((x, y, d))
    out = []
    for kind in sorted(layers):
        label = kind_label(kind, lang)
        group = folium.FeatureGroup(name=words["kind"].format(label=label, n=len(layers[kind])), show=False)
        # the tooltip: the kind's word and, in Chinese, the kind as result.notes() names it
        said = label if label == kind else f"{label}（{kind}）"
        colour = _KIND_COLOUR.get(kind, "#636363")
        # One GeoJson layer of points per kind: its popup is folium's GeoJsonPopup,
        # which puts the message into the page with innerHTML (so it is escaped here,
        # once) and, unlike folium.Popup, needs no jQuery.
        features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(x), DECIMALS),
                                                                        round(float(y), DECIMALS)]},
                     "properties": {"kind": html.escape(said), "message": html.escape(said_of(d))}}
                    for x, y, d in layers[kind]]
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            marker=folium.CircleMarker(radius=7, color=colour, weight=2, fill=True,
                                       fill_color=colour, fill_opacity=0.35),
            tooltip=folium.GeoJsonTooltip(fields=["kind"], labels=False),
            popup=folium.GeoJsonPopup(fields=["message"], labels=False, localize=False,
                                      max_width=360),
        ).add_to(group)
        out.append(group)
    return out

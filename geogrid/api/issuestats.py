"""Issue statistics and hotspots as the API gives them (``GET /issues/stats`` and
``GET /issues/hotspots``).

Admins and cadres read the issues they count, so they are told exact counts of their
scope.  Analysts read no issue, and a count of one at a fine place is one: hotspots at
resolution 11 filtered by ``category=care`` put a vulnerable person's request within
about 25 m, and counts by cell (at most 20 households) and category told which few
households one came from.  So an analyst's answer is withheld as
:mod:`geogrid.api.disclosure` says, from the finest place they are told:

- hotspots from hexagons of :data:`~geogrid.api.disclosure.SUPPRESSION_RESOLUTION`
  (finer resolutions are answered at it).  A hexagon holding fewer than
  :data:`~geogrid.api.disclosure.MIN_BIN` issues of the analyst's scope, of every
  category and status, counts them all as ``suppressed`` whatever ``status`` and
  ``category`` ask for (so that the filter tells nothing of it); a bigger one counts
  the issues the filter matches.  ``bbox`` takes the hexagons whose centre it holds,
  not the issues in it (a box cutting a hexagon would count part of it);
- statistics by micro-grid at the finest (``cell_key`` is refused): a micro-grid (or
  the rest of a village, issues in no micro-grid) holding fewer than ``MIN_BIN``
  issues of the period gives them as ``suppressed``, not by status, category, level
  or period; villages and the county are sums of whole micro-grids.  The summary
  (totals, open, closed, overdue, on-time share, time to close) is over the whole
  scope: it names no place and no category.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import h3
import pandas as pd

from geogrid.api.disclosure import (
    MIN_BIN, SUPPRESSED, SUPPRESSION_RESOLUTION, answered_resolution, withhold, withhold_hexagons,
)
from geogrid.api.geojson import hexagon
from geogrid.errors import PermissionDeniedError
from geogrid.issues import stats

__all__ = ["HOTSPOT_COUNTS", "PLACES", "STATS_DOC", "HOTSPOTS_DOC", "exact_hotspots", "withheld_hotspots",
           "withheld_counts"]

#: What a hotspot hexagon counts (:func:`geogrid.issues.stats.hotspots`).
HOTSPOT_COUNTS = ("issues", "open", "overdue")
#: The places an analyst may group issue statistics by, coarse to fine.
PLACES = ("village_code", "microgrid_key")
#: Places finer than a micro-grid, refused to an analyst.
_TOO_FINE = ("cell_key",)

#: The OpenAPI descriptions of the two routes.
STATS_DOC = ("Analysts (who read no issue) are told counts by micro-grid at the finest (`cell_key` "
             f"is refused), and a micro-grid of fewer than {MIN_BIN} issues in the period gives them "
             "in `suppressed` by the places asked for, not by status, category, level or period; "
             "villages and the county are sums of whole micro-grids.")
HOTSPOTS_DOC = (f"Analysts (who read no issue) are answered at resolution {SUPPRESSION_RESOLUTION} at "
                f"most; a hexagon of it holding fewer than {MIN_BIN} issues of every category and "
                "status counts them all as `suppressed`, whatever `status` and `category` ask for, "
                "and `bbox` takes the hexagons whose centre it holds.")


# --- hotspots ---------------------------------------------------------------------------------
def exact_hotspots(frame: pd.DataFrame, resolution: int, now: dt.datetime) -> list[dict]:
    """The hotspots of the issues ``frame`` holds (already filtered), exact, with
    ``suppressed: 0``."""
    features = stats.hotspots(frame, resolution, now)
    for f in features:
        f["properties"]["suppressed"] = 0
    return features


def withheld_hotspots(frame: pd.DataFrame, resolution: int, now: dt.datetime, *,
                      statuses: list[str] | None = None, categories: list[str] | None = None,
                      box: tuple[float, float, float, float] | None = None) -> tuple[list[dict], int]:
    """``(features, resolution answered)`` for a caller who may not read the issues.

    ``frame`` holds every issue of the caller's scope (unfiltered); ``statuses`` and
    ``categories`` choose the issues counted in hexagons big enough to count them."""
    fine = SUPPRESSION_RESOLUTION
    sizes = Counter(h3.latlng_to_cell(float(lat), float(lon), fine)
                    for lon, lat in zip(frame["lon"], frame["lat"]))
    matched = frame
    if statuses:
        matched = matched[matched["status"].isin(statuses)]
    if categories:
        matched = matched[matched["category"].isin(categories)]
    counts = {f["id"]: {k: f["properties"][k] for k in HOTSPOT_COUNTS}
              for f in stats.hotspots(matched, fine, now)}
    bins = withhold_hexagons(counts, resolution, sizes=sizes)
    features = []
    for cell, by_key in bins.items():
        if box is not None:
            lat, lon = h3.cell_to_latlng(cell)
            if not (box[0] <= lon <= box[2] and box[1] <= lat <= box[3]):
                continue
        props = {"h3": cell, **{k: by_key.get(k, 0) for k in HOTSPOT_COUNTS},
                 "suppressed": by_key.get(SUPPRESSED, 0)}
        features.append({"type": "Feature", "id": cell, "geometry": hexagon(cell), "properties": props})
    features.sort(key=lambda f: (-f["properties"]["issues"], -f["properties"]["suppressed"], f["id"]))
    return features, answered_resolution(resolution)


# --- statistics -------------------------------------------------------------------------------
def withheld_counts(frame: pd.DataFrame, groups: list[str], period: str | None) -> tuple[list[dict], list[dict]]:
    """``(counts, suppressed)`` for a caller who may not read the issues: the rows of
    :func:`geogrid.issues.stats.counts` by ``groups`` (and ``period``) of the
    micro-grids holding at least ``MIN_BIN`` issues of ``frame``, summed over the
    places ``groups`` names; and the issues of the smaller ones by those places alone.

    Raises PermissionDeniedError for a place finer than a micro-grid."""
    too_fine = [g for g in groups if g in _TOO_FINE]
    if too_fine:
        raise PermissionDeniedError(
            f"analysts are told issue counts by micro-grid at the finest, not by {', '.join(too_fine)}: "
            "group by microgrid_key or village_code")
    places = [g for g in groups if g in PLACES]
    keys = [g for g in groups if g not in PLACES] + (["period"] if period else [])
    fine = stats.counts(frame, [*PLACES, *(g for g in groups if g not in PLACES)], period)
    counts: dict = defaultdict(dict)
    for row in fine.to_dict(orient="records"):
        counts[tuple(row[p] for p in PLACES)][tuple(row[k] for k in keys)] = int(row["count"])
    sizes = {tuple(row[p] for p in PLACES): int(row["count"])
             for row in stats.counts(frame, list(PLACES)).to_dict(orient="records")}
    at = [PLACES.index(p) for p in places]
    bins = withhold(counts, lambda b: tuple(b[i] for i in at), sizes=sizes)
    columns = [*groups, *(["period"] if period else [])]  # stats.counts' order
    rows, suppressed = [], []
    for place, by_key in bins.items():
        where = dict(zip(places, place))
        for key, n in by_key.items():
            if key == SUPPRESSED:
                suppressed.append({**where, "count": n})
            else:
                values = {**where, **dict(zip(keys, key))}
                rows.append({**{c: values[c] for c in columns}, "count": n})
    if not columns:  # one row, as stats.counts gives: the issues of the places counted
        rows = [{"count": sum(r["count"] for r in rows)}]
    rows.sort(key=lambda r: tuple(str(r[c]) for c in columns))
    suppressed.sort(key=lambda r: tuple(str(r[c]) for c in places))
    return rows, suppressed

"""Issue hotspots as the API gives them (``GET /issues/hotspots``).

Admins and cadres read the issues they count, so they are told exact counts of their
scope.  Analysts read no issue, and a count of one at a fine place is one: hotspots at
resolution 11 filtered by ``category=care`` put a vulnerable person's request within
about 25 m.  So an analyst's answer is withheld as
:mod:`geogrid.api.disclosure` says, from the finest place they are told:

- hexagons of :data:`~geogrid.api.disclosure.SUPPRESSION_RESOLUTION`
  (finer resolutions are answered at it).  A hexagon holding fewer than
  :data:`~geogrid.api.disclosure.MIN_BIN` issues of the analyst's scope, of every
  category and status, counts them all as ``suppressed`` whatever ``status`` and
  ``category`` ask for (so that the filter tells nothing of it); a bigger one counts
  the issues the filter matches.  ``bbox`` takes the hexagons whose centre it holds,
  not the issues in it (a box cutting a hexagon would count part of it).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import h3
import pandas as pd

from geogrid.api.disclosure import (
    MIN_BIN, SUPPRESSED, SUPPRESSION_RESOLUTION, answered_resolution, withhold_hexagons,
)
from geogrid.api.geojson import hexagon
from geogrid.issues import stats

__all__ = ["HOTSPOT_COUNTS", "HOTSPOTS_DOC", "exact_hotspots", "withheld_hotspots"]

#: What a hotspot hexagon counts (:func:`geogrid.issues.stats.hotspots`).
HOTSPOT_COUNTS = ("issues", "open", "overdue")
#: The OpenAPI description of the route.
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

"""Issue statistics and hotspots as the API gives them (``GET /issues/stats`` and
``GET /issues/hotspots``).

Admins and cadres read the issues they count, so they are told exact counts of their
scope.  Analysts read no issue, and a count of one at a fine place is one: hotspots at
resolution 11 filtered by ``category=care`` put a vulnerable person's request within
about 25 m, and counts by cell (at most 20 households) and category told which few
households one came from.  So an analyst's answer is withheld as
:mod:`geogrid.api.disclosure` says, from one set of finest places for both routes: the
*parts* of a hexagon of :data:`~geogrid.api.disclosure.SUPPRESSION_RESOLUTION` in each
micro-grid (issues of a village in no micro-grid are a micro-grid of their own).  A part
whose issues are of fewer than :data:`~geogrid.api.disclosure.MIN_BIN` subjects
(households or people, else reporting accounts: :mod:`geogrid.db.issuesubjects`), of
every category and status, counts them all as ``suppressed`` whatever the filter asks
(so that the filter tells nothing of it); a bigger one counts the issues the filter
matches.  Hexagons and micro-grids are both sums of whole parts, so crossing the
hotspots with the statistics (a micro-grid less the hexagons inside it) gives back only
sums of parts counted anyway; were hexagons and micro-grids withheld each on its own,
the part of a counted hexagon in a counted micro-grid could be one household.

- hotspots: by hexagon, finer resolutions answered at ``SUPPRESSION_RESOLUTION``;
  ``bbox`` takes the hexagons whose centre it holds, not the issues in it (a box
  cutting a hexagon would count part of it);
- statistics: by micro-grid at the finest (``cell_key`` is refused); villages and the
  county are sums of whole micro-grids.  The summary (totals, open, closed, overdue,
  on-time share, time to close) is over the whole scope: it names no place and no
  category.  Given every issue of the scope as ``whole``, the parts are withheld by
  their subjects of every period, as the hotspots', and a period (``since``/``until``)
  only chooses what counted parts count: else the period's issues decide, and two
  overlapping periods' answers differ by a part's issues of the days between.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import h3
import pandas as pd

from geogrid.api.disclosure import (
    MIN_BIN, SUPPRESSED, SUPPRESSION_RESOLUTION, answered_resolution, distinct_subjects, withhold,
    withhold_hexagons,
)
from geogrid.api.geojson import hexagon
from geogrid.db.issuesubjects import SUBJECT
from geogrid.errors import InputError, PermissionDeniedError
from geogrid.issues import stats
from geogrid.issues.workflow import OPEN_STATUSES

__all__ = ["HOTSPOT_COUNTS", "PLACES", "STATS_DOC", "HOTSPOTS_DOC", "exact_hotspots", "withheld_hotspots",
           "withheld_counts"]

#: What a hotspot hexagon counts (:func:`geogrid.issues.stats.hotspots`).
HOTSPOT_COUNTS = ("issues", "open", "overdue")
#: The places an analyst may group issue statistics by, coarse to fine.
PLACES = ("village_code", "microgrid_key")
#: Places finer than a micro-grid, refused to an analyst.
_TOO_FINE = ("cell_key",)

#: The OpenAPI descriptions of the two routes.
_PARTS_DOC = (f"Counted from the parts of resolution-{SUPPRESSION_RESOLUTION} hexagons in each "
              f"micro-grid: a part whose issues are of fewer than {MIN_BIN} households or people "
              "(else reporting accounts), of every category and status, gives them in `suppressed`, "
              "whatever the filter asks; hexagons, micro-grids, villages and the county are sums of "
              "whole parts.")
STATS_DOC = ("Analysts (who read no issue) are told counts by micro-grid at the finest (`cell_key` "
             "is refused), without status, category, level or period for the issues of parts "
             "withheld (`suppressed`, by the places asked for). " + _PARTS_DOC)
HOTSPOTS_DOC = (f"Analysts (who read no issue) are answered at resolution {SUPPRESSION_RESOLUTION} at "
                "most, and `bbox` takes the hexagons whose centre it holds. " + _PARTS_DOC)


# --- the finest places -----------------------------------------------------------------------
def _parts(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """The finest place of each issue of ``frame``: (village code, micro-grid key,
    resolution-8 hexagon), "" for no village or micro-grid."""
    places = frame[list(PLACES)].astype(object).where(frame[list(PLACES)].notna(), "")
    cells = [h3.latlng_to_cell(float(lat), float(lon), SUPPRESSION_RESOLUTION)
             for lon, lat in zip(frame["lon"], frame["lat"])]
    return list(zip(places["village_code"], places["microgrid_key"], cells))


def _withholding(whole: pd.DataFrame) -> tuple[list, dict, dict]:
    """``(parts, sizes, subjects)`` of every issue ``whole`` holds: each issue's part,
    the issues of each part and their distinct subjects."""
    parts = _parts(whole)
    return parts, Counter(parts), distinct_subjects(parts, whole[SUBJECT])


def _hexagon(part: tuple[str, str, str]) -> str:
    return part[2]


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

    ``frame`` holds every issue of the caller's scope (unfiltered, with their
    ``subject``); ``statuses`` and ``categories`` choose the issues counted in the parts
    of hexagons whose issues are of enough subjects to count them."""
    parts, sizes, subjects = _withholding(frame)
    chosen = pd.Series(True, index=frame.index)
    if statuses:
        chosen &= frame["status"].isin(statuses)
    if categories:
        chosen &= frame["category"].isin(categories)
    open_ = frame["status"].isin(OPEN_STATUSES)
    due = pd.to_datetime(frame["due_at"], utc=True)
    overdue = open_ & due.notna() & (due < pd.Timestamp(now))
    counts: dict = defaultdict(lambda: dict.fromkeys(HOTSPOT_COUNTS, 0))
    for part, take, o, late in zip(parts, chosen, open_, overdue):
        if take:
            c = counts[part]
            c["issues"] += 1
            c["open"] += int(o)
            c["overdue"] += int(late)
    bins = withhold_hexagons(counts, resolution, sizes=sizes, subjects=subjects, cell=_hexagon)
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
def withheld_counts(frame: pd.DataFrame, groups: list[str], period: str | None, *,
                    whole: pd.DataFrame | None = None) -> tuple[list[dict], list[dict]]:
    """``(counts, suppressed)`` for a caller who may not read the issues: the rows of
    :func:`geogrid.issues.stats.counts` by ``groups`` (and ``period``) of the issues of
    ``frame`` in parts of enough subjects, summed over the places ``groups`` names; and
    the issues of the other parts by those places alone.

    ``whole`` is every issue of the caller's scope, of every period (``frame`` is the
    issues of the period asked for): the parts are withheld by its subjects, and
    ``suppressed`` counts its issues, the same for every period.  Without it ``frame``
    decides.

    Raises PermissionDeniedError for a place finer than a micro-grid."""
    too_fine = [g for g in groups if g in _TOO_FINE]
    if too_fine:
        raise PermissionDeniedError(
            f"analysts are told issue counts by micro-grid at the finest, not by {', '.join(too_fine)}: "
            "group by microgrid_key or village_code", key="stats.too_fine", params={"groups": too_fine})
    unknown = [g for g in groups if g not in stats.GROUPS]
    if unknown:
        raise InputError(f"cannot group by {unknown}; use any of {', '.join(stats.GROUPS)}",
                         key="stats.unknown_group", params={"groups": unknown})
    places = [g for g in groups if g in PLACES]
    attributes = [g for g in groups if g not in PLACES]
    keys = frame[attributes].astype(object).where(frame[attributes].notna(), "")
    if period:
        keys["period"] = stats.period_labels(frame, period)
    _, sizes, subjects = _withholding(frame if whole is None else whole)
    counts: dict = defaultdict(lambda: defaultdict(int))
    for part, key in zip(_parts(frame), keys.itertuples(index=False, name=None)):
        counts[part][key] += 1
    at = [PLACES.index(p) for p in places]
    bins = withhold(counts, lambda part: tuple(part[i] for i in at), sizes=sizes, subjects=subjects)
    columns = [*groups, *(["period"] if period else [])]  # stats.counts' order
    key_names = [*attributes, *(["period"] if period else [])]
    rows, suppressed = [], []
    for place, by_key in bins.items():
        where = dict(zip(places, place))
        for key, n in by_key.items():
            if key == SUPPRESSED:
                suppressed.append({**where, "count": n})
            else:
                values = {**where, **dict(zip(key_names, key))}
                rows.append({**{c: values[c] for c in columns}, "count": n})
    if not columns:  # one row, as stats.counts gives: the issues of the parts counted
        rows = [{"count": sum(r["count"] for r in rows)}]
    rows.sort(key=lambda r: tuple(str(r[c]) for c in columns))
    suppressed.sort(key=lambda r: tuple(str(r[c]) for c in places))
    return rows, suppressed

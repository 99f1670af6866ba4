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
  category, and each of its figures is a row of its own issues, given only when they
  are of ``MIN_BIN`` subjects (:func:`analyst_summary`).  Given every issue of the scope as ``whole``, the parts are withheld by
  their subjects of every period, as the hotspots', and a period (``since``/``until``)
  only chooses what counted parts count: else the period's issues decide, and two
  overlapping periods' answers differ by a part's issues of the days between.

Inside counted parts a row can still be one household's: a micro-grid's care requests
(``by=microgrid_key,category``, hotspots with ``category=care``) or a day's issues
(``period=day``).  So every figure an analyst is told by attribute or filter passes the
same rule again (:func:`geogrid.api.disclosure.withhold_rows`): a row of fewer than
``MIN_BIN`` subjects goes into its place's ``withheld``, and rows and ``withheld`` are
rounded to a multiple of :data:`~geogrid.api.disclosure.ROUND_TO`, so that no difference
of answers (a place's total less its categories, one period less another, a filter less
another) gives back a withheld row.  A hexagon's ``open`` and ``overdue`` are rows of its
issues as well.  ``suppressed`` stays exact: it counts issues by place alone.  Analysts
are told time by week at the finest: ``period=day`` is refused (a day's issues of a
micro-grid are most days one household's, and coarsening them unasked would label weeks
as days), and ``since``/``until`` are widened to whole weeks (Monday to Monday,
:func:`analyst_window`), as the answer's ``since`` and ``until`` say.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import h3
import pandas as pd

from geogrid.api.disclosure import (
    MIN_BIN, ROUND_TO, SUPPRESSED, SUPPRESSION_RESOLUTION, WITHHELD, answered_resolution,
    distinct_subjects, rounded, withhold_hexagons, withhold_rows,
)
from geogrid.api.geojson import hexagon
from geogrid.db.issuesubjects import SUBJECT
from geogrid.errors import InputError, PermissionDeniedError
from geogrid.issues import stats
from geogrid.issues.workflow import CLOSED_STATUSES, OPEN_STATUSES

__all__ = ["HOTSPOT_COUNTS", "PLACES", "STATS_DOC", "HOTSPOTS_DOC", "exact_hotspots", "withheld_hotspots",
           "withheld_counts", "analyst_window"]

#: What a hotspot hexagon counts (:func:`geogrid.issues.stats.hotspots`).
HOTSPOT_COUNTS = ("issues", "open", "overdue")
#: The places an analyst may group issue statistics by, coarse to fine.
PLACES = ("village_code", "microgrid_key")
#: Places finer than a micro-grid, refused to an analyst.
_TOO_FINE = ("cell_key",)

#: The OpenAPI descriptions of the two routes.
_PARTS_DOC = (f"Counted from the parts of resolution-{SUPPRESSION_RESOLUTION} hexagons in each "
              f"micro-grid: a part whose issues are of fewer than {MIN_BIN} households or people "
              "(else reporting accounts), of every category and status, gives them in `suppressed` "
              "(exact), whatever the filter asks; hexagons, micro-grids, villages and the county are "
              "sums of whole parts. Of the other parts' issues, a figure (a row, a hexagon's `issues`, "
              f"`open` or `overdue`) of fewer than {MIN_BIN} households or people is not given: rows "
              f"go into `withheld`; every figure but `suppressed` is rounded to a multiple of {ROUND_TO}.")
STATS_DOC = ("Analysts (who read no issue) are told counts by micro-grid at the finest (`cell_key` "
             "is refused) and by week at the finest (`period=day` is refused, `since` and `until` are "
             "widened to whole weeks, Monday to Monday, as the answer's `since` and `until` say), "
             "without status, category, level or period for the issues of parts withheld "
             "(`suppressed`, by the places asked for) and of rows withheld (`withheld`, by the places "
             "asked for); `rounded_to` is the multiple counts are rounded to (1: exact); each figure "
             f"of their `summary` is given (counts rounded too) only when its own issues are of {MIN_BIN} "
             "households or people at least (the total's all of them, the on-time share's those "
             "resolved or open past their deadline, the median's those closed), else it is null and "
             "named in `summary_withheld` (a figure of no issue too; all of them when the issues are of "
             f"fewer than {MIN_BIN}); `summary_withheld` is [] for exact callers. " + _PARTS_DOC)
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
    of hexagons whose issues are of enough subjects to count them.  Of those, a
    hexagon's ``issues`` of fewer than ``MIN_BIN`` subjects are given as ``withheld``,
    its ``open`` and ``overdue`` of fewer as 0, all three rounded to ``ROUND_TO``."""
    parts, sizes, subjects = _withholding(frame)
    chosen = pd.Series(True, index=frame.index)
    if statuses:
        chosen &= frame["status"].isin(statuses)
    if categories:
        chosen &= frame["category"].isin(categories)
    open_ = frame["status"].isin(OPEN_STATUSES)
    due = pd.to_datetime(frame["due_at"], utc=True)
    overdue = open_ & due.notna() & (due < pd.Timestamp(now))
    # the parts: every issue of a part of too few subjects suppressed, whatever the filter
    bins = withhold_hexagons({}, resolution, sizes=sizes, subjects=subjects, cell=_hexagon)
    answered = answered_resolution(resolution)
    counted = {p for p in sizes if subjects.get(p, 0) >= MIN_BIN}
    parent = {p: (p[2] if answered == SUPPRESSION_RESOLUTION else h3.cell_to_parent(p[2], answered))
              for p in counted}
    # the rows of each hexagon: the issues the filter matches in its counted parts, and
    # the open and overdue ones among them, each with its subjects
    counts: dict = defaultdict(lambda: dict.fromkeys(HOTSPOT_COUNTS, 0))
    who: dict = defaultdict(lambda: {k: set() for k in HOTSPOT_COUNTS})
    for part, take, o, late, subject in zip(parts, chosen, open_, overdue, frame[SUBJECT]):
        if take and part in parent:
            cell = parent[part]
            c, w = counts[cell], who[cell]
            for key, is_ in (("issues", True), ("open", o), ("overdue", late)):
                if is_:
                    c[key] += 1
                    if subject is not None and subject == subject:
                        w[key].add(subject)
    rows = withhold_rows({cell: {"issues": c["issues"]} for cell, c in counts.items()},
                         {cell: {"issues": len(w["issues"])} for cell, w in who.items()})
    features = []
    for cell in sorted({*bins, *rows}):
        if box is not None:
            lat, lon = h3.cell_to_latlng(cell)
            if not (box[0] <= lon <= box[2] and box[1] <= lat <= box[3]):
                continue
        shown = rows.get(cell, {})
        props = {"h3": cell, "issues": shown.get("issues", 0), "open": 0, "overdue": 0,
                 "suppressed": bins.get(cell, {}).get(SUPPRESSED, 0), WITHHELD: shown.get(WITHHELD, 0)}
        if props["issues"]:  # open and overdue: rows of the issues given
            for key in ("open", "overdue"):
                if len(who[cell][key]) >= MIN_BIN:
                    props[key] = rounded(counts[cell][key])
        if props["issues"] or props["suppressed"] or props[WITHHELD]:
            features.append({"type": "Feature", "id": cell, "geometry": hexagon(cell), "properties": props})
    features.sort(key=lambda f: (-f["properties"]["issues"], -f["properties"]["suppressed"],
                                 -f["properties"][WITHHELD], f["id"]))
    return features, answered


# --- statistics -------------------------------------------------------------------------------
def analyst_summary(frame: pd.DataFrame, now: dt.datetime) -> tuple[dict, list[str]]:
    """``(summary, withheld)``: :func:`geogrid.issues.stats.summary` as an analyst is told
    it, and the names of its figures not given.

    Each figure is a row of the issues it counts, and is given only when they are of at
    least ``MIN_BIN`` subjects, as a row of the breakdown is: the total, open, closed and
    overdue issues (rounded to ``ROUND_TO``), the on-time share (its issues: those
    resolved and those open past their deadline) and the median time to close (the
    closed issues).  Else it is None and named in ``withheld`` (a figure of no issue
    too, as a row of none is not given): an analyst of one village asking for one week
    read that one household's issue was overdue, and of ten people's issues with one
    closed, how long that one took and whether on time."""
    out = stats.summary(frame, now)
    if not len(frame):
        return {k: None for k in out}, list(out)
    subject = frame[SUBJECT]
    status = frame["status"]
    due = pd.to_datetime(frame["due_at"], utc=True)
    resolved = pd.to_datetime(frame["resolved_at"], utc=True)
    closed_at = pd.to_datetime(frame["closed_at"], utc=True)
    open_ = status.isin(OPEN_STATUSES)
    overdue = open_ & due.notna() & (due < pd.Timestamp(now))
    counted = status != "rejected"
    of = {  # the issues each figure counts (stats.summary, on_time_share, median_hours_to_close)
        "total": pd.Series(True, index=frame.index),
        "open": open_,
        "closed": status.isin(CLOSED_STATUSES),
        "overdue": overdue,
        "on_time_share": (resolved.notna() & counted) | (overdue & counted),
        "median_hours_to_close": closed_at.notna() & status.isin(("closed", "rated")),
    }
    if distinct_subjects([0] * len(frame), subject).get(0, 0) < MIN_BIN:
        return {k: None for k in out}, list(out)
    summary, withheld = {}, []
    for key, value in out.items():
        mask = of[key]
        if distinct_subjects([0] * int(mask.sum()), subject[mask]).get(0, 0) < MIN_BIN:
            summary[key] = None
            withheld.append(key)
        else:
            summary[key] = rounded(value) if key in ("total", "open", "closed", "overdue") else value
    return summary, withheld


def analyst_window(period: str | None, since: dt.date | None,
                   until: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """``(since, until)`` widened to whole weeks (``since`` back to its Monday, ``until``
    on to the next Monday but one on a Monday), the finest time an analyst is told.

    Raises PermissionDeniedError for ``period="day"``.

    >>> analyst_window("week", dt.date(2025, 3, 5), dt.date(2025, 3, 6))
    (datetime.date(2025, 3, 3), datetime.date(2025, 3, 10))
    """
    if period == "day":
        raise PermissionDeniedError(
            "analysts are told issue counts by week at the finest, not by day (a day's issues of a "
            "micro-grid are most days one household's): ask for period=week",
            key="stats.period_too_fine", params={"period": period})
    if since is not None:
        since = since - dt.timedelta(days=since.weekday())
    if until is not None:
        until = until + dt.timedelta(days=-until.weekday() % 7)
    return since, until


def withheld_counts(frame: pd.DataFrame, groups: list[str], period: str | None, *,
                    whole: pd.DataFrame | None = None) -> tuple[list[dict], list[dict], list[dict]]:
    """``(counts, suppressed, withheld)`` for a caller who may not read the issues.

    ``counts``: the rows of :func:`geogrid.issues.stats.counts` by ``groups`` (and
    ``period``) of the issues of ``frame`` in parts of enough subjects, summed over the
    places ``groups`` names, each of at least ``MIN_BIN`` subjects and rounded to
    ``ROUND_TO``; ``suppressed``: the issues of the other parts by those places alone;
    ``withheld``: the issues of the rows of fewer subjects by those places alone,
    rounded (a place whose sum rounds to 0 is left out).

    ``whole`` is every issue of the caller's scope, of every period (``frame`` is the
    issues of the period asked for): the parts are withheld by its subjects, and
    ``suppressed`` counts its issues, the same for every period.  Without it ``frame``
    decides.  Rows are withheld by their own issues' subjects.

    Raises PermissionDeniedError for a place finer than a micro-grid or a period
    finer than a week."""
    too_fine = [g for g in groups if g in _TOO_FINE]
    if too_fine:
        raise PermissionDeniedError(
            f"analysts are told issue counts by micro-grid at the finest, not by {', '.join(too_fine)}: "
            "group by microgrid_key or village_code", key="stats.too_fine", params={"groups": too_fine})
    unknown = [g for g in groups if g not in stats.GROUPS]
    if unknown:
        raise InputError(f"cannot group by {unknown}; use any of {', '.join(stats.GROUPS)}",
                         key="stats.unknown_group", params={"groups": unknown})
    analyst_window(period, None, None)
    places = [g for g in groups if g in PLACES]
    attributes = [g for g in groups if g not in PLACES]
    keys = frame[attributes].astype(object).where(frame[attributes].notna(), "")
    if period:
        keys["period"] = stats.period_labels(frame, period)
    _, sizes, subjects = _withholding(frame if whole is None else whole)
    at = [PLACES.index(p) for p in places]

    def place_of(part):
        return tuple(part[i] for i in at)

    counted = {p for p in sizes if subjects.get(p, 0) >= MIN_BIN}
    held: dict = defaultdict(int)
    for part, n in sizes.items():
        if part not in counted:
            held[place_of(part)] += n
    counts: dict = defaultdict(lambda: defaultdict(int))
    who: dict = defaultdict(lambda: defaultdict(set))
    for part, key, subject in zip(_parts(frame), keys.itertuples(index=False, name=None), frame[SUBJECT]):
        if part in counted:
            place = place_of(part)
            counts[place][key] += 1
            if subject is not None and subject == subject:
                who[place][key].add(subject)
    bins = withhold_rows(counts, {place: {key: len(s) for key, s in by.items()} for place, by in who.items()})
    columns = [*groups, *(["period"] if period else [])]  # stats.counts' order
    key_names = [*attributes, *(["period"] if period else [])]
    rows, withheld = [], []
    for place, by_key in bins.items():
        where = dict(zip(places, place))
        for key, n in by_key.items():
            if key == WITHHELD:
                withheld.append({**where, "count": n})
            else:
                values = {**where, **dict(zip(key_names, key))}
                rows.append({**{c: values[c] for c in columns}, "count": n})
    if not columns:  # one row, as stats.counts gives: the issues of the parts counted
        rows = [{"count": sum(r["count"] for r in rows)}]
    suppressed = [{**dict(zip(places, place)), "count": n} for place, n in held.items() if n]
    rows.sort(key=lambda r: tuple(str(r[c]) for c in columns))
    for figures in (suppressed, withheld):
        figures.sort(key=lambda r: tuple(str(r[c]) for c in places))
    return rows, suppressed, withheld

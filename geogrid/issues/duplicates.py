"""Possible duplicates: the same category, within a radius and a time window.

>>> import datetime as dt
>>> t = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
>>> old = Reported("a", "sanitation", 109.2, 27.3, t, "accepted")
>>> [s.issue_id for s in suggest_duplicates("sanitation", 109.2003, 27.3, t, [old])]
['a']
>>> suggest_duplicates("safety", 109.2003, 27.3, t, [old])
[]
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Reported", "Suggestion", "suggest_duplicates", "distance_m", "DEFAULT_RADIUS_M",
           "DEFAULT_WINDOW_DAYS"]

DEFAULT_RADIUS_M = 100.0
DEFAULT_WINDOW_DAYS = 7.0
_EARTH_M = 6_371_008.8


@dataclass(frozen=True)
class Reported:
    """An existing issue, as much as duplicate detection needs."""

    issue_id: str
    category: str
    lon: float
    lat: float
    reported_at: dt.datetime
    status: str


@dataclass(frozen=True)
class Suggestion:
    issue_id: str
    distance_m: float
    reported_at: dt.datetime
    status: str


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def suggest_duplicates(category: str, lon: float, lat: float, at: dt.datetime,
                       existing: Iterable[Reported], *, radius_m: float = DEFAULT_RADIUS_M,
                       window_days: float = DEFAULT_WINDOW_DAYS,
                       exclude: str | None = None) -> list[Suggestion]:
    """Existing issues of ``category`` within ``radius_m`` of (lon, lat) reported within
    ``window_days`` before or after ``at``, nearest first.  Rejected issues are not
    suggested (a duplicate of a rejected report is not a duplicate)."""
    window = dt.timedelta(days=window_days)
    out = []
    for r in existing:
        if r.issue_id == exclude or r.category != category or r.status == "rejected":
            continue
        if abs(r.reported_at - at) > window:
            continue
        d = distance_m(lon, lat, r.lon, r.lat)
        if d <= radius_m:
            out.append(Suggestion(r.issue_id, round(d, 1), r.reported_at, r.status))
    return sorted(out, key=lambda s: (s.distance_m, s.issue_id))


def search_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box containing the circle of ``radius_m`` around (lon, lat)."""
    dlat = math.degrees(radius_m / _EARTH_M)
    dlon = dlat / max(0.01, math.cos(math.radians(lat)))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat

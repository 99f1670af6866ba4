"""Statistics of issues: counts, share resolved on time, time to close, H3 hotspots, CSV.

Every function takes a DataFrame of issues (one row per issue, as
:func:`geogrid.db.issues.issues_frame` returns) and does not modify it.  Columns used::

    id, status, category, level, village_code, microgrid_key, cell_key,
    reported_at, due_at, resolved_at, closed_at, lon, lat       (times UTC-aware)

>>> import datetime as dt, pandas as pd
>>> t = pd.Timestamp("2025-01-01", tz="UTC")
>>> df = pd.DataFrame({"id": ["a", "b"], "status": ["closed", "reported"],
...     "category": ["sanitation"] * 2, "reported_at": [t, t],
...     "due_at": [t + pd.Timedelta(days=3)] * 2,
...     "resolved_at": [t + pd.Timedelta(days=1), pd.NaT],
...     "closed_at": [t + pd.Timedelta(days=2), pd.NaT]})
>>> counts(df, ["status"])["count"].tolist()
[1, 1]
>>> median_hours_to_close(df)
48.0
"""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd

from geogrid.issues.workflow import CLOSED_STATUSES, OPEN_STATUSES

__all__ = ["GROUPS", "PERIODS", "TZ", "day_start", "counts", "on_time_share", "median_hours_to_close",
           "summary", "hotspots", "period_labels", "export_table", "csv_bytes", "write_csv"]

#: Columns issues may be grouped by.
GROUPS = ("status", "category", "level", "village_code", "microgrid_key", "cell_key")
#: Period lengths for time series (pandas period aliases; a week runs Monday to Sunday,
#: "W-SUN" being weeks that end on a Sunday).
PERIODS = {"day": "D", "week": "W-SUN", "month": "M", "year": "Y"}
#: The time zone whose midnight begins a day of the statistics: China Standard Time.
TZ = "Asia/Shanghai"


def day_start(day: dt.date, tz: str = TZ) -> dt.datetime:
    """The instant (UTC) the calendar ``day`` begins in ``tz``, as the periods count
    days: a request's ``since``/``until`` date means China's midnight, not UTC's.

    >>> day_start(dt.date(2025, 3, 4))
    datetime.datetime(2025, 3, 3, 16, 0, tzinfo=datetime.timezone.utc)
    """
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(), ZoneInfo(tz)).astimezone(dt.UTC)


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def counts(df: pd.DataFrame, by: list[str] | tuple[str, ...] = ("status",),
           period: str | None = None, tz: str = TZ) -> pd.DataFrame:
    """Number of issues per combination of ``by`` (and reporting ``period``, whose days
    begin at midnight in ``tz``: China Standard Time by default)."""
    by = list(by)
    bad = [b for b in by if b not in GROUPS]
    if bad:
        from geogrid.errors import InputError

        raise InputError(f"cannot group by {bad}; use any of {', '.join(GROUPS)}",
                         key="stats.unknown_group", params={"groups": bad})
    frame = df[by].copy() if by else pd.DataFrame(index=df.index)
    if period is not None:
        frame["period"] = period_labels(df, period, tz)
        by = by + ["period"]
    if not by:
        return pd.DataFrame({"count": [len(df)]})
    if frame.empty:
        return pd.DataFrame(columns=[*by, "count"])
    out = frame.fillna("").groupby(by, sort=True).size().reset_index(name="count")
    return out


def period_labels(df: pd.DataFrame, period: str, tz: str = TZ) -> pd.Series:
    """The reporting period of each issue, as :func:`counts` labels it: the day it
    begins (``YYYY-MM-DD``), days beginning at midnight in ``tz``."""
    if period not in PERIODS:
        from geogrid.errors import InputError

        raise InputError(f"period must be one of {', '.join(PERIODS)}",
                         key="stats.period", params={"period": period})
    reported = _utc(df["reported_at"]).dt.tz_convert(tz).dt.tz_localize(None)
    return reported.dt.to_period(PERIODS[period]).dt.start_time.dt.strftime("%Y-%m-%d")


def on_time_share(df: pd.DataFrame, now: dt.datetime) -> float | None:
    """Resolved by the deadline, as a share of the issues whose outcome is known: those
    resolved (on time or late) and those still open past their deadline.  Rejected
    issues do not count.  None when there are none."""
    if df.empty:
        return None
    due = _utc(df["due_at"])
    resolved = _utc(df["resolved_at"])
    status = df["status"]
    counted = status != "rejected"
    done = resolved.notna() & counted
    late_open = status.isin(OPEN_STATUSES) & due.notna() & (due < pd.Timestamp(now)) & counted
    denominator = int(done.sum() + late_open.sum())
    if denominator == 0:
        return None
    on_time = int((done & (resolved <= due)).sum())
    return round(on_time / denominator, 4)


def median_hours_to_close(df: pd.DataFrame) -> float | None:
    """Median hours from report to close, over closed (and rated) issues."""
    if df.empty:
        return None
    closed = _utc(df["closed_at"])
    mask = closed.notna() & df["status"].isin(("closed", "rated"))
    if not mask.any():
        return None
    hours = (closed[mask] - _utc(df["reported_at"])[mask]).dt.total_seconds() / 3600.0
    return round(float(hours.median()), 2)


def summary(df: pd.DataFrame, now: dt.datetime) -> dict:
    """Totals, open/closed/overdue counts, on-time share and median time to close."""
    due = _utc(df["due_at"]) if len(df) else pd.Series([], dtype="datetime64[ns, UTC]")
    open_ = df["status"].isin(OPEN_STATUSES) if len(df) else pd.Series([], dtype=bool)
    overdue = int((open_ & due.notna() & (due < pd.Timestamp(now))).sum()) if len(df) else 0
    return {
        "total": int(len(df)),
        "open": int(open_.sum()) if len(df) else 0,
        "closed": int(df["status"].isin(CLOSED_STATUSES).sum()) if len(df) else 0,
        "overdue": overdue,
        "on_time_share": on_time_share(df, now),
        "median_hours_to_close": median_hours_to_close(df),
    }


def hotspots(df: pd.DataFrame, resolution: int = 8, now: dt.datetime | None = None) -> list[dict]:
    """GeoJSON features of H3 hexagons with issue counts (total, open, overdue) per hexagon."""
    import h3

    if df.empty:
        return []
    cells = [h3.latlng_to_cell(float(lat), float(lon), resolution)
             for lon, lat in zip(df["lon"], df["lat"])]
    frame = pd.DataFrame({"h3": cells, "open": df["status"].isin(OPEN_STATUSES).to_numpy()})
    if now is not None and "due_at" in df:
        due = _utc(df["due_at"])
        frame["overdue"] = (frame["open"].to_numpy() & due.notna().to_numpy()
                            & (due < pd.Timestamp(now)).to_numpy())
    else:
        frame["overdue"] = False
    agg = frame.groupby("h3").agg(issues=("h3", "size"), open=("open", "sum"),
                                  overdue=("overdue", "sum")).reset_index()
    features = []
    for row in agg.sort_values(["issues", "h3"], ascending=[False, True]).itertuples():
        ring = [[round(x, 6), round(y, 6)] for y, x in h3.cell_to_boundary(row.h3)]
        ring.append(ring[0])
        features.append({"type": "Feature", "id": row.h3,
                         "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": {"h3": row.h3, "issues": int(row.issues),
                                        "open": int(row.open), "overdue": int(row.overdue)}})
    return features


EXPORT_COLUMNS = ("id", "category", "status", "level", "priority", "source", "description",
                  "address", "village_code", "microgrid_key", "cell_key", "near_boundary",
                  "handler_department", "reported_at", "due_at", "resolved_at", "closed_at",
                  "supervised", "rating", "lon", "lat")


def export_table(df: pd.DataFrame, tz: str = TZ) -> pd.DataFrame:
    """The columns of the CSV export, times as ISO text in ``tz`` with its offset
    (``2025-03-03T09:00:00+08:00``): read in a county office, a time is China's."""
    out = pd.DataFrame({c: df[c] if c in df else None for c in EXPORT_COLUMNS})
    for c in ("reported_at", "due_at", "resolved_at", "closed_at"):
        t = _utc(out[c])
        text = t.dt.tz_convert(tz).dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(
            r"([+-]\d\d)(\d\d)$", r"\1:\2", regex=True)
        out[c] = text.where(t.notna(), None)
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The export as UTF-8 CSV (with BOM, for Excel), every text cell formula-safe."""
    from geogrid.io import escape_formulas

    return escape_formulas(export_table(df)).to_csv(index=False).encode("utf-8-sig")


def write_csv(df: pd.DataFrame, path: str | os.PathLike):
    """Write the export with :func:`geogrid.io.write_table` (formula-safe, atomic)."""
    from geogrid.io import write_table

    return write_table(export_table(df), path)

"""Deadlines and supervision (督办), with an injectable clock.

An issue is due ``category.deadline_days`` after it was reported (after a reopen, that
long after the reopen).  While it is open (reported, accepted, dispatched, in progress)
and past due it is *overdue*; the supervision sweep flags it as supervised and the
handler's superiors (cadres covering it at a level above the issue's) see it in their
inbox.  Nothing here reads the wall clock except :class:`SystemClock`; tests pass a
:class:`FixedClock` and move it.

>>> import datetime as dt
>>> clock = FixedClock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
>>> due = due_at(clock.now(), 3)
>>> is_overdue("dispatched", due, clock.now())
False
>>> clock.advance(days=3, seconds=1)
>>> is_overdue("dispatched", due, clock.now()), is_overdue("resolved", due, clock.now())
(True, False)
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from geogrid.issues.workflow import LEVELS, OPEN_STATUSES, level_rank, next_level

__all__ = ["Clock", "SystemClock", "FixedClock", "due_at", "is_overdue", "overdue_by", "time_left",
           "supervision_level", "resolved_on_time"]


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that stands still until moved (tests, replays)."""

    def __init__(self, at: dt.datetime | None = None):
        self._at = _aware(at or dt.datetime(2025, 1, 1, tzinfo=dt.UTC))

    def now(self) -> dt.datetime:
        return self._at

    def set(self, at: dt.datetime) -> None:
        self._at = _aware(at)

    def advance(self, **delta) -> None:
        """Move forward by ``datetime.timedelta(**delta)``."""
        self._at = self._at + dt.timedelta(**delta)


def _aware(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def due_at(start: dt.datetime, deadline_days: float) -> dt.datetime:
    """When an issue started at ``start`` with ``deadline_days`` is due."""
    return _aware(start) + dt.timedelta(days=float(deadline_days))


def is_overdue(status: str, due: dt.datetime | None, now: dt.datetime) -> bool:
    """True if the issue is still open and past ``due``."""
    return due is not None and status in OPEN_STATUSES and _aware(now) > _aware(due)


def time_left(status: str, due: dt.datetime | None, now: dt.datetime) -> dt.timedelta | None:
    """How long until ``due`` while the issue is open, negative once it is overdue (by
    that long); None for an issue no longer open or without a deadline.

    >>> now = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
    >>> time_left("dispatched", now - dt.timedelta(hours=2), now)
    datetime.timedelta(days=-1, seconds=79200)
    >>> time_left("closed", now, now) is None
    True
    """
    if due is None or status not in OPEN_STATUSES:
        return None
    return _aware(due) - _aware(now)


def overdue_by(due: dt.datetime | None, now: dt.datetime) -> dt.timedelta:
    """How long past due (zero if not yet due)."""
    if due is None:
        return dt.timedelta(0)
    return max(dt.timedelta(0), _aware(now) - _aware(due))


def supervision_level(issue_level: str, overdue: dt.timedelta,
                      deadline_days: float) -> str:
    """Which level supervises an overdue issue: one level above its handler's, and one
    more for every further full deadline it stays overdue (capped at county).

    >>> supervision_level("cell", dt.timedelta(hours=1), 3)
    'village'
    >>> supervision_level("cell", dt.timedelta(days=4), 3)
    'town'
    >>> supervision_level("county", dt.timedelta(days=1), 3)
    'county'
    """
    level = next_level(issue_level) or "county"
    extra = int(overdue / dt.timedelta(days=float(deadline_days))) if deadline_days > 0 else 0
    rank = min(len(LEVELS) - 1, level_rank(level) + extra)
    return LEVELS[rank]


def resolved_on_time(resolved: dt.datetime | None, due: dt.datetime | None) -> bool | None:
    """True/False once resolved; None while unresolved."""
    if resolved is None or due is None:
        return None
    return _aware(resolved) <= _aware(due)

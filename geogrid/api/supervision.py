"""The supervision sweep (督办), run by the server itself.

Open issues past their deadline are flagged as supervised, and their supervising level
raised as they stay overdue (:func:`geogrid.db.issues.supervise_overdue`), at start and
then every ``GEOGRID_ISSUES_SUPERVISION_INTERVAL_S`` seconds, on the issue clock
(``app.state.issues``).  With ``geogrid serve --workers N`` every worker sweeps; the
flag is written only if no other sweep wrote it first, so an issue is flagged (and its
timeline told) once per level.  A sweep that fails (the database away) is logged and
tried again at the next interval; it never stops the server.
"""

from __future__ import annotations

import asyncio
import logging

import anyio.to_thread
from fastapi import FastAPI

__all__ = ["sweep_once", "run_sweeps"]

log = logging.getLogger(__name__)


def sweep_once(app: FastAPI) -> list[str]:
    """Flag the overdue issues now; returns the ids of those whose flag changed."""
    from geogrid.db import issues as repo
    from geogrid.db.engine import session_scope

    c = app.state.issues
    with session_scope(app.state.sessionmaker, write=True) as session:
        return repo.supervise_overdue(session, now=c.now(), catalogue=c.catalogue)


async def run_sweeps(app: FastAPI, interval_s: float) -> None:
    """Sweep at once, then every ``interval_s`` seconds, until cancelled."""
    while True:
        try:
            changed = await anyio.to_thread.run_sync(sweep_once, app)
            if changed:
                log.info("supervision: %d overdue issue(s) flagged", len(changed))
        except Exception:  # noqa: BLE001 - logged; the next sweep tries again
            log.exception("supervision sweep failed; trying again in %g s", interval_s)
        await asyncio.sleep(interval_s)

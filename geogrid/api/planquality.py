"""A stored plan's quality figures, as the API gives them (``GET /plans/{id}/quality``).

The figures are the partition engine's own (:func:`geogrid.partition.report.result_figures`,
imported lazily: the API starts without the engine), measured on the plan as it is
now, hand edits included, so that a planner sees what an edit did to the fill, the
cells above the minimum, the compactness and the small hamlets kept whole, against
the issue's targets and, with ``compare``, against another plan (the published one).

Scope: the micro-grids the caller's scope covers.  A caller who covers whole villages
gets every figure of those villages; one who covers only some micro-grids of a
village (a micro-grid's or a cell's leader) gets the figures of those micro-grids,
without the ones that are about whole villages (their number of micro-grids, the
micro-grids' areas against the village's mean, the cells above the village's
minimum), which part of a village cannot give.  Whole villages' ``households`` count those
of the register the plan puts in no cell (added since it was made), as the engine's
do; ``households_assigned`` does not.  Only aggregates go out: no household is named.
"""

from __future__ import annotations

import math

from sqlalchemy import func, select

from geogrid import columns as C
from geogrid.api.scope import Scope
from geogrid.db.models import Assignment, Household, Microgrid, Plan
from geogrid.errors import NotFoundError, PartitionError

__all__ = ["plan_quality", "VILLAGE_FIGURES"]

#: figures about whole villages: left out where the scope holds part of a village only
VILLAGE_FIGURES = ("villages", "villages_at_target_microgrids", "villages_below_target_microgrids",
                   "microgrid_area_within_25pct", "cells_above_village_minimum")


def plan_quality(session, plan: Plan, *, scope: Scope, village: str | None = None,
                 compare: Plan | None = None) -> dict:
    """``{"villages": [...], "whole_villages": bool, "figures": {...}, "targets":
    {figure: {"op", "value", "met"}}, "compare": {"plan_id", "figures", "targets"} or
    None}`` for the micro-grids of ``plan`` in ``scope`` (of ``village`` only if given).

    Raises NotFoundError where the scope covers none of the plan's micro-grids (there)."""
    keys, villages, whole = _in_scope(session, plan, scope, village)
    if not keys:
        where = f" in village {village}" if village else ""
        raise NotFoundError(f"plan {plan.id} has no micro-grid{where} within your scope",
                            key="plan.none_in_scope", params={"plan": plan.id, "village": village})
    out = {"villages": villages, "whole_villages": whole,
           **_figures(session, plan, villages, None if whole else keys), "compare": None}
    if compare is not None:
        # the same villages of the other plan (its micro-grids there within the scope)
        other_keys, _, other_whole = _in_scope(session, compare, scope, village, villages)
        got = (_figures(session, compare, villages, None if other_whole and whole else other_keys)
               if other_keys else {"figures": {}, "targets": {}})
        out["compare"] = {"plan_id": compare.id, "status": compare.status, **got}
    return out


def _in_scope(session, plan: Plan, scope: Scope, village: str | None, villages=None):
    """``(micro-grid keys, their villages, whether the scope covers those villages
    whole)`` of ``plan`` within ``scope`` (and ``village``, and ``villages``)."""
    stmt = select(Microgrid.microgrid_key, Microgrid.village_code).where(
        Microgrid.plan_id == plan.id, scope.microgrids_clause())
    if village is not None:
        stmt = stmt.where(Microgrid.village_code == village)
    if villages is not None:
        stmt = stmt.where(Microgrid.village_code.in_(list(villages)))
    rows = session.execute(stmt).all()
    codes = sorted({str(v) for _, v in rows if v is not None})
    whole = all(scope.covers_village(v) for v in codes)
    return sorted(k for k, _ in rows), codes, whole


def _figures(session, plan: Plan, villages: list[str], keys: list[str] | None) -> dict:
    try:
        from geogrid.partition.report import TARGETS, result_figures
        from geogrid.partition.result import PartitionResult
        from geogrid.partition.solve import PLAN_PARAMETERS
    except ImportError as exc:  # the engine is another issue's work
        raise PartitionError(f"the partition engine is not available ({exc}); install geogrid "
                             "with geogrid.partition to measure a plan", key="plan.engine_missing") from None
    from geogrid.db.plans import load_plan

    frames = load_plan(session, plan.id, villages)
    hh, mgs, cells = frames.households, frames.microgrids, frames.cells
    if keys is not None:
        keep = set(keys)
        mgs = mgs[mgs[C.MICROGRID_ID].isin(keep)]
        cells = cells[cells[C.MICROGRID_ID].isin(keep)]
        hh = hh[hh[C.MICROGRID_ID].isin(keep)]
    params = {k: v for k, v in (plan.params or {}).items() if k in PLAN_PARAMETERS}
    figures = result_figures(PartitionResult(households=hh, microgrids=mgs, cells=cells,
                                             report={"parameters": params}))
    if keys is not None:
        figures = {k: v for k, v in figures.items() if k not in VILLAGE_FIGURES}
    else:
        # the villages' households in none of the plan's cells (the register's since the
        # plan was made): the engine counts them among its households, as the plan's
        # listing shows them (no cell); part of a village cannot tell which are its
        figures["households"] += _in_no_cell(session, plan, villages)
    figures = {k: _plain(v) for k, v in figures.items()}
    targets = {}
    for k, (op, value) in TARGETS.items():
        if k in figures:
            v = figures[k]
            met = None if v is None else bool(v >= value if op == ">=" else v <= value)
            targets[k] = {"op": op, "value": value, "met": met}
    return {"figures": figures, "targets": targets}


def _in_no_cell(session, plan: Plan, villages: list[str]) -> int:
    """How many of the register's households of ``villages`` the plan assigns to no cell."""
    if not villages:
        return 0
    placed = select(Assignment.household_id).where(Assignment.plan_id == plan.id,
                                                   Assignment.household_id == Household.id)
    return int(session.execute(select(func.count()).select_from(Household).where(
        Household.village_code.in_(list(villages)), Household.removed_at.is_(None), ~placed.exists())).scalar())


def _plain(v):
    """A figure as JSON takes it: None for NaN (no small hamlet, no household)."""
    if isinstance(v, float) and math.isnan(v):
        return None
    return v

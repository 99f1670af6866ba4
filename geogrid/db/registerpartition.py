"""The register partitioned into a plan: the households and village outlines read
from the database as the engine takes them (:func:`read_register`), the engine run on
them (:func:`partition_register`, what ``geogrid partition`` without a file does),
the notes of what lies beyond the run (:func:`beyond_the_run`), and the result saved
as a draft or published plan (:mod:`geogrid.db.plans`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from geogrid import columns as C
from geogrid.db.models import utcnow
from geogrid.db.plans import SavedPartition, county_of_villages, save_partition
from geogrid.errors import ValidationError

__all__ = ["RegisterInputs", "read_register", "partition_register", "beyond_the_run"]

@dataclass
class RegisterInputs:
    """What :func:`partition_register` reads from the database: the households (of the
    villages asked for) and the village outlines to cut them by, ``None`` when the
    register has no outline at all (the engine then derives outlines from households)."""

    households: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame | None
    #: when the read began (:func:`geogrid.db.planregister.read_now`), kept with the plan
    read_at: str | None = None


def read_register(session: Session, village_codes=None) -> RegisterInputs:
    """The households of ``village_codes`` (all: None) and the village outlines, as
    :func:`partition_register` partitions them.

    A subset gets the outlines of its villages only, possibly none: its households of a
    village with no outline are then left out with a ``no_village`` note, as a run over
    the whole register leaves them out.  Outlines are derived from the households only
    when the register has no village outline at all.

    Raises :class:`~geogrid.errors.ValidationError` when there is nothing to partition:
    no households in the register, or a code of ``village_codes`` no household carries
    (a typo would otherwise give a plan short of a village without a word).
    """
    from geogrid.db.areas import villages_frame
    from geogrid.db.households import households_frame
    from geogrid.db.planregister import read_now

    read_at = read_now()
    codes = None
    if village_codes is not None:
        codes = list(dict.fromkeys(str(c) for c in village_codes))
        if not codes:
            raise ValidationError("no village codes were given: name the villages to partition, "
                                  "or none for the whole register")
    households = households_frame(session, village_codes=codes)
    if codes is not None:
        have = set(households[C.VILLAGE_CODE].dropna()) if len(households) else set()
        unknown = [c for c in codes if c not in have]
        if unknown:
            raise ValidationError(_unknown_villages(unknown))
    elif households.empty:
        raise ValidationError("the register has no households to partition; import some first")
    villages = villages_frame(session)
    villages = villages[villages.geometry.notna()]
    if villages.empty:
        return RegisterInputs(households=households, villages=None, read_at=read_at)
    if codes is not None:
        villages = villages[villages[C.VILLAGE_CODE].isin(codes)]
    return RegisterInputs(households=households, villages=villages, read_at=read_at)


def _unknown_villages(codes: list[str]) -> str:
    shown = ", ".join(codes[:10]) + (f" and {len(codes) - 10} more" if len(codes) > 10 else "")
    if len(codes) == 1:
        what = f"no village with code {shown} has households in the register"
    else:
        what = f"no villages with codes {shown} have households in the register"
    return (f"{what}; correct the code{'s' if len(codes) > 1 else ''} or leave "
            f"{'them' if len(codes) > 1 else 'it'} out (geogrid import households loads a "
            "village's households). Nothing was written")


def partition_register(bind: Session | Engine, *, name: str | None = None,
                       created_by: str | None = None, county_code: str | None = None,
                       village_codes=None, progress=None, publish: bool = False,
                       **params) -> SavedPartition:
    """Partition the households in the database into a new draft plan.

    Reads households and village outlines (:func:`read_register`), calls
    :func:`geogrid.partition.partition` with ``params`` (``max_households``,
    ``microgrid_km2``, ``seed``...) and saves the result with :func:`save_partition`;
    ``progress`` is passed to it, not saved.  With ``publish`` the new plan is published
    in the transaction that saves it, archiving the county's plan published before.

    Parameters
    ----------
    bind : Session or Engine
        A session: all of it in the caller's transaction, which the caller owns (and
        which stays open while the partition is computed).  An engine: the register is
        read in a transaction of its own, which ends before the partition is computed,
        so no transaction and no lock is held for the computation (a county takes
        minutes; on SpatiaLite a write lock held that long makes every other writer
        fail once its busy timeout runs out); the plan is then saved, all or nothing,
        in a write transaction that is committed.  The plan is of the register as read:
        an edit made meanwhile is in it no more than one made just after.
    county_code
        Defaults to the first six digits of the micro-grids' village codes, or of the
        households' when every household was left out.
    """
    from geogrid.partition import partition

    if isinstance(bind, Session):
        inputs = read_register(bind, village_codes)
        result = partition(inputs.households, inputs.villages, progress=progress, **params)
        if village_codes is not None:
            result.report.setdefault("diagnostics", []).extend(beyond_the_run(bind, inputs, result))
        return _save_register_partition(bind, result, inputs, name, created_by, county_code,
                                        publish, params)
    from geogrid.db.engine import session_scope

    with session_scope(bind) as session:  # a read: on SpatiaLite no write lock
        inputs = read_register(session, village_codes)
    result = partition(inputs.households, inputs.villages, progress=progress, **params)
    if village_codes is not None:
        with session_scope(bind) as session:
            result.report.setdefault("diagnostics", []).extend(beyond_the_run(session, inputs, result))
    with session_scope(bind, write=True) as session:
        return _save_register_partition(session, result, inputs, name, created_by, county_code,
                                        publish, params)


def beyond_the_run(session: Session, inputs: RegisterInputs, result) -> list[dict]:
    """The engine's notes between a run's villages and the others, which a run over some
    villages (``village_codes``) cannot make, as it reads no other village:

    - ``villages_overlap``: a run's village outline overlapping another village's (the
      engine's own test, :func:`geogrid.partition.inputs.overlapping_outlines`);
    - ``address_beyond_run``: households of the run at the point (to the centimetre) of
      households registered in a village not in the run.  A run over both villages
      would leave one village's households out (the village most of them belong to
      keeps the address); this one cannot tell, and says so.
    """
    from geogrid.crs import local_metric_crs
    from geogrid.db.areas import villages_frame
    from geogrid.partition.inputs import overlapping_outlines
    from geogrid.partition.result import diagnostic
    from geogrid.partition.units import address_keys

    hh = inputs.households
    run = set(hh[C.VILLAGE_CODE].dropna().astype(str)) if len(hh) else set()
    if not run:
        return []
    x0, y0, x1, y1 = hh.total_bounds
    metric = local_metric_crs((x0 + x1) / 2, (y0 + y1) / 2)
    notes: list[dict] = []
    # outlines: the run's against the others' that meet them
    vv = villages_frame(session)
    vv = vv[vv.geometry.notna()]
    mine = vv[vv[C.VILLAGE_CODE].isin(run)]
    if len(mine):
        near = vv[~vv[C.VILLAGE_CODE].isin(run) & vv.intersects(mine.union_all())]
        if len(near):
            both = pd.concat([mine, near]).to_crs(metric)
            polys = {str(c): g.buffer(0) if not g.is_valid else g for c, g in zip(both[C.VILLAGE_CODE], both.geometry)}
            notes += [d for d in overlapping_outlines(polys) if len(set(d["villages"]) & run) == 1]
    # addresses shared with households of other villages
    from geogrid.db.households import households_frame

    pad = 1e-6
    others = households_frame(session, bbox=(x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    others = others[others.geometry.notna() & ~others[C.VILLAGE_CODE].isin(run) & others[C.VILLAGE_CODE].notna()]
    if len(others):
        def keys(frame):
            g = frame.geometry.to_crs(metric)
            return list(map(tuple, address_keys(np.column_stack([g.x.to_numpy(), g.y.to_numpy()]))))

        theirs: dict = {}
        for k, code in zip(keys(others), others[C.VILLAGE_CODE].astype(str)):
            theirs.setdefault(k, set()).add(code)
        ok = hh.geometry.notna() & ~hh.geometry.is_empty
        at: dict[str, list] = {}
        for label, k, code in zip(hh.index[ok], keys(hh[ok]), hh.loc[ok, C.VILLAGE_CODE].astype(str)):
            for other in sorted(theirs.get(k, ())):
                at.setdefault((code, other), []).append(label)
        for (code, other), labels in sorted(at.items()):
            notes.append({**diagnostic(
                "address_beyond_run", code, [],
                f"{len(labels)} household(s) of village {code} share their point with households "
                f"registered in village {other}, which this run did not include; run both villages "
                "together to settle which keeps the address, or correct the point or the village code"),
                "households": list(labels), "villages": [code, other]})
    return notes


def _save_register_partition(session, result, inputs, name, created_by, county_code, publish,
                             params) -> SavedPartition:
    if county_code is None:
        mg = result.microgrids
        county_code = (county_of_villages(mg[C.VILLAGE_CODE] if C.VILLAGE_CODE in mg.columns else [])
                       or county_of_villages(inputs.households[C.VILLAGE_CODE]))
    plan_name = name or f"partition {utcnow():%Y-%m-%d %H:%M}"
    # the plan's villages were read from the register then (its notes say what it held)
    mg = result.microgrids
    codes = sorted({str(c) for c in (mg[C.VILLAGE_CODE] if C.VILLAGE_CODE in mg.columns else []) if pd.notna(c)})
    plan = save_partition(session, result, plan_name, params, created_by, county_code=county_code,
                          status="published" if publish else "draft",
                          register_read_at={c: inputs.read_at for c in codes} if inputs.read_at else None)
    return SavedPartition(plan=plan, result=result)

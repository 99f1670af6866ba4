"""What :func:`geogrid.partition.partition` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

__all__ = ["PartitionResult", "diagnostic"]


@dataclass
class PartitionResult:
    """A partition of households into micro-grids and cells.

    Attributes
    ----------
    households : GeoDataFrame
        The input, on the same index, with ``microgrid_id`` and ``cell_id`` added
        (missing for households the diagnostics name as left out).
    microgrids : GeoDataFrame
        ``microgrid_id``, ``village_code``, ``households``, ``area_km2``, polygon.
    cells : GeoDataFrame
        ``cell_id``, ``microgrid_id``, ``village_code``, ``households``, polygon.
    report : dict
        ``figures`` (quality numbers), ``diagnostics`` (list of dicts with ``kind``,
        ``village_code``, ``households`` (index labels) and a plain ``message``),
        ``rules`` (the hard-rule checks) and ``parameters``.
    """

    households: gpd.GeoDataFrame
    microgrids: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    report: dict = field(default_factory=dict)

    @property
    def figures(self) -> dict:
        return self.report.get("figures", {})

    @property
    def diagnostics(self) -> list[dict]:
        return self.report.get("diagnostics", [])

    def notes(self) -> gpd.GeoDataFrame:
        """The diagnostics as a layer a GIS shows: one row per note, with ``kind``,
        ``village_code``, ``message``, ``households`` (how many it names),
        ``household_no`` (their numbers where the households have that column, else
        their index labels, comma-separated; a household without a number, as in a
        register read without a 户编号 column, adds none, so such a file's notes have
        the cell empty, never ``None``), the ``microgrids``, ``cells`` and
        ``villages`` it names (comma-separated) and, in the result's CRS, the points of
        its households, or else a point inside each micro-grid or cell it names, or
        else inside each micro-grid of its village (a multipoint; empty where there is
        none of these)."""
        import shapely

        hh = self.households
        ids = hh["household_no"] if "household_no" in hh.columns else pd.Series(hh.index, index=hh.index)
        where = {name: dict(zip(frame[col].astype(str), frame.geometry.representative_point()))
                 for name, frame, col in (("microgrids", self.microgrids, "microgrid_id"),
                                          ("cells", self.cells, "cell_id"))}
        by_village = self.microgrids.groupby(self.microgrids["village_code"].astype(str)).groups
        rows, geoms = [], []
        for d in self.diagnostics:
            labels = [h for h in d.get("households") or [] if h in hh.index]
            pts = [p for p in hh.geometry.loc[labels] if p is not None and not p.is_empty] if labels else []
            if not pts:
                pts = [where[k][str(x)] for k in ("microgrids", "cells") for x in d.get(k) or []
                       if str(x) in where[k]]
            if not pts and d.get("village_code") is not None:
                pts = list(self.microgrids.geometry.loc[by_village.get(str(d["village_code"]), [])]
                           .representative_point())
            rows.append({"kind": d["kind"], "village_code": d.get("village_code"), "message": d["message"],
                         "households": len(d.get("households") or []),
                         "household_no": ",".join(str(no) for no in ids.loc[labels] if not pd.isna(no)),
                         **{k: ",".join(map(str, d.get(k) or [])) for k in ("microgrids", "cells", "villages")}})
            geoms.append(shapely.multipoints(pts) if pts else shapely.MultiPoint())
        cols = ["kind", "village_code", "message", "households", "household_no", "microgrids", "cells", "villages"]
        return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry=geoms, crs=self.cells.crs)

    def summary(self) -> str:
        """The figures and diagnostics as a few lines of text."""
        lines = [f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}"
                 for k, v in self.figures.items()]
        kinds: dict[str, int] = {}
        for d in self.diagnostics:
            kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
        lines += [f"diagnostic {k}: {v}" for k, v in sorted(kinds.items())]
        return "\n".join(lines)


def diagnostic(kind: str, village_code, households, message: str) -> dict:
    """One entry of ``report["diagnostics"]``: its kind, its village, the households it
    names (positions in the caller's arrays until :func:`partition` maps them to index
    labels) and a message a planner can act on."""
    return {"kind": kind, "village_code": village_code, "households": [int(h) for h in households],
            "message": message}


def area_text(m2: float) -> str:
    """An area for a message a planner reads: m² under a hundredth of a km², else km²."""
    return f"{m2 / 1e6:.3f} km²" if m2 >= 1e4 else f"{m2:,.0f} m²"

"""What :func:`geogrid.partition.partition` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd

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

"""Experiment (not used by geogrid): micro-grids as groups of whole village-wide cells.

    .venv/bin/python benchmarks/experiments/cells_first.py            # slice and county
    .venv/bin/python benchmarks/experiments/cells_first.py --slice-only

Why: on the 10-village slice of ``partition_bench.py`` geogrid's cells have 1.35× the
within-cell mean squared distance (MSD) of k-means-constrained over whole villages,
and k-means-constrained inside geogrid's own micro-grids is within 1.02×: the gap is
where the straight area cuts put the micro-grid borders, not how the cells are solved.

What this layout does instead, per village with K > 1 micro-grids:

1. solve the cells over the whole village (:func:`geogrid.partition.village.solve_cells`
   on the village polygon: k-d cuts, capacity-constrained Lloyd, power diagram);
2. give each cell to the side of the straight area cuts
   (:func:`geogrid.partition.cuts.split_area`) holding most of its households; keep
   each side's biggest connected run of cells, hand the rest to neighbours, and seed a
   side left without cells with the donor cell nearest to it, so there are always K;
3. even out the area by moving whole cells across borders
   (:func:`geogrid.partition.balance._improve`), then empty squares where still needed
   (:func:`geogrid.partition.village.balance_areas`);
4. either keep the village-wide cells (``kept``: polygons cut to their micro-grid,
   which is only a measurement: a cell a square move cut may come out in pieces) or
   solve the cells again inside each micro-grid (``re-solved``: a valid layout).

It prints, for the slice and the whole county, geogrid's figures for the straight cuts
(``main``) and for both variants, and on the slice the MSD ratio against
k-means-constrained given the same number of cells per village (its cell counts
differ between the variants: fuller cells).

Measured on 2026-12-04 (stop 13), 2 cores:

- slice MSD ratio: main 1.347 (246 cells), kept 1.089 (228), re-solved 1.145 (229);
- county: main 5.2 s, area within ±25 % 100 %, Polsby–Popper 0.612, min + 1 99.2 %,
  fill 0.915; kept 15.7 s, 95.6 %, 0.594, 99.2 %, 0.968; re-solved 18.8 s, 95.6 %,
  0.587, 98.9 %, 0.964 (small hamlets kept whole: 96.8 % against 99.2 %).

So it breaks three county targets that the straight cuts meet.  What it would need: the
village-wide phase without drawing (about 3× the cost of the per-micro-grid solves),
the cells drawn once inside the final micro-grids, and area balanced with land near
the borders rather than whole cells.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import partition_bench as pb  # noqa: E402

from geogrid.partition import partition, village  # noqa: E402
from geogrid.partition.balance import _connected, _improve, adjacency  # noqa: E402
from geogrid.partition.cuts import split_area  # noqa: E402
from geogrid.partition.pieces import clean, union  # noqa: E402

#: how the cells of a micro-grid are made: "kept" (the village-wide ones) or "re-solved"
VARIANT = {"mode": "re-solved"}


def _components(members: np.ndarray, nb: list[set[int]]) -> list[np.ndarray]:
    left = set(members.tolist())
    out = []
    while left:
        todo = [left.pop()]
        comp = list(todo)
        while todo:
            for d in nb[todo.pop()]:
                if d in left:
                    left.remove(d)
                    comp.append(d)
                    todo.append(d)
        out.append(np.array(comp))
    return out


def _side_centres(lattice: np.ndarray, leaves) -> np.ndarray:
    centres = []
    for _, halfplanes in leaves:
        inside = np.ones(len(lattice), bool)
        for a0, a1, b in halfplanes:
            inside &= lattice @ np.array([a0, a1]) <= b
        centres.append(lattice[inside].mean(axis=0) if inside.any() else lattice.mean(axis=0))
    return np.array(centres)


def _group_cells(polys: list, hh_side: np.ndarray, members: list, K: int, side_c: np.ndarray):
    """K connected groups of cell indices, or None."""
    C = len(polys)
    label = np.array([np.bincount(hh_side[m], minlength=K).argmax() for m in members])
    area = shapely.area(np.array(polys, dtype=object))
    cent = shapely.get_coordinates(shapely.centroid(np.array(polys, dtype=object)))
    nb = adjacency(polys)
    for g in range(K):
        comps = _components(np.flatnonzero(label == g), nb)
        if len(comps) > 1:
            big = max(comps, key=lambda c: area[c].sum())
            for c in comps:
                if c is not big:
                    label[c] = -1
    while (label < 0).any():
        changed = False
        for c in np.flatnonzero(label < 0):
            near = [label[d] for d in nb[c] if label[d] >= 0]
            if near:
                have = label >= 0
                garea = np.bincount(label[have], weights=area[have], minlength=K)
                label[c] = min(near, key=lambda h: garea[h])
                changed = True
        if not changed:
            return None  # an island of cells touching no group
    for g in range(K):
        if (label == g).any():
            continue
        best = None
        for h in range(K):
            mine = np.flatnonzero(label == h)
            if len(mine) < 2:
                continue
            for c in mine:
                if _connected(mine[mine != c], nb):
                    d = float(((cent[c] - side_c[g]) ** 2).sum())
                    if best is None or d < best[0]:
                        best = (d, c)
        if best is None:
            return None
        label[best[1]] = g
    groups = [np.flatnonzero(label == g) for g in range(K)]
    return _improve(groups, area, nb, area.sum() / K, np.ones(C, bool))


def cells_first_layout(task, V, units, hsmall, K, cap, *, straight):
    """The layout described above; the straight cuts' layout where it cannot be made."""
    n = len(task.points)
    if K <= 1 or n == 0:
        return straight(task, V, units, hsmall, K, cap)
    vcells = village.solve_cells(V, units, task.points, cap, hsmall)
    polys = [clean(p) for p, _ in vcells]
    if len(polys) < K:
        return straight(task, V, units, hsmall, K, cap)
    lattice = village._lattice(V, village.LATTICE_PER_PART * K)
    leaves = split_area(lattice, units, np.arange(units.n), K, cap, hsmall)
    side = np.empty(units.n, int)
    for lab, (ids, _) in enumerate(leaves):
        side[ids] = lab
    groups = _group_cells(polys, side[units.of], [m for _, m in vcells], K, _side_centres(lattice, leaves))
    if groups is None:
        return straight(task, V, units, hsmall, K, cap)
    mg_polys = [clean(union([polys[i] for i in g])) for g in groups]
    prefer = np.zeros(n, int)
    for gi, g in enumerate(groups):
        for i in g:
            prefer[vcells[i][1]] = gi
    hh_mg = village.locate_households(task, mg_polys, prefer)
    mg_polys = village.balance_areas(task, V, mg_polys, hh_mg, K)
    hh_mg = village.locate_households(task, mg_polys, prefer)
    if VARIANT["mode"] == "re-solved":
        return (mg_polys, *village.cells_in_microgrids(task, units, hsmall, cap, mg_polys, hh_mg))
    hh_cell = np.full(n, -1)
    cells, cell_mg = [], []
    for gi, g in enumerate(groups):
        for i in g:
            cells.append(polys[i].intersection(mg_polys[gi]))
            cell_mg.append(gi)
            hh_cell[vcells[i][1]] = len(cells) - 1
    return mg_polys, cells, cell_mg, hh_cell


@contextmanager
def layout(mode: str | None):
    """``village._layout`` replaced by this experiment's (``mode``) for the block."""
    straight = village._layout
    if mode is not None:
        VARIANT["mode"] = mode
        village._layout = lambda *a: cells_first_layout(*a, straight=straight)
    try:
        yield
    finally:
        village._layout = straight


def slice_figures(sh, sv, codes) -> str:
    partition(sh, sv, engine="serial")  # warm-up
    t = time.perf_counter()
    ours = partition(sh, sv, engine="serial")
    t = time.perf_counter() - t
    crs = ours.report["parameters"]["metric_crs"]
    pts = pb.metric_points(sh, crs)
    vil = sh["village_code"].to_numpy()
    by_v = {v: pts[vil == v] for v in codes}
    lab = ours.households["cell_id"].to_numpy()
    f = pb.figures_for({v: pd.factorize(lab[vil == v])[0] for v in codes}, by_v, 20)
    kmc, _ = pb.run_kmc(by_v, ours.cells.groupby("village_code").size().to_dict(), 20)
    k = pb.figures_for(kmc, by_v, 20)
    F = ours.figures
    return (f"{t:.2f} s, cells {f['cells']}, fill {f['fill']:.3f}, MSD {f['msd']:,.0f} m² against "
            f"k-means-constrained's {k['msd']:,.0f} m² (same cells): ratio {f['msd'] / k['msd']:.3f}; "
            f"PP {F['polsby_popper_median']:.3f}, hamlets {F['small_hamlets_unsplit']:.3f}, "
            f"min+1 {F['microgrids_within_min_plus_one']:.3f}, area {F['microgrid_area_within_25pct']:.3f}")


def county_figures(households, villages, workers: int) -> str:
    partition(households.iloc[:2000], villages, workers=workers)  # warm-up
    t = time.perf_counter()
    r = partition(households, villages, workers=workers)
    t = time.perf_counter() - t
    F = r.figures
    keys = ("microgrid_area_within_25pct", "mean_fill", "microgrids_within_min_plus_one",
            "polsby_popper_median", "small_hamlets_unsplit", "villages_at_target_microgrids")
    return f"{t:.2f} s, cells {len(r.cells)}, " + ", ".join(f"{k} {F[k]:.4f}" for k in keys)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slice-only", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    _, villages, households = pb.load(79_507, 0)
    codes = pb.slice_codes(villages, households)
    sv = villages[villages["village_code"].isin(codes)]
    sh = households[households["village_code"].isin(codes)]
    for name, mode in (("main (straight cuts)", None), ("cells first, kept", "kept"),
                       ("cells first, re-solved", "re-solved")):
        with layout(mode):
            print(f"slice  {name:24s} {slice_figures(sh, sv, codes)}", flush=True)
            if not args.slice_only:
                print(f"county {name:24s} {county_figures(households, villages, args.workers)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

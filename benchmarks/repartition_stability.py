"""How many households change cell when a planner adds one household to a full cell.

Run:  python benchmarks/repartition_stability.py [--microgrids 60] [--every 4]

Issue 3 asks that inside a re-solved micro-grid "households keep their cell where
possible".  The edit measured: one household added 2 m from a household of the
micro-grid's fullest cell, then ``repartition(..., microgrids=[that one])``.  Where the
micro-grid has room for it, the previous cells are redrawn around their households
with as few moved as the cap asks (``geogrid.partition.recut.repair``); where it has
none (every cell full), a cell is added the same way, placed by cutting the fullest
cell in two; where the redrawing cannot keep the cells whole, the micro-grid is cut
afresh.  The named baseline, in the same run: the micro-grid cut afresh every
time (``recut.REPAIR = False``, what ``repartition`` did before).

Printed, for both: the share of the micro-grid's households whose cell id changed
(mean, median, 90th percentile, worst), how often none did, and the median time of a
``repartition``; then the ratios.  Both results pass ``geogrid.partition.check``.

Data: every ``--every``-th village of the sample county (``partition_bench.load``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import geopandas as gpd  # noqa: E402
from shapely.geometry import Point  # noqa: E402

from geogrid.partition import check, partition, recut, repartition  # noqa: E402
from partition_bench import load  # noqa: E402


def edits(result, households, n, seed=1):
    """``(micro-grid, register with one household added beside its fullest cell's
    first household, that micro-grid's previous households)`` for ``n`` micro-grids."""
    rng = np.random.default_rng(seed)
    crs = result.report["parameters"]["metric_crs"]
    ids = result.microgrids["microgrid_id"].to_numpy()
    for m in rng.choice(ids, size=min(n, len(ids)), replace=False):
        mem = result.households[result.households["microgrid_id"] == m]
        if mem.empty:
            continue
        full = mem["cell_id"].value_counts().index[0]
        p = mem[mem["cell_id"] == full].to_crs(crs).geometry.iloc[0]
        q = gpd.GeoSeries([Point(p.x + 2, p.y + 1)], crs=crs).to_crs(households.crs).iloc[0]
        added = gpd.GeoDataFrame({"village_code": [mem["village_code"].iloc[0]]}, geometry=[q],
                                 crs=households.crs, index=[10**9])
        yield m, pd.concat([households, added]), mem


def measure(result, households, villages, cases, repair: bool):
    recut.REPAIR = repair
    try:
        shares, times, room = [], [], []
        for m, new, mem in cases:
            t0 = time.perf_counter()
            r2 = repartition(result, new, microgrids=[m])
            times.append(time.perf_counter() - t0)
            if r2.households.loc[10**9, "microgrid_id"] != m:
                continue  # the point fell across the micro-grid's border: not re-solved here
            bad = {k: len(v) for k, v in check(r2, villages).items() if v}
            if bad:
                raise AssertionError(f"micro-grid {m}: hard rules broken {bad}")
            shares.append(float((r2.households.loc[mem.index, "cell_id"] != mem["cell_id"]).mean()))
            room.append(mem["cell_id"].nunique() * result.report["parameters"]["max_households"] > len(mem))
        return np.array(shares), np.array(times), np.array(room)
    finally:
        recut.REPAIR = True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--microgrids", type=int, default=60)
    ap.add_argument("--every", type=int, default=4, help="every k-th village of the sample county")
    args = ap.parse_args(argv)
    source, villages, households = load(79_507, 0)
    codes = sorted(villages["village_code"])[:: args.every]
    sv = villages[villages["village_code"].isin(codes)]
    sh = households[households["village_code"].isin(codes)]
    result = partition(sh, sv, engine="serial")
    cases = list(edits(result, sh, args.microgrids))
    print(f"data: {source}, {len(codes)} villages, {len(sh)} households, {len(result.microgrids)} micro-grids; "
          f"{len(cases)} edits: one household added beside a household of the micro-grid's fullest cell")
    rows = {}
    for name, repair in (("cut afresh (baseline, before)", False), ("redrawn with the fewest moves", True)):
        shares, times, room = measure(result, sh, sv, cases, repair)
        rows[name] = shares, times
        print(f"{name}: share of the micro-grid's households that changed cell: mean {shares.mean():.3f}, "
              f"median {np.median(shares):.3f}, 90th percentile {np.percentile(shares, 90):.3f}, worst "
              f"{shares.max():.3f}; none moved in {(shares == 0).sum()} of {len(shares)}; median time "
              f"{np.median(times) * 1000:.0f} ms")
        print(f"   in the {room.sum()} micro-grids with room for one more: mean {shares[room].mean():.3f}, worst "
              f"{shares[room].max():.3f}; in the {(~room).sum()} whose cells were all full (a cell more is "
              f"needed): mean {shares[~room].mean() if (~room).any() else float('nan'):.3f}")
    (b, tb), (a, ta) = rows.values()
    print(f"ratios (fewest moves / baseline): mean share {a.mean() / max(b.mean(), 1e-9):.2f}, median share "
          f"{np.median(a) / max(np.median(b), 1e-9):.2f}, households moved in all {a.sum() / max(b.sum(), 1e-9):.2f}, "
          f"median time {np.median(ta) / np.median(tb):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the partition engine: the whole sample county and a 10-village slice.

Run:  python benchmarks/partition_bench.py [--households 79507] [--seed 0] [--workers 2]

Prints, in one run:
- time and peak memory of ``partition`` on the whole county, polygons included;
- every quality figure of the report, against the targets of issue 3;
- the time of a ``repartition`` of one micro-grid (median of several edits);
- on the 10-village slice: our time and within-cell mean squared distance, and the
  same for k-means-constrained, spopt max-p and METIS (pymetis) with the same
  number of cells per village, with ratios (k-means-constrained also with one start
  instead of its default ten, to show how much its restarts buy, and from five random
  states, since which ten starts it draws moves its compactness by a few per cent);
  k-means-constrained's time and compactness with 1 to 10 and 20 starts, and the
  fewest starts that are as compact as ours (our speed ratio at equal compactness);
  and k-means-constrained once more inside our micro-grids, to show how much of the
  gap the micro-grids' borders make;
- the straight layout (micro-grids first) against the one measured (``--layout``,
  the library's default ``auto`` unless given; ``cells_first`` when it is
  ``straight``), on the county and on the slice, with its own k-means-constrained
  ratio;
- with ``--figure FILE``, the slice's comparison drawn (``partition_figure.py``): time
  against compactness with the corner the 10x target asks for, the ratio by village,
  and the cells of the village where it is worst, ours and k-means-constrained's.

Data: ``geogrid.sample.generate_county`` when it is importable (it says so), else the
synthetic county of ``tests/partition/synthetic.py`` of the same size.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geogrid.partition import check, partition, repartition  # noqa: E402
from geogrid.partition.report import TARGETS, within_cell_msd  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from baselines import figures_for, kmc_curve, kmc_states, run_kmc, run_maxp_bounded, run_metis  # noqa: E402


def load(n: int, seed: int, pickled: str | None = None):
    if pickled:
        import pickle

        with open(pickled, "rb") as f:
            c = pickle.load(f)
        return f"pickled county {pickled}", c.villages, c.households
    try:
        from geogrid.sample import generate_county

        c = generate_county(seed=seed, n_households=n)
        return f"geogrid.sample.generate_county(seed={seed}, n_households={n})", c.villages, c.households
    except Exception as exc:  # not importable, or failing on this machine
        from tests.partition.synthetic import synthetic_county

        c = synthetic_county(seed=seed, n_households=n)
        return f"synthetic county (geogrid.sample not importable: {exc})", c.villages, c.households


def border_distances(result) -> dict[str, int]:
    """How many households lie within 1 cm, 10 cm and 1 m of their own cell's border."""
    crs = result.report["parameters"]["metric_crs"]
    hh = result.households.to_crs(crs)
    cells = result.cells.to_crs(crs).set_index("cell_id").geometry
    d = shapely.distance(hh.geometry.to_numpy(), shapely.boundary(cells.loc[hh["cell_id"]].to_numpy()))
    return {f"{t} m": int((d < t).sum()) for t in (0.01, 0.1, 1.0)}


def peak_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def fmt_target(k, v):
    if k not in TARGETS:
        return ""
    op, t = TARGETS[k]
    ok = v >= t if op == ">=" else v <= t
    return f"   target {op} {t}: {'MET' if ok else 'NOT MET'}"


def slice_codes(villages, households, k=10):
    """Ten ordinary villages: the first by code that have 150-1500 households."""
    counts = households["village_code"].value_counts()
    ok = sorted(c for c in villages["village_code"] if 150 <= counts.get(c, 0) <= 1500)
    step = max(1, len(ok) // k)
    return ok[::step][:k]


def the_slice(villages, households):
    """``(codes, villages, households)`` of the 10-village slice (:func:`slice_codes`)."""
    codes = slice_codes(villages, households)
    return (codes, villages[villages["village_code"].isin(codes)],
            households[households["village_code"].isin(codes)])


def metric_points(households, crs):
    g = households.to_crs(crs).geometry
    return np.column_stack([g.x.to_numpy(), g.y.to_numpy()])


def search_time(sh, sv, layout: str) -> tuple[float, float, int]:
    """One more serial run of the slice: ``(its time, the time of it spent in the
    village-wide cell search, in how many villages)``, :func:`geogrid.partition.village._village_cells`
    (the straight cuts' start, the Lloyd rounds and the moves of whole cells): the
    step that does what k-means-constrained does; the rest draws micro-grids and
    polygons (a village laid out straight searches inside its micro-grids instead,
    which is not counted).  Wrapped here for the measurement only."""
    from geogrid.partition import village

    spent, calls = [0.0], [0]
    inner = village._village_cells

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0
            calls[0] += 1

    village._village_cells = timed
    try:
        t0 = time.perf_counter()
        partition(sh, sv, engine="serial", layout=layout)
        return time.perf_counter() - t0, spent[0], calls[0]
    finally:
        village._village_cells = inner


def hamlets_whole(labels, sh, vil, cap) -> str:
    """How many of the small hamlets (``cap`` households or fewer) of the villages in
    ``labels`` a baseline's cells keep whole (it is not told about hamlets; geogrid
    must keep 95 %)."""
    if "hamlet" not in sh.columns:
        return ""
    whole = total = 0
    for v, lab in labels.items():
        ham = sh["hamlet"].to_numpy()[vil == v]
        df = pd.DataFrame({"h": ham, "c": lab}).dropna()
        g = df.groupby("h")["c"].agg(["size", "nunique"])
        g = g[g["size"] <= cap]
        whole += int((g["nunique"] == 1).sum())
        total += len(g)
    return f", small hamlets whole {whole} of {total}" if total else ""


def gap_by_village(sh, sv, codes, pts_by_v, vil, ours_labels, kmc_labels, cells_by_v, cap, layout):
    """Where the MSD gap to k-means-constrained (n_init=10) lies, village by village:
    our ratio as measured, and again with the ``hamlet`` column dropped (small hamlets
    then need not be whole, which k-means-constrained never has to respect)."""
    free = partition(sh.drop(columns=["hamlet"]), sv, engine="serial", layout=layout)
    lab_free = free.households["cell_id"].to_numpy()
    same_cells = free.cells.groupby("village_code").size().to_dict() == cells_by_v
    sizes = sh.groupby(["village_code", "hamlet"]).size()
    small = sizes[sizes <= cap].groupby(level=0).size().to_dict()
    print("the gap by village: MSD geogrid / k-means-constrained (n_init=10), and without the hamlet "
          "column" + ("" if same_cells else " (which changed some villages' number of cells)"))
    tot = {"k": 0.0, "o": 0.0, "f": 0.0}
    rows = []
    for v in codes:
        p = pts_by_v[v]
        k = within_cell_msd(p, kmc_labels[v]) * len(p)
        o = within_cell_msd(p, ours_labels[v]) * len(p)
        f = within_cell_msd(p, pd.factorize(lab_free[vil == v])[0]) * len(p)
        tot["k"] += k
        tot["o"] += o
        tot["f"] += f
        rows.append((v, o / k, f / k))
        print(f"   {v}: {len(p)} households, {cells_by_v[v]} cells (minimum {-(-len(p) // cap)}), "
              f"{small.get(v, 0)} small hamlets: {o / k:.3f}; without hamlets {f / k:.3f}")
    print(f"   all: {tot['o'] / tot['k']:.3f}; without hamlets {tot['f'] / tot['k']:.3f}")
    return rows


def compare_layout(layout, households, villages, sh, sv, codes, pts_by_v, cap, workers, t_county, f_ours):
    """Another layout on the county and the slice, with its own k-means-constrained
    ratio (at its own cell counts)."""
    partition(households.iloc[:3000], villages, workers=workers, layout=layout)  # warm-up
    t0 = time.perf_counter()
    r = partition(households, villages, workers=workers, layout=layout)
    t = time.perf_counter() - t0
    F = r.figures
    print(f"\nlayout={layout!r} on the county: {t:.2f} s ({t / max(t_county, 1e-9):.2f}x the time above; "
          f"target < 10 s: {'MET' if t < 10 else 'NOT MET'}), "
          f"cells {len(r.cells)}, fill {F['mean_fill']:.4f}, min+1 {F['microgrids_within_min_plus_one']:.4f}, "
          f"PP {F['polsby_popper_median']:.4f}, hamlets {F['small_hamlets_unsplit']:.4f}, "
          f"area {F['microgrid_area_within_25pct']:.4f}")
    partition(sh, sv, engine="serial", layout=layout)  # warm-up
    t0 = time.perf_counter()
    s = partition(sh, sv, engine="serial", layout=layout)
    t_s = time.perf_counter() - t0
    vil = sh["village_code"].to_numpy()
    lab = s.households["cell_id"].to_numpy()
    f = figures_for({v: pd.factorize(lab[vil == v])[0] for v in codes}, pts_by_v, cap)
    try:
        kl, t_k = run_kmc(pts_by_v, s.cells.groupby("village_code").size().to_dict(), cap)
    except Exception as exc:
        print(f"layout={layout!r} on the slice: cells {f['cells']}, MSD {f['msd']:.0f} m² (k-means-constrained "
              f"not run: {type(exc).__name__}: {exc})")
        return
    k = figures_for(kl, pts_by_v, cap)
    ratio = f["msd"] / max(k["msd"], 1e-9)
    print(f"layout={layout!r} on the slice: {t_s:.2f} s, cells {f['cells']}, within-cell MSD {f['msd']:.0f} m², "
          f"PP median {s.figures['polsby_popper_median']:.3f}; k-means-constrained with the same cells "
          f"{k['msd']:.0f} m² in {t_k:.2f} s: MSD ratio {ratio:.3f} (target <= 1.10: "
          f"{'MET' if ratio <= 1.10 else 'NOT MET'}), time ratio {t_k / max(t_s, 1e-9):.1f}x (target >= 10x "
          f"at MSD ratio <= 1.00: {'MET' if t_k / max(t_s, 1e-9) >= 10 and ratio <= 1.0 else 'NOT MET'})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=79_507)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--skip-baselines", action="store_true")
    ap.add_argument("--layout", default="auto", help="the layout measured in full (the library's "
                    "default); the straight one is measured for comparison (cells_first when this is straight)")
    ap.add_argument("--figure", help="also draw the slice's comparison with k-means-constrained "
                    "to this file (PNG or SVG): time against compactness, the ratio by village, and the "
                    "cells of the village where the ratio is worst, both ways")
    ap.add_argument("--county-pickle", help="a pickled geogrid.sample county to use instead of "
                    "generating one (for machines where the generator cannot run)")
    args = ap.parse_args(argv)
    cap = 20

    t0 = time.perf_counter()
    source, villages, households = load(args.households, args.seed, args.county_pickle)
    print(f"data: {source}: {len(households)} households, {len(villages)} villages "
          f"(generated in {time.perf_counter() - t0:.1f} s, not timed below)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; workers={args.workers}")
    base_me, _ = peak_mb()

    # --- whole county -------------------------------------------------------------------
    times, cpus = [], []
    for _ in range(2):  # the first run also warms imports and the page cache
        c0 = os.times()
        t0 = time.perf_counter()
        result = partition(households, villages, workers=args.workers, layout=args.layout)
        times.append(time.perf_counter() - t0)
        c1 = os.times()
        cpus.append((c1.user - c0.user) + (c1.system - c0.system)
                    + (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system))
    me, kids = peak_mb()
    print(f"\n== whole county, layout={args.layout!r} ==")
    print(f"partition time: {times[-1]:.2f} s (first run {times[0]:.2f} s), polygons included; target < 10 s: "
          f"{'MET' if times[-1] < 10 else 'NOT MET'}")
    print(f"CPU time of that run, all processes: {cpus[-1]:.2f} s (on an idle 2-core machine the wall "
          f"time is about CPU / 2 plus the serial parts); load average now {os.getloadavg()[0]:.1f}")
    print(f"peak memory: main process {me:.0f} MB (data alone {base_me:.0f} MB), largest worker {kids:.0f} MB; "
          f"upper bound main + {args.workers} workers = {me + args.workers * kids:.0f} MB; target < 2048 MB: "
          f"{'MET' if me + args.workers * kids < 2048 else 'NOT MET'}")
    for k, v in result.figures.items():
        print(f"  {k}: {v:.4f}{fmt_target(k, v)}" if isinstance(v, float) else f"  {k}: {v}")
    print("  villages by layout:", dict(pd.Series(result.report["layouts"]).value_counts()))
    kinds = pd.Series([d["kind"] for d in result.diagnostics]).value_counts()
    print("  diagnostics:", dict(kinds))
    print("  households this near their cell's border (a click there may land in the next cell):",
          border_distances(result))
    t0 = time.perf_counter()
    bad = {k: len(v) for k, v in check(result, villages).items() if v}
    print(f"hard rules (geogrid.partition.check, {time.perf_counter() - t0:.1f} s): "
          f"{'all met' if not bad else bad}")

    # --- repartition of one micro-grid ----------------------------------------------------
    rng = np.random.default_rng(0)
    ids = result.microgrids["microgrid_id"].to_numpy()
    rt, rcpu = [], []
    for m in rng.choice(ids, size=min(7, len(ids)), replace=False):
        members = result.households.index[result.households["microgrid_id"] == m]
        edited = households.drop(members[:2])
        t0, c0 = time.perf_counter(), time.process_time()
        repartition(result, edited, microgrids=[m])
        rt.append(time.perf_counter() - t0)
        rcpu.append(time.process_time() - c0)
    print(f"\nrepartition of one micro-grid (2 households removed), median of {len(rt)}: "
          f"{np.median(rt) * 1000:.0f} ms (min {min(rt) * 1000:.0f}, max {max(rt) * 1000:.0f}); "
          f"target < 100 ms: {'MET' if np.median(rt) < 0.1 else 'NOT MET'}; CPU median {np.median(rcpu) * 1000:.0f} ms")

    # an edit the previous cells cannot absorb: 25 new households at one point, so the
    # micro-grid is re-cut (the removal above is the cheap keep-the-cells path)
    rt = []
    for m in rng.choice(ids, size=min(7, len(ids)), replace=False):
        poly = result.microgrids.set_index("microgrid_id").geometry[m]
        p = poly.representative_point()
        code = result.microgrids.set_index("microgrid_id")["village_code"][m]
        new = pd.concat([households, type(households)(
            {"village_code": [code] * 25, "building": [f"bench-new-{m}"] * 25},
            geometry=[p] * 25, crs=households.crs,
            index=pd.RangeIndex(10**7, 10**7 + 25))])
        t0 = time.perf_counter()
        r2 = repartition(result, new, microgrids=[m])
        rt.append(time.perf_counter() - t0)
        assert (r2.households.loc[10**7:, "cell_id"].nunique() == 1)
    print(f"repartition of one micro-grid (a 25-household building added: re-cut), median of {len(rt)}: "
          f"{np.median(rt) * 1000:.0f} ms (min {min(rt) * 1000:.0f}, max {max(rt) * 1000:.0f}); "
          f"target < 100 ms: {'MET' if np.median(rt) < 0.1 else 'NOT MET'}")

    # --- 10-village slice against the baselines -------------------------------------------
    codes, sv, sh = the_slice(villages, households)
    print(f"\n== slice: {len(codes)} villages, {len(sh)} households ==")
    partition(sh, sv, engine="serial", layout=args.layout)  # warm-up, as k-means-constrained gets
    t0 = time.perf_counter()
    ours = partition(sh, sv, engine="serial", layout=args.layout)
    t_ours = time.perf_counter() - t0
    for k in ("mean_fill", "polsby_popper_median", "small_hamlets_unsplit", "microgrids_within_min_plus_one"):
        print(f"  slice {k}: {ours.figures.get(k, float('nan')):.3f}")
    crs = ours.report["parameters"]["metric_crs"]
    pts_all = metric_points(sh, crs)
    vil = sh["village_code"].to_numpy()
    pts_by_v = {v: pts_all[vil == v] for v in codes}
    lab_ours = ours.households["cell_id"].to_numpy()
    ours_labels = {v: pd.factorize(lab_ours[vil == v])[0] for v in codes}
    cells_by_v = ours.cells.groupby("village_code").size().to_dict()
    f_ours = figures_for(ours_labels, pts_by_v, cap)
    f_ours["time"] = t_ours
    f_ours["pp"] = ours.figures["polsby_popper_median"]
    print(f"geogrid (serial, polygons included): {t_ours:.2f} s, cells {f_ours['cells']}, "
          f"within-cell MSD {f_ours['msd']:.0f} m², fill {f_ours['fill']:.3f}, "
          f"cells over {cap}: {f_ours['over_cap']} (single buildings), PP median {f_ours['pp']:.3f}"
          + hamlets_whole(ours_labels, sh, vil, cap))
    if args.skip_baselines:
        return 0
    rows, kmc_labels, t_search_only = [], None, None
    single = functools.partial(run_kmc, n_init=1)
    for name, fn in (("k-means-constrained", run_kmc), ("k-means-constrained, one start (n_init=1)", single),
                     ("pymetis", run_metis), ("spopt max-p", run_maxp_bounded)):
        try:
            labels, t = fn(pts_by_v, cells_by_v, cap)
        except Exception as exc:  # a baseline that is not installed or fails
            print(f"{name}: not run ({type(exc).__name__}: {exc})")
            continue
        if name == "k-means-constrained":
            kmc_labels = labels
        f = figures_for(labels, pts_by_v, cap)
        # like for like: our figures on the same villages the baseline finished
        sub = {v: ours_labels[v] for v in labels}
        fo = figures_for(sub, pts_by_v, cap)
        t_sub = t_ours * sum(len(pts_by_v[v]) for v in labels) / max(1, len(sh))
        rows.append((name, f, t, fo, t_sub))
        print(f"{name}: {t:.2f} s on {f['villages']} villages, cells {f['cells']}, within-cell MSD {f['msd']:.0f} m², "
              f"largest cell {f['max_size']}, cells over {cap}: {f['over_cap']}, fill {f['fill']:.3f}, no polygons"
              + hamlets_whole(labels, sh, vil, cap))
        print(f"   ratios: time {name} / geogrid = {t / max(t_sub, 1e-9):.1f}x; "
              f"MSD geogrid / {name} = {fo['msd'] / max(f['msd'], 1e-9):.3f}"
              + ("   (targets for k-means-constrained: MSD <= 1.10: "
                 f"{'MET' if fo['msd'] / max(f['msd'], 1e-9) <= 1.10 else 'NOT MET'}; "
                 "time >= 10x at equal or better compactness (MSD ratio <= 1.00): "
                 f"{'MET' if t / max(t_sub, 1e-9) >= 10 and fo['msd'] <= f['msd'] else 'NOT MET'})"
                 if name == "k-means-constrained" else ""))
    if rows and rows[0][0] == "k-means-constrained":
        kmc_states(pts_by_v, cells_by_v, cap, f_ours, t_ours, (rows[0][1], rows[0][2]))
    if rows and rows[0][0] == "k-means-constrained":
        # this VM's speed drifts by up to 2x between sessions (and by 40 % within one):
        # the county's time against a baseline timed in the same run moves far less
        t = rows[0][2]
        print(f"county time / k-means-constrained's time on the slice, both this run: {times[-1]:.2f} s / "
              f"{t:.2f} s = {times[-1] / t:.2f} (the machine's speed cancels out, up to its drift "
              "within the run)")
    if rows and rows[0][0] == "k-means-constrained" and args.layout != "straight":
        # what the 10x target would read if it timed like for like: the cell search
        # alone against k-means-constrained, which draws no polygons (not the target,
        # which times the whole run)
        t_all, t_search, n_v = search_time(sh, sv, args.layout)
        t_search_only = t_search
        print(f"geogrid's village-wide cell search alone (what k-means-constrained does; the rest of a run "
              f"draws micro-grids and polygons), in {n_v} of {len(codes)} villages: {t_search:.2f} s of a "
              f"{t_all:.2f} s run; k-means-constrained / it = {rows[0][2] / max(t_search, 1e-9):.1f}x, at the "
              "MSD ratio above (not the 10x target, which times the whole run)")
    curve = kmc_curve(pts_by_v, cells_by_v, cap, f_ours, t_ours,
                      {1: r for r in rows if r[0].startswith("k-means-constrained, one")} |
                      {10: r for r in rows if r[0] == "k-means-constrained"})
    by_village = None
    if "hamlet" in sh.columns and kmc_labels is not None:
        by_village = gap_by_village(sh, sv, codes, pts_by_v, vil, ours_labels, kmc_labels, cells_by_v, cap,
                                    args.layout)
    if args.figure and kmc_labels is not None:
        from partition_figure import slice_figure

        by_village = by_village or [(v, float("nan"), float("nan")) for v in codes]
        worst = max(by_village, key=lambda r: r[1])[0]
        def metric_of(frame):
            return frame[frame["village_code"] == worst].to_crs(crs).geometry.to_list()

        print("figure:", slice_figure(
            args.figure, curve=curve, ours_time=t_ours, ours_msd=f_ours["msd"], search_time=t_search_only,
            by_village=by_village, village=worst, outline=shapely.union_all(metric_of(sv)),
            ours_microgrids=metric_of(ours.microgrids), ours_cells=metric_of(ours.cells), village_pts=pts_by_v[worst],
            ours_labels=ours_labels[worst], kmc_labels=kmc_labels[worst]))
    compare_layout("cells_first" if args.layout == "straight" else "straight", households, villages, sh, sv,
                   codes, pts_by_v, cap, args.workers, times[-1], f_ours)
    # where the gap to k-means-constrained lies: the same solver inside our micro-grids,
    # with our number of cells in each (a diagnostic, not a target)
    try:
        mg_all = ours.households["microgrid_id"].to_numpy()
        mg_pts = {m: pts_all[mg_all == m] for m in pd.unique(mg_all)}
        mg_cells = ours.cells.groupby("microgrid_id").size().to_dict()
        labels, t = run_kmc(mg_pts, mg_cells, cap)
        f = figures_for(labels, mg_pts, cap)
        print(f"k-means-constrained inside geogrid's micro-grids (same cells in each): {t:.2f} s, "
              f"within-cell MSD {f['msd']:.0f} m²; MSD geogrid / it = {f_ours['msd'] / max(f['msd'], 1e-9):.3f} "
              "(below 1: our cells beat it within our own borders; the ratio on whole villages "
              "above also counts what the micro-grids' borders and whole small hamlets cost)")
    except Exception as exc:
        print(f"k-means-constrained inside micro-grids: not run ({type(exc).__name__}: {exc})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

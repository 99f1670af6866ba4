"""The slice's comparison with k-means-constrained as a figure (``partition_bench.py --figure``).

Four panels, from figures the benchmark measured in the same run:

- time against compactness: k-means-constrained with 1 to 20 starts, geogrid's whole
  run and its cell search alone, and the corner the 10x target asks for (10 times
  faster than k-means-constrained's default ten starts, and at least as compact);
- the within-cell MSD ratio to k-means-constrained village by village, with and
  without the ``hamlet`` column (small hamlets kept whole);
- one village's cells by geogrid (polygons) and by k-means-constrained (the convex
  hulls of its clusters, which are not polygons it draws), households coloured by cell.
"""

from __future__ import annotations

import numpy as np
import shapely


def _hulls(pts: np.ndarray, labels: np.ndarray) -> list:
    return [shapely.convex_hull(shapely.multipoints(pts[labels == c])) for c in np.unique(labels)]


def _outline(ax, g, color, lw):
    for p in shapely.get_parts(g):
        for ring in [p.exterior, *p.interiors] if p.geom_type == "Polygon" else [p]:
            x, y = ring.xy
            ax.plot(x, y, color=color, lw=lw)


def _draw_cells(ax, polys, pts, labels, title, frame, thick=()):
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab20")
    _, lab = np.unique(labels, return_inverse=True)
    ax.scatter(pts[:, 0], pts[:, 1], s=4, c=[cmap(i % 20) for i in lab.ravel()], linewidths=0)
    for g in polys:
        _outline(ax, g, "0.35", 0.6)
    for g in [*thick, frame]:
        _outline(ax, g, "k", 1.4)
    x0, y0, x1, y1 = frame.bounds
    pad = 0.02 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def slice_figure(path, *, curve, ours_time: float, ours_msd: float, search_time: float | None,
                 by_village: list, village: str, outline, ours_microgrids: list, ours_cells: list,
                 village_pts: np.ndarray, ours_labels: np.ndarray, kmc_labels: np.ndarray) -> str:
    """Write the figure to ``path`` (PNG or SVG, by its suffix); returns the path.

    ``curve`` is ``[(starts, seconds, msd)]`` of k-means-constrained; ``by_village`` is
    ``[(code, msd ratio, msd ratio without hamlets)]``; ``outline``, ``ours_microgrids``
    and ``ours_cells`` are the polygons of ``village`` and of geogrid's micro-grids and
    cells in it, in the same metric CRS as ``village_pts``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 10))
    ax = axes[0, 0]
    n, t, m = (np.array(x) for x in zip(*curve))
    ax.plot(t, m, "o-", color="tab:blue", label="k-means-constrained, 1-20 starts")
    for ni, ti, mi in curve:
        ax.annotate(str(ni), (ti, mi), textcoords="offset points", xytext=(3, 3), fontsize=7)
    ref = [(ti, mi) for ni, ti, mi in curve if ni == 10]
    if ref:
        t10, m10 = ref[0]
        lo = min(t.min(), ours_time, search_time or ours_time) / 2
        ax.axvspan(lo, t10 / 10, color="tab:green", alpha=0.08)
        ax.axvline(t10 / 10, color="tab:green", ls="--", lw=1)
        ax.axhline(m10, color="tab:green", ls="--", lw=1)
        ax.text(t10 / 10, m10, "  the 10x target: left of the line\n  and on or below the line",
                fontsize=7, color="tab:green", va="top")
    ax.plot([ours_time], [ours_msd], "*", ms=14, color="tab:red", label="geogrid, whole run (polygons included)")
    if search_time:
        ax.plot([search_time], [ours_msd], "D", ms=8, color="tab:orange",
                label="geogrid, its cell search alone")
    ax.set_xscale("log")
    ax.set_xlabel("time on the slice, s (log)")
    ax.set_ylabel("within-cell mean squared distance, m²")
    ax.set_title("time against compactness, 10-village slice", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")

    ax = axes[0, 1]
    codes = [str(c) for c, _, _ in by_village]
    x = np.arange(len(codes))
    ax.bar(x - 0.2, [r for _, r, _ in by_village], 0.4, label="as run (small hamlets whole)")
    ax.bar(x + 0.2, [r for _, _, r in by_village], 0.4, label="without the hamlet column")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(1.10, color="tab:red", lw=0.8, ls="--", label="quality target 1.10")
    ax.set_xticks(x, [c[-6:] for c in codes], rotation=45, fontsize=7)
    ax.set_ylim(0.85, max(1.15, max(max(r, f) for _, r, f in by_village) + 0.03))
    ax.set_ylabel("MSD geogrid / k-means-constrained (10 starts)")
    ax.set_title("compactness by village", fontsize=10)
    ax.legend(fontsize=7)

    _draw_cells(axes[1, 0], ours_cells, village_pts, ours_labels,
                f"village {village}: geogrid's {len(ours_cells)} cells in {len(ours_microgrids)} micro-grids",
                outline, ours_microgrids)
    _draw_cells(axes[1, 1], _hulls(village_pts, kmc_labels), village_pts, kmc_labels,
                "k-means-constrained's clusters (their convex hulls: it draws none)", outline)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)

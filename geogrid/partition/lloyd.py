"""Capacity-constrained Lloyd rounds, and moves of whole cells that they cannot make.

The straight cuts of :mod:`geogrid.partition.cuts` give a good start but are bound
to cut at multiples of the cap.  From there, alternate:

- an exact assignment of indivisible groups of households to the current centres
  with at most ``cap`` households per centre, minimising the squared distances (a
  min-cost flow, solved by OR-Tools' ``SimpleMinCostFlow``); and
- moving each centre to the mean point of its households,

until nothing changes.

An optimal capacitated assignment of points to centres is a power diagram: its
weights and drawing are :mod:`geogrid.partition.power`.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

__all__ = ["lloyd", "relocate", "assign_within", "mean_points", "fewer_cells", "sse", "squared_distances",
           "halves"]

#: Lloyd rounds at most (the sample county's villages settle in 3 to 12)
MAX_ROUNDS = 25
#: the rounds stop once one lowers the squared distances by less than this share
#: (the last rounds of a village move a household or two for a few parts in 10,000)
SETTLED = 1e-3
#: candidate centres per group in the flow network (nearest first); the full set is
#: used when the nearest ones cannot hold everyone
NEAREST = 12
#: flow costs are squared metres times this, rounded to integers
COST_SCALE = 100.0
#: moves of one cell to where a split gains most, at most (see relocate).  Measured
#: on the 10-village slice of the sample county: within-cell MSD against
#: k-means-constrained (n_init=10, same cells) 1.085 -> 1.027
RELOCATE_TRIES = 6
#: per move, the cheapest dissolve is paired with each of the biggest splits in
#: turn until one helps; on the slice 2 and 3 gain 0.3 % and 0.9 % of MSD for 14 %
#: and 32 % more time in all
RELOCATE_SPLITS = 1
#: a move is tried only where the split gains more than this share of the dissolve's
#: cost (the dissolve ignores the cap, so the rounds often recover the rest)
RELOCATE_GAIN = 0.5
#: Lloyd rounds that try a move (after its first assignment): on the slice, 2 keep
#: the same compactness as running them to the end for two thirds of the time
RELOCATE_ROUNDS = 2


def _assign(gxy, gw, centres, cap, nearest, low=None, extra=None):
    """Min-cost flow of groups (mean point ``gxy``, households ``gw``) to centres with
    room for ``cap`` households each (or ``cap[i]`` for centre i), and at least
    ``low[i]`` where given; ``extra[g, i]``, where given, is added to the squared
    distance of group g's households to centre i.  Returns each group's centre, or
    None."""
    G, C = len(gxy), len(centres)
    cap = np.broadcast_to(cap, C)
    low = np.zeros(C, np.int64) if low is None else np.broadcast_to(low, C).astype(np.int64)
    d2 = squared_distances(gxy, centres)
    if extra is not None:
        # kept positive, as the flow's costs are rounded from it (the nearest first)
        d2 += extra - min(0.0, float(extra.min()))
    d2 *= gw[:, None]
    m = min(C, nearest)
    cand = np.argsort(d2, axis=1, kind="stable")[:, :m]
    smcf = min_cost_flow.SimpleMinCostFlow()
    src, snk = G + C, G + C + 1
    tails = np.concatenate([np.full(G, src), np.repeat(np.arange(G), m), G + np.arange(C)])
    heads = np.concatenate([np.arange(G), G + cand.ravel(), np.full(C, snk)])
    caps = np.concatenate([gw, np.repeat(gw, m), cap - low]).astype(np.int64)
    cost = np.round(np.take_along_axis(d2, cand, axis=1).ravel() / gw.repeat(m) * COST_SCALE)
    costs = np.concatenate([np.zeros(G), cost, np.zeros(C)]).astype(np.int64)
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    total = int(gw.sum())
    smcf.set_nodes_supplies(np.r_[src, snk, G + np.arange(C)], np.r_[total, -(total - low.sum()), -low])
    if smcf.solve() != smcf.OPTIMAL or smcf.maximum_flow() < total:
        return None
    flow = smcf.flows(arcs[G : G + G * m]).reshape(G, m)
    label = cand[np.arange(G), np.argmax(flow, axis=1)]
    if (flow.max(axis=1) < gw).any():
        # a group the flow split: it goes whole to its biggest share; a centre over
        # its cap then sheds the groups that cost least to move elsewhere
        label = _repair(label, d2, gw, cap)
    return label


def _repair(label, d2, gw, cap):
    C = d2.shape[1]
    cap = np.broadcast_to(cap, C)
    load = np.bincount(label, weights=gw, minlength=C)
    for c in np.flatnonzero(load > cap):
        while load[c] > cap[c]:
            mine = np.flatnonzero(label == c)
            room = load + gw[mine][:, None] <= cap  # (len(mine), C)
            extra = np.where(room, d2[mine] - d2[mine, c][:, None], np.inf)
            extra[:, c] = np.inf
            k = np.unravel_index(np.argmin(extra), extra.shape)
            if not np.isfinite(extra[k]):
                return label  # nothing fits anywhere: leave it to the caller's check
            g, to = mine[k[0]], k[1]
            label[g] = to
            load[c] -= gw[g]
            load[to] += gw[g]
    return label


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a_i - b_j|²`` for every pair, as ``|a|² + |b|² - 2 a·b`` (one matrix product,
    not an (n, m, 2) array); for coordinates near their origin, as here, exact to
    far below a square millimetre."""
    out = (a ** 2).sum(axis=1)[:, None] + (b ** 2).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(out, 0.0, out=out)


def mean_points(label: np.ndarray, gxy: np.ndarray, gw: np.ndarray, C: int | None = None) -> np.ndarray:
    """The weighted mean point of each of ``C`` cells' groups (``label`` per group)."""
    C = label.max() + 1 if C is None else C
    w = np.bincount(label, weights=gw, minlength=C)
    return np.column_stack([np.bincount(label, gxy[:, 0] * gw, C),
                            np.bincount(label, gxy[:, 1] * gw, C)]) / w[:, None]


def assign_within(gxy, gw, centres, cap, low=None, extra=None):
    """:func:`_assign`, with the nearest centres first (by cost) and all of them if need
    be; None when no assignment keeps every centre within ``cap``."""
    C = len(centres)
    new = _assign(gxy, gw, centres, cap, NEAREST, low, extra)
    if new is None and NEAREST < C:
        new = _assign(gxy, gw, centres, cap, C, low, extra)
    if new is None or (np.bincount(new, weights=gw, minlength=C) > cap).any():
        return None
    return new


def lloyd(gxy: np.ndarray, gw: np.ndarray, label: np.ndarray, cap: int, rounds: int = MAX_ROUNDS):
    """Capacity-constrained Lloyd rounds from ``label`` (the cell of each group).

    Returns ``(label, centres)``: the final cell of each group (cells renumbered
    0..k-1, empty ones dropped) and the centres the last assignment used, or None
    when no assignment within ``cap`` was found.  At most ``rounds`` rounds follow
    the first assignment.
    """
    label = np.unique(label, return_inverse=True)[1].ravel()
    before = np.inf
    for _ in range(rounds + 1):
        centres = mean_points(label, gxy, gw)
        new = assign_within(gxy, gw, centres, cap)
        if new is None:
            return None
        used = np.unique(new)
        new = np.searchsorted(used, new)  # a centre left empty: next round without it
        now = sse(new, gxy, gw)
        if np.array_equal(new, label) or _ == rounds or before * (1 - SETTLED) < now <= before:
            # settled, or out of rounds: the power diagram is that of the centres
            # this last assignment used
            return new, centres[used]
        before, label = now, new
    raise AssertionError("unreachable")


def sse(label: np.ndarray, gxy: np.ndarray, gw: np.ndarray, C: int | None = None) -> float:
    """Sum over groups of households times squared distance to their cell's mean."""
    c = mean_points(label, gxy, gw, C)
    return float((gw * ((gxy - c[label]) ** 2).sum(axis=1)).sum())


def halves(label: np.ndarray, gxy: np.ndarray, gw: np.ndarray, C: int):
    """Each cell cut in two across its principal axis: ``(side of each group, how much
    the cut would lower each cell's squared distances)``."""
    c = mean_points(label, gxy, gw, C)
    d = gxy - c[label]
    sxx = np.bincount(label, gw * d[:, 0] ** 2, C)
    syy = np.bincount(label, gw * d[:, 1] ** 2, C)
    sxy = np.bincount(label, gw * d[:, 0] * d[:, 1], C)
    theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    side = (d[:, 0] * np.cos(theta)[label] + d[:, 1] * np.sin(theta)[label] > 0).astype(int)
    key = 2 * label + side
    w2 = np.bincount(key, gw, 2 * C)
    s2 = np.column_stack([np.bincount(key, gw * d[:, 0], 2 * C), np.bincount(key, gw * d[:, 1], 2 * C)])
    # a cell's squared distances less its halves': sum over halves of w |mean of half|²
    gain = np.bincount(np.arange(2 * C) // 2, (s2 ** 2).sum(axis=1) / np.maximum(w2, 1e-12), C)
    gain[(w2.reshape(C, 2) == 0).any(axis=1)] = 0.0
    return side, gain


def relocate(gxy: np.ndarray, gw: np.ndarray, got, cap: int, tries: int = RELOCATE_TRIES):
    """Moves the Lloyd rounds cannot make: the cell that costs least to dissolve (its
    groups to their next nearest cells) goes to the cell whose split across its
    principal axis gains most, and the rounds run again; kept while the squared
    distances fall.  This is what spends a village's spare cells on its outlying
    households, which a k-d start and local rounds leave to share long cells.

    ``got`` is :func:`lloyd`'s ``(label, centres)``; returns the same, improved or not.
    """
    label, centres = got
    C = len(centres)
    if C < 3:
        return got
    rows = np.arange(len(gxy))
    current = sse(label, gxy, gw, C)
    moved = False
    for _ in range(tries):
        c = mean_points(label, gxy, gw, C)
        d2 = squared_distances(gxy, c)
        own = d2[rows, label].copy()
        d2[rows, label] = np.inf
        alt = np.argmin(d2, axis=1)
        cost = np.bincount(label, gw * (d2[rows, alt] - own), C)
        side, gain = halves(label, gxy, gw, C)
        found = None
        a = int(np.argmin(cost))
        others = np.flatnonzero(np.arange(C) != a)
        for b in others[np.argsort(-gain[others], kind="stable")[:RELOCATE_SPLITS]]:
            if gain[b] <= RELOCATE_GAIN * cost[a]:
                continue
            start = np.where(label == a, alt, label)
            start[(label == b) & (side == 1)] = a
            # a few rounds tell a move that helps from one that does not; the rounds
            # run to the end only once, after the last move
            again = lloyd(gxy, gw, start, cap, rounds=RELOCATE_ROUNDS)
            if again is None or len(again[1]) < C:
                continue
            s = sse(again[0], gxy, gw, C)
            if s < current * (1 - 1e-9):
                found = again, s
                break
        if found is None:
            break
        got, current = found
        moved, label = True, got[0]
    if moved:
        again = lloyd(gxy, gw, label, cap)
        if again is not None and len(again[1]) == C and sse(again[0], gxy, gw, C) <= current:
            got = again
    return got


def fewer_cells(gxy: np.ndarray, gw: np.ndarray, got, cap: int, goal: int):
    """From a Lloyd result ``got``, drop the emptiest cell and rerun the rounds while
    there are more than ``goal`` cells and the groups still fit; the last result that
    fitted."""
    while got is not None and len(got[1]) > goal:
        label, centres = got
        load = np.bincount(label, weights=gw, minlength=len(centres))
        drop = int(np.argmin(load))
        keep = np.delete(np.arange(len(centres)), drop)
        d2 = squared_distances(gxy, centres[keep])
        start = np.where(label == drop, np.argmin(d2, axis=1), np.searchsorted(keep, label))
        again = lloyd(gxy, gw, start, cap)
        if again is None or len(again[1]) >= len(centres):
            break
        got = again
    return got

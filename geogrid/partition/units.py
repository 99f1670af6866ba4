"""Households that must stay together: one building, or one point, is one unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import bmat, coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geogrid.errors import PartitionError

__all__ = ["Units", "make_units", "address_keys", "same_place", "canonical_order", "text_ranks", "building_groups", "needed_cells", "or_loosened", "COLOCATED_M", "SPREAD_M"]

#: households closer than this (m) are at one address and form one unit
COLOCATED_M = 0.01
#: one building key links only households within this distance (m) of another of
#: its households: a key whose households lie further apart (a mistyped coordinate,
#: a key used twice) is one building per place
SPREAD_M = 100.0


@dataclass
class Units:
    """Indivisible groups of households of one area, in metres.

    ``of[i]`` is the unit of household i; ``xy`` the mean point of each unit;
    ``weight`` its household count; ``lo``/``hi`` are filled per direction by
    :meth:`extent`; ``members`` the household indices of each unit.
    """

    of: np.ndarray
    xy: np.ndarray
    weight: np.ndarray
    hamlet: np.ndarray  # hamlet code of each unit (-1 when none), for cut penalties
    points: np.ndarray  # the households' own points (n, 2)
    spread: np.ndarray | None = None  # units whose households are not all on one point

    def __post_init__(self) -> None:
        if self.spread is None and len(self.of):
            d = np.abs(self.points - self.xy[self.of]).max(axis=1)
            sp = np.zeros(self.n, bool)
            np.logical_or.at(sp, self.of, d > 1e-9)
            self.spread = sp
        self._members: list[np.ndarray] | None = None

    def members_of(self, u: int) -> np.ndarray:
        if self._members is None:
            self._members = self.members()
        return self._members[u]

    @property
    def n(self) -> int:
        return len(self.weight)

    def members(self) -> list[np.ndarray]:
        order = np.argsort(self.of, kind="stable")
        bounds = np.searchsorted(self.of[order], np.arange(self.n + 1))
        return [order[bounds[u] : bounds[u + 1]] for u in range(self.n)]

    def extent(self, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Projection of each unit on ``direction``: (centre, lowest, highest member)."""
        p = self.points @ direction
        lo = np.full(self.n, np.inf)
        hi = np.full(self.n, -np.inf)
        np.minimum.at(lo, self.of, p)
        np.maximum.at(hi, self.of, p)
        return self.xy @ direction, lo, hi

    def subset(self, mask_units: np.ndarray) -> tuple["Units", np.ndarray]:
        """The units where ``mask_units``; returns them and their household indices."""
        keep_h = mask_units[self.of]
        hh = np.flatnonzero(keep_h)
        new_index = np.cumsum(mask_units) - 1
        return (
            Units(
                of=new_index[self.of[hh]],
                xy=self.xy[mask_units],
                weight=self.weight[mask_units],
                hamlet=self.hamlet[mask_units],
                points=self.points[hh],
            ),
            hh,
        )


def _present(codes) -> np.ndarray:
    """Which entries hold a code: building and hamlet codes arrive as
    :func:`geogrid.partition.inputs._codes` makes them (text, None where missing)."""
    return np.fromiter((c is not None for c in codes), bool, count=len(codes))


def address_keys(points) -> np.ndarray:
    """The square of the centimetre grid (:data:`COLOCATED_M`) each point lies in: two
    points whose rows are equal are one address.  Every test of co-location rounds
    this one way (``np.round(x, 2)`` parts half-centimetres elsewhere)."""
    return np.round(np.asarray(points, float).reshape(-1, 2) / COLOCATED_M)


def same_place(points) -> np.ndarray:
    """A label per point, equal for points at one address: the same coordinates to
    :data:`COLOCATED_M` (a centimetre; closer than that is one address), on a grid of
    that step.  The engine's rule, which :func:`~geogrid.partition.validate.check`
    applies too: both must round alike (``np.round(x, 2)`` and ``np.round(x / 0.01)``
    part at different half-centimetres at eastings of 600 km)."""
    return np.unique(address_keys(points), axis=0, return_inverse=True)[1].ravel()


def make_units(points: np.ndarray, building=None, hamlet=None) -> Units:
    """Group households (rows of ``points``) that share a building key or a point
    (``building`` and ``hamlet``: codes as ``inputs._codes`` gives them, None if missing).

    Both relations are merged: two households are in one unit if a chain of shared
    buildings or identical coordinates links them.  A building key is one building
    per place where its households lie more than :data:`SPREAD_M` apart
    (:func:`building_groups`).
    """
    n = len(points)
    if n == 0:
        return Units(
            of=np.zeros(0, int), xy=np.zeros((0, 2)), weight=np.zeros(0, int),
            hamlet=np.zeros(0, int), points=np.zeros((0, 2)),
        )
    by_point = same_place(points)
    if building is not None:
        keys = np.asarray(building, dtype=object)
        valid = _present(keys)
        codes = np.full(n, -1)
        codes[valid] = pd.factorize(keys[valid])[0]
        codes = building_groups(np.asarray(points, float), codes)
    else:
        valid = np.zeros(n, bool)
        codes = np.full(n, -1)
    if valid.any():
        # households joined through a shared point or a shared building key
        n_pt = int(by_point.max()) + 1
        rows = np.r_[np.arange(n), np.flatnonzero(valid)]
        cols = np.r_[by_point, n_pt + codes[valid]]
        size = n_pt + int(codes.max()) + 1
        g = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, size)).tocsr()
        adj = bmat([[None, g], [g.T, None]]).tocsr()
        _, comp = connected_components(adj, directed=False)
        lab = comp[:n]
    else:
        lab = by_point
    _, of = np.unique(lab, return_inverse=True)
    of = of.ravel()
    u = of.max() + 1
    weight = np.bincount(of, minlength=u)
    xy = np.column_stack([
        np.bincount(of, points[:, 0], minlength=u) / weight,
        np.bincount(of, points[:, 1], minlength=u) / weight,
    ])
    if hamlet is not None:
        hkeys = np.asarray(hamlet, dtype=object)
        hcode = np.full(n, -1)
        ok = _present(hkeys)
        hcode[ok] = pd.factorize(hkeys[ok])[0]
        # the hamlet of a unit: that of its first household
        first = np.full(u, -1)
        order = np.argsort(of, kind="stable")
        starts = np.searchsorted(of[order], np.arange(u))
        first = hcode[order[starts]]
    else:
        first = np.full(u, -1)
    return Units(of=of, xy=xy, weight=weight, hamlet=first, points=np.asarray(points, float))


def building_groups(points: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per household, its building: the households of one key (``codes``, -1 for none)
    that chains of steps of at most :data:`SPREAD_M` link.  A key whose households lie
    in places further apart is a building per place (new codes after the keys')."""
    out = np.asarray(codes).copy()
    has = np.flatnonzero(out >= 0)
    if not len(has):
        return out
    c = out[has]
    k = int(c.max()) + 1
    lo = np.full((k, 2), np.inf)
    hi = np.full((k, 2), -np.inf)
    np.minimum.at(lo, c, points[has])
    np.maximum.at(hi, c, points[has])
    nxt = k
    for key in np.flatnonzero(np.hypot(*(hi - lo).T) > SPREAD_M):
        hh = has[c == key]
        pairs = cKDTree(points[hh]).query_pairs(SPREAD_M, output_type="ndarray")
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(hh), len(hh)))
        m, place = connected_components(graph, directed=False)
        if m > 1:
            out[hh] = np.where(place == 0, key, nxt + place - 1)
            nxt += m - 1
    return out


def or_loosened(solve, units: Units, points: np.ndarray, hamlet=None):
    """``solve(units)``; where it finds no straight cut that separates households of a
    building that are apart (not at one point) from their neighbours, ``solve`` again
    with only households at one point kept together (the caller names what that
    split: ``village.split_buildings``)."""
    try:
        return solve(units)
    except PartitionError:
        if units.n == 0 or not units.spread.any():
            raise
        return solve(make_units(points, None, hamlet))


def needed_cells(weight: np.ndarray, cap: int) -> int:
    """Fewest cells that can hold these units: big buildings alone, the rest packed."""
    w = np.asarray(weight)
    big = w > cap
    rest = int(w[~big].sum())
    return int(big.sum()) + -(-rest // cap)


def merge_units(units: Units, group: np.ndarray, cap: int) -> tuple[Units, np.ndarray]:
    """Units merged where ``group`` (per unit, -1 for none) is shared and the merged
    weight stays within ``cap``.  Returns the merged units and, per old unit, its new
    unit."""
    g = np.asarray(group)
    key = np.where(g >= 0, g, -1 - np.arange(units.n))  # ungrouped stay alone
    wsum = pd.Series(units.weight).groupby(key).transform("sum").to_numpy()
    key = np.where((g >= 0) & (wsum <= cap), key, -1 - np.arange(units.n))
    _, new = np.unique(key, return_inverse=True)
    new = new.ravel()
    k = int(new.max()) + 1
    w = np.bincount(new, weights=units.weight, minlength=k).astype(int)
    xy = np.column_stack([
        np.bincount(new, units.xy[:, 0] * units.weight, k) / w,
        np.bincount(new, units.xy[:, 1] * units.weight, k) / w,
    ])
    ham = np.full(k, -1)
    ham[new] = units.hamlet
    merged = Units(of=new[units.of], xy=xy, weight=w, hamlet=ham, points=units.points)
    return merged, new


def canonical_order(points: np.ndarray, building=None, hamlet=None) -> np.ndarray:
    """An order of households of their own: by point (y, then x; metres), then
    building and hamlet key.  The solver takes a village's (or a re-solved micro-grid's)
    households in this order whatever the order of the caller's rows, so a register
    sorted another way gets the same plan.  Households equal in all four are
    interchangeable (one point is one unit, always in one cell).  The keys are text
    (None: missing) or their :func:`text_ranks`.

    Which of the two axes leads is arbitrary: x first gave the same figures within
    noise on the sample counties of seeds 0-5 (Polsby-Popper median of seed 1 0.5992
    against 0.6002, seed 0 0.6049 against 0.6047)."""
    if len(points) < 2:
        return np.arange(len(points))
    keys = [c if c.dtype != object else text_ranks(c)
            for c in (np.asarray(c) for c in (hamlet, building) if c is not None)]
    return np.lexsort((*keys, points[:, 0], points[:, 1]))


def text_ranks(codes) -> np.ndarray:
    """Each text code's rank in sorted order (-1 for a missing one): integer keys that
    order like the text, whichever rows they are taken from."""
    return pd.factorize(np.asarray(codes, dtype=object), sort=True, use_na_sentinel=True)[0]

"""What an aggregate tells a caller who may not read the records it counts.

An analyst reads counts, never a household or an issue.  A count of one at a fine place
is the record itself (a red house, 连心户, alone in a hexagon; a care request, 独居老人,
in a cell of a few households), so a caller who may not read the records is answered
from bins of a place no finer than :data:`SUPPRESSION_RESOLUTION` (H3, about 0.74 km²)
or a micro-grid (about 1 km²), and :func:`withhold` is the one rule for them: a bin of
that place whose records are of fewer than :data:`MIN_BIN` subjects gives them as
:data:`SUPPRESSED`, not by their attributes (care level, category, status, period), and
a coarser bin is the sum of the whole fine bins it holds, so that no grouping or
resolution gives back what another withholds (a coarse bin less its fine ones would).

A subject is whom a record is of: a household is its own; an issue is of the household
or person who asked, else of the account that reported it
(:mod:`geogrid.db.issuesubjects`).  Five issues of one household are one subject, not
five: counted by issues they would pass and tell that household's categories.

Within bins counted by attribute a row can still be small: a micro-grid of fifty
households' issues holds one household's care request, and ``category=care`` or a day's
period would count it.  So where a caller may group and filter as they like (issues),
:func:`withhold_rows` applies the same rule to every row given: a row (a place's issues of
one category, status, level or period, or that a filter matches) of fewer than
:data:`MIN_BIN` subjects is not given by itself but summed into the place's
:data:`WITHHELD`, and every figure given by attribute is :func:`rounded` to a multiple of
:data:`ROUND_TO`.  Rounding, not complementary suppression, because the answers are ad hoc:
complementary suppression makes one table safe, but a row hidden beside a small one in one
answer is given by another (``by=category`` and ``by=category,status``, March to May and
March to April), and no suppression pattern can be worked out for every answer the API
may give.  Rounded, any difference of answers carries an error of up to
``ROUND_TO - 1`` either way, as big as the rows it would give back.

Callers who may read the records (admins, planners and cadres for households; admins
and cadres for issues) are told exact counts of their scope: nothing the records would
not tell them.

>>> withhold({"a": {"red": 1}, "b": {"red": 2, "green": 4}}, lambda b: "ab")
{'ab': {'suppressed': 1, 'red': 2, 'green': 4}}
>>> withhold({"b": {"care": 1}}, lambda b: b, sizes={"a": 3, "b": 6})  # sizes: every record
{'a': {'suppressed': 3}, 'b': {'care': 1}}
>>> withhold({"b": {"care": 6}}, lambda b: b, subjects={"b": 2})  # six issues of two households
{'b': {'suppressed': 6}}
>>> withhold_rows({"m1": {"sanitation": 6, "care": 3}}, {"m1": {"sanitation": 6, "care": 2}})
{'m1': {'sanitation': 5, 'withheld': 5}}
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Hashable, Iterable, Mapping

import h3

__all__ = ["MIN_BIN", "ROUND_TO", "SUPPRESSION_RESOLUTION", "SUPPRESSED", "WITHHELD", "withhold",
           "withhold_hexagons", "withhold_rows", "rounded", "answered_resolution", "distinct_subjects"]

#: The fewest distinct subjects (households, people) the records of a bin of the finest
#: place are of for the bin to be counted by attribute.
MIN_BIN = 5
#: The H3 resolution at which hexagons are held back (about 0.74 km², edges about
#: 460 m), and the finest a caller who may not read the records is answered at.
SUPPRESSION_RESOLUTION = 8
#: The key of the records counted but not by attribute.
SUPPRESSED = "suppressed"
#: The key of a place's records in rows of too few subjects (:func:`withhold_rows`).
WITHHELD = "withheld"
#: The multiple every figure given by attribute is rounded to (:func:`withhold_rows`).
ROUND_TO = 5


def withhold(counts: Mapping[Hashable, Mapping[Hashable, int]],
             parent: Callable[[Hashable], Hashable], *,
             sizes: Mapping[Hashable, int] | None = None,
             subjects: Mapping[Hashable, int] | None = None, k: int = MIN_BIN) -> dict:
    """Counts by attribute of the bins ``parent`` maps the finest bins to, with the
    finest bins whose records are of fewer than ``k`` subjects counted as
    :data:`SUPPRESSED`.

    ``counts`` maps each finest bin to its counts by attribute.  A bin's size (the
    records :data:`SUPPRESSED` counts) is ``sizes[bin]`` where given (every record of
    the bin, whatever ``counts`` was filtered by, so that whether a bin is withheld
    tells nothing of the filter; a bin of ``sizes`` missing from ``counts`` matched
    none), else the sum of its counts.  Its subjects are ``subjects[bin]`` where given
    (:func:`distinct_subjects` of the records ``sizes`` counts; a bin missing from it
    has none), else its size: each record its own subject, as households are.  Bins
    whose counts are all zero are left out."""
    out: dict = defaultdict(lambda: defaultdict(int))
    first = sizes if sizes is not None else counts
    bins = [*first, *(b for b in counts if b not in first)]
    for b in bins:
        by_key = counts.get(b, {})
        n = sizes.get(b, 0) if sizes is not None else sum(by_key.values())
        to = out[parent(b)]
        if (subjects.get(b, 0) if subjects is not None else n) < k:
            to[SUPPRESSED] += n
        else:
            for key, v in by_key.items():
                to[key] += v
    return {b: dict(c) for b, c in out.items() if any(c.values())}


def distinct_subjects(bins: Iterable[Hashable], subjects: Iterable[Hashable]) -> dict:
    """``{bin: number of distinct subjects}`` of records given by their bin and subject
    (two iterables in one order).  A record of subject ``None`` (one that cannot be told
    apart from the others: :data:`geogrid.db.issuesubjects.NO_SUBJECT`) adds none.

    >>> distinct_subjects(["a", "a", "a", "b", "c"], ["h1", "h1", "h2", "h1", None])
    {'a': 2, 'b': 1}
    """
    seen: dict = defaultdict(set)
    for b, s in zip(bins, subjects, strict=True):
        if s is not None and s == s:  # NaN is a missing subject too
            seen[b].add(s)
    return {b: len(s) for b, s in seen.items()}


def rounded(n: int, base: int = ROUND_TO) -> int:
    """``n`` to the nearest multiple of ``base``, halves up.

    >>> [rounded(n) for n in (0, 1, 2, 3, 7, 8, 12, 13)]
    [0, 0, 0, 5, 5, 10, 10, 15]
    """
    return base * ((2 * int(n) + base) // (2 * base))


def withhold_rows(counts: Mapping[Hashable, Mapping[Hashable, int]],
                  subjects: Mapping[Hashable, Mapping[Hashable, int]], *, k: int = MIN_BIN,
                  base: int = ROUND_TO) -> dict:
    """``{place: {row: count}}`` of the rows of at least ``k`` subjects, each place's
    other rows summed as :data:`WITHHELD`, every figure :func:`rounded` to ``base``.

    ``counts`` maps each place to its rows' records, ``subjects`` to their distinct
    subjects (a row missing from it has none).  A row of ``k`` subjects holds ``k``
    records at least, so that no row given rounds to 0; a withheld sum that does is
    left out, as are places left with nothing."""
    out = {}
    for place, by_key in counts.items():
        of = subjects.get(place, {})
        shown: dict = {}
        withheld = 0
        for key, n in by_key.items():
            if of.get(key, 0) >= k:
                shown[key] = rounded(n, base)
            else:
                withheld += n
        shown[WITHHELD] = rounded(withheld, base)
        shown = {key: n for key, n in shown.items() if n}
        if shown:
            out[place] = shown
    return out


def answered_resolution(resolution: int) -> int:
    """The H3 resolution a caller who may not read the records is answered at."""
    return min(resolution, SUPPRESSION_RESOLUTION)


def withhold_hexagons(counts: Mapping[Hashable, Mapping[Hashable, int]], resolution: int, *,
                      sizes: Mapping[Hashable, int] | None = None,
                      subjects: Mapping[Hashable, int] | None = None, k: int = MIN_BIN,
                      cell: Callable[[Hashable], str] | None = None) -> dict:
    """:func:`withhold` for hexagons: ``counts`` (``sizes``, ``subjects``) by H3 cell of
    :data:`SUPPRESSION_RESOLUTION`, or by finest bins that ``cell`` maps to one (the
    parts of a hexagon in each micro-grid), the answer by their parents at
    ``resolution`` (:func:`answered_resolution`: finer resolutions are answered at
    that one)."""
    resolution = answered_resolution(resolution)
    of = cell or (lambda c: c)
    if resolution == SUPPRESSION_RESOLUTION:
        parent = of
    else:
        def parent(b):
            return h3.cell_to_parent(of(b), resolution)
    return withhold(counts, parent, sizes=sizes, subjects=subjects, k=k)

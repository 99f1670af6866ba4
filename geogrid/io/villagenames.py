"""Village names as registers write them: 长乐, 长乐村 and 长乐村委会 are one village.

A household's 村名 is read in two places, and one normalisation (:func:`village_key`)
serves both, so that a name means the same village to each:

- :func:`villages_named` finds the village of a row that names it without a 村代码;
- :func:`village_disagreements` checks a name against the row's 村代码;

and :func:`code_named_households` gives the households of an import batch that name their
village without coding it that village's code (``geogrid import households`` against the
loaded villages, ``geogrid partition --households`` against the ``--villages`` file).

A name that two known villages answer to (长乐村 of one town, 长乐社区 of another) names
neither: the row is rejected with their codes rather than given one of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

__all__ = ["village_key", "villages_named", "village_disagreements", "code_named_households"]

_CODE12 = re.compile(r"^\d{12}$")
_SUFFIX = re.compile(r"(?:村民委员会|村委会|居民委员会|居委会|社区|村)$")


def village_key(name: str) -> str:
    """What a village name is compared by: NFKC, no spaces, and no 村/村委会/村民委员会/社区/
    居委会/居民委员会 at its end (taken off one after the other, as in 长乐社区居民委员会).

    A name that is nothing but a suffix stays itself.

    >>> [village_key(n) for n in ("长乐", "长乐村", "长乐村委会", "长乐社区居民委员会", "村")]
    ['长乐', '长乐', '长乐', '长乐', '村']
    """
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name)))
    key = text
    while (shorter := _SUFFIX.sub("", key)) != key and shorter:
        key = shorter
    return key


def villages_named(
    names: Iterable[str | None], villages: Mapping[str, str], *, known: str | None = None,
) -> tuple[list[str | None], dict[int, str]]:
    """``(codes, reasons)``: the code of the village each name names, by position (``None``
    for an empty name and for one that names no single village), and ``{position: reason}``
    for the names that name none or several of ``villages`` (``{code: name}``).

    ``known`` names the file the villages come from (``None``: the villages loaded in
    the database); a name none of them has is reported as missing from it.

    >>> villages_named(["长乐", "新寨村"], {"431227100201": "长乐村", "431227100202": "新寨村委会"})
    (['431227100201', '431227100202'], {})
    """
    by_key: dict[str, list[str]] = defaultdict(list)
    for code in sorted(villages):
        by_key[village_key(villages[code])].append(code)
    codes: list[str | None] = []
    reasons: dict[int, str] = {}
    for pos, name in enumerate(names):
        found = by_key.get(village_key(name), []) if name else []
        codes.append(found[0] if len(found) == 1 else None)
        if not name or len(found) == 1:
            continue
        if not found and known is None:
            reasons[pos] = (f"no loaded village is named {name!r}; import the villages first (geogrid import "
                            "boundaries --level village), or give the 12-digit village code in a 村代码 column")
        elif not found:
            reasons[pos] = (f"no village of {known} is named {name!r}; correct the name, or give the "
                            "12-digit village code in a 村代码 column")
        else:
            shown = ", ".join(c if villages[c] == name else f"{c} {villages[c]}" for c in found)
            reasons[pos] = (f"{len(found)} villages are named {name!r} ({shown}); "
                            "give the 12-digit village code in a 村代码 column")
    return codes, reasons


def _rows_text(rows: list[int], limit: int = 5) -> str:
    shown = ", ".join(map(str, rows[:limit])) + (f" and {len(rows) - limit} more" if len(rows) > limit else "")
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def village_disagreements(
    codes: list[str | None], names: list[str | None], rows, villages: Mapping[str, str] | None = None,
) -> dict[int, str]:
    """``{position: reason}`` for the rows whose village name and 12-digit code disagree.

    A code of a known village (``villages``: ``{code: name}``) must come with that
    village's name, as :func:`village_key` reads them (长乐 = 长乐村 = 长乐村委会).  The
    rows of a code no known village has must agree among themselves: rows naming it
    otherwise than most of its rows are rejected, and all of them when no name has the
    most rows (there is no telling which is right).  A name column holding a code must
    hold the same code.

    >>> village_disagreements(["431227100201"] * 3, ["长乐村", "长乐", "新寨村"], [2, 3, 4])
    {2: "village name '新寨村' does not agree with village code 431227100201, which 2 other rows name 长乐村; correct the name or the code"}
    """
    villages = villages or {}
    out: dict[int, str] = {}
    unknown: dict[str, list[int]] = defaultdict(list)
    for pos, (code, name) in enumerate(zip(codes, names)):
        if not code or not name:
            continue
        if _CODE12.match(name):
            if name != code:
                out[pos] = f"village {name} does not agree with village code {code}; correct one of them"
        elif code in villages:
            if village_key(name) != village_key(villages[code]):
                out[pos] = (f"village name {name!r} does not agree with village code {code}, which is "
                            f"{villages[code]}'s; correct the name or the code")
        else:
            unknown[code].append(pos)
    for code, positions in unknown.items():
        keys = Counter(village_key(names[p]) for p in positions)
        if len(keys) < 2:
            continue
        spelled = {k: Counter(names[p] for p in positions if village_key(names[p]) == k).most_common(1)[0][0]
                   for k in keys}
        (top, n_top), (_, n_next) = keys.most_common(2)
        if n_top > n_next:
            for p in positions:
                if village_key(names[p]) != top:
                    out[p] = (f"village name {names[p]!r} does not agree with village code {code}, which "
                              f"{n_top} other rows name {spelled[top]}; correct the name or the code")
            continue
        parts = [f"{spelled[k]} in {_rows_text([int(rows[p]) for p in positions if village_key(names[p]) == k])}"
                 for k in keys]
        named = ", ".join(parts[:-1]) + " and " + parts[-1]
        for p in positions:
            out[p] = f"village code {code} is named {named}; correct the names or the codes"
    return dict(sorted(out.items()))


def code_named_households(
    batch, villages: Mapping[str, str], *, known: str | None = None,
) -> dict[int, tuple[str, str]]:
    """Give the valid households of ``batch`` (an :class:`~geogrid.io.ImportBatch` of
    households) that name their village (村名) and code none the code of that village of
    ``villages`` (``{code: name}``), in place, names read as the 村名/村代码 check reads them
    (:func:`villages_named`; ``known`` as there).  Returns ``{row: (column, reason)}`` for
    the rows whose name no village has, or several have, for
    :meth:`~geogrid.io.ImportBatch.reject`: such a row is rejected rather than losing its
    village or being given a guess, and once coded a row is checked as a coded row is.
    """
    from geogrid import columns as C
    from geogrid.io.formats import ROW
    from geogrid.io.headers import VILLAGE, VILLAGE_NAME

    valid = batch.valid
    if VILLAGE_NAME not in valid.columns:
        return {}
    wanted = valid.index[(valid[VILLAGE_NAME].notna() & valid[C.VILLAGE_CODE].isna()).to_numpy()]
    if not len(wanted):
        return {}
    codes, reasons = villages_named(valid.loc[wanted, VILLAGE_NAME].tolist(), villages, known=known)
    for i, code in zip(wanted, codes):
        if code is not None:
            valid.at[i, C.VILLAGE_CODE] = code
    return {int(valid.at[wanted[pos], ROW]): (VILLAGE, reason) for pos, reason in reasons.items()}

"""Which of a CSV's or XLSX's first rows hold its header, and the column names they give.

Templates put a title ("新晃县××村户籍登记表") and a subtitle (填报单位 | 填报日期) above the
header, and government layouts often split the header over two rows: group cells merged
over their columns (坐标 over 经度 | 纬度, 户主信息 over 姓名 | 身份证号 | 联系电话), the
sub-headers in the row below, and the other names merged down over both rows.  Read
with openpyxl's read-only mode, as saved by Excel as CSV, a merged cell holds its value in
its first cell and nothing in the others, which is what :func:`find_header` reads.

The row under the header is its sub-header only when nothing in it can be a record:

- every cell of it is text and not a number, and one at least is a name an import knows;
- a cell under a group (a name over blank cells, merged, or typed again over each of its
  columns) may be any name, but a group name an import knows is one only over its parts
  (户主 over 姓名, since 户主姓名 is a name too; 坐标 over 经度 | 纬度): 与户主关系 over
  户主 | 党员 is a person's row;
- a cell under a name standing over its one column alone must be a name an import knows
  under one it does not (位置 over 经度).

So a household's row, which fills its household number under 户编号, a column of its own,
is never taken for a sub-header.  The sub-row names the columns under a group, the group
name kept where a sub-name alone is repeated (户主姓名 and 联系人姓名 for two 姓名) or
makes a name with it (户主 over 姓名); the group row names the columns with nothing under.

A header can go one level deeper (位置信息 over 地址 | 坐标, 坐标 over 经度 | 纬度, so three
rows): the third row is read by the same rule under the names of the two above it, so a
record under a two-row header is no more taken for a third row than for a second.  A
blank row left between the group row and its sub-row is passed over.

>>> find_header([("户编号", "坐标", None), (None, "经度", "纬度"), ("H1", 109.17, 27.35)])
(0, 1, ['户编号', '经度', '纬度'])
>>> find_header([("户编号", "经度", "纬度"), ("H1", "109.17", "27.35")])
(0, 0, ['户编号', '经度', '纬度'])
"""

from __future__ import annotations

import unicodedata

from geogrid import columns as C
from geogrid.io.headers import LONLAT, known_header, normalize_header, resolve_columns

__all__ = ["header_index", "find_header", "header_rows", "header_note"]

#: How many rows from the top the header is looked for in.
SEARCHED = 20
#: The most rows one header is read over: a group row, its sub-row and a sub-sub-row.
DEPTH = 3
#: The most blank rows between two rows of one header (one left under a group row).
GAP = 1
#: How many rows from the top a header may reach down to: found among the first
#: :data:`SEARCHED`, with its sub-rows and the blank rows between them below.
READ = SEARCHED + (DEPTH - 1) * (GAP + 1)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value != value


def header_index(rows: list[tuple]) -> int:
    """The header of a CSV or XLSX among its first 20 rows: the first of those holding the
    most column names an import knows (:func:`~geogrid.io.headers.known_header`), when
    one holds two or more; else the first row at least half as full as the fullest.
    ``-1``: no row holds anything.

    Templates often put a title ("新晃县××村户籍登记表") in a merged cell above the headers,
    and a subtitle (填报单位 | 填报日期) or a form row (村名 | 长乐村) below it: rows as full
    as half the table, but not the header.  One known name alone says little: data cells
    hold them too (x, 户主 as a 与户主关系), and so does a form row.
    """
    rows = rows[:SEARCHED]
    counts = [sum(not _blank(v) for v in row) for row in rows]
    if not counts or max(counts) == 0:
        return -1
    known = [sum(known_header(v) for v in row) for row in rows]
    if max(known) >= 2:
        return known.index(max(known))
    need = max(1, (max(counts) + 1) // 2)
    return next(i for i, n in enumerate(counts) if n >= need and (n >= 2 or max(counts) == 1))


def find_header(rows: list[tuple]) -> tuple[int, int, list]:
    """``(first, last, names)``: the header's rows among ``rows`` (0-based; ``first ==
    last`` for a header of one row, ``-1`` for both when no row holds anything) and its
    cells, one per column: for a one-row header the row's own cells, for a header over
    several rows the names they give together (``None`` where none names the column).

    The row :func:`header_index` finds is read with the row above it when the row found is
    itself a sub-header (it can hold more names an import knows than the group row,
    姓名 | 身份证号 | 联系电话 under 户主信息) and the row above gives it names it lacks (户编号
    merged down over both), and with the row under it when that row is its sub-header
    (see the module's rule); so on, up to :data:`DEPTH` rows (a group row, its sub-row and
    a sub-sub-row: 位置 over 坐标 over 经度 | 纬度).  The rows are read top down, each over
    the names of those above it.  :data:`GAP` blank rows may stand between two of them
    (a blank row left under the group row); they are no part of it, and the header's
    rows are those between ``first`` and ``last`` that are not blank.

    >>> find_header([("户编号", "位置", None, None), (None, "地址", "坐标", None),
    ...              (None, None, "经度", "纬度"), ("H1", "1号", 109.17, 27.35)])
    (0, 2, ['户编号', '地址', '经度', '纬度'])
    >>> find_header([("户编号", "坐标", None), (None, None, None), (None, "经度", "纬度"), ("H1", 109.17, 27.35)])
    (0, 2, ['户编号', '经度', '纬度'])
    """
    head = header_index(rows)
    if head < 0:
        return -1, -1, []
    limit = min(len(rows), READ)
    used = [head]
    names = _one_row(rows[head], len(rows[head]))
    while len(used) < DEPTH:
        above = _neighbour(rows, used[0], -1, limit)
        if above is not None:
            found = _fold([rows[i] for i in (above, *used)])
            if found is not None and not _same(found, names):
                used.insert(0, above)
                names = found
                continue
        below = _neighbour(rows, used[-1], 1, limit)
        if below is not None:
            found = _fold([rows[i] for i in (*used, below)])
            if found is not None:
                used.append(below)
                names = found
                continue
        break
    if len(used) == 1:
        return head, head, list(rows[head])
    return used[0], used[-1], names


def header_rows(rows: list[tuple], first: int, last: int) -> list[int]:
    """The rows of a header :func:`find_header` found from ``first`` to ``last``: those
    between them that are not blank."""
    return [i for i in range(first, last + 1) if not _row_blank(rows[i])]


def _row_blank(row: tuple) -> bool:
    return all(_blank(v) for v in row)


def _neighbour(rows: list[tuple], at: int, step: int, limit: int) -> int | None:
    """The first row above (``step`` -1) or under (+1) ``rows[at]`` that is not blank, past
    :data:`GAP` blank rows at most; ``None`` if there is none (or only past ``limit``)."""
    i = at + step
    for _ in range(GAP + 1):
        if not 0 <= i < limit:
            return None
        if not _row_blank(rows[i]):
            return i
        i += step
    return None


def _fold(rows: list) -> list | None:
    """The names of a header over ``rows``, top down: each row the sub-header of the names
    of those above it, or ``None`` when one is not."""
    names = rows[0]
    for row in rows[1:]:
        names = _two_rows(names, row)
        if names is None:
            return None
    return names


def _same(a: list, b: list) -> bool:
    width = max(len(a), len(b))
    return _one_row(a, width) == _one_row(b, width)


def _text(value) -> str | None:
    return None if _blank(value) else str(value).strip()


def _one_row(row: tuple, width: int) -> list:
    return [_text(v) for v in row] + [None] * (width - len(row))


def _numeric(text: str) -> bool:
    try:
        float(unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", ""))
    except ValueError:
        return False
    return True


def _join(group: str, sub: str) -> str:
    return f"{group} {sub}" if group.isascii() and sub.isascii() else f"{group}{sub}"


def header_note(rows: list[tuple], first: int, last: int, numbers: list[int], columns: list) -> str:
    """What was read of the header over ``rows[first]`` to ``rows[last]`` (blank rows
    between them aside), as the ``columns`` given; ``numbers[i]`` is the number of
    ``rows[i]`` as the user sees it.

    >>> header_note([("户编号", "坐标", None), (None, "经度", "纬度")], 0, 1, [1, 2], ["户编号", "经度", "纬度"])
    'rows 1 and 2 are one header (坐标 over 经度, 纬度): read as the columns 户编号, 经度, 纬度'
    >>> header_note([("户编号", "坐标", None), (), (None, "经度", "纬度")], 0, 2, [1, 2, 3], ["户编号", "经度", "纬度"])
    'rows 1 and 3 are one header, the blank row 2 between them no part of it (坐标 over 经度, 纬度): read as the columns 户编号, 经度, 纬度'
    """
    used = header_rows(rows, first, last)
    over = []
    for upper, lower in zip(used, used[1:]):
        width = max(len(rows[upper]), len(rows[lower]))
        top, sub = _one_row(rows[upper], width), _one_row(rows[lower], width)
        groups: dict[int, list[str]] = {}
        for j, g in enumerate(_groups(top)):
            if g is not None and sub[j] is not None:
                groups.setdefault(g, []).append(sub[j])
        over += [f"{top[g]} over {', '.join(subs)}" for g, subs in groups.items()]
    blank = [numbers[i] for i in range(first, last + 1) if i not in used]
    between = ""
    if blank:
        between = (f", the blank row {blank[0]} between them no part of it" if len(blank) == 1
                   else f", the blank rows {_listed(blank)} between them no part of it")
    return (f"rows {_listed([numbers[i] for i in used])} are one header{between} ({'; '.join(over)}): "
            f"read as the columns {', '.join(map(str, columns))}")


def _listed(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def _groups(top: list) -> list[int | None]:
    """Per column, the column of the group name over it: a name over the blank cells after
    it (merged), or typed again over each of its columns; ``None`` before the first name."""
    group: list[int | None] = []
    start = None
    for j, name in enumerate(top):
        if name is not None and (start is None or name != top[start]):
            start = j
        group.append(start)
    return group


def _part_of(group: str, sub: str) -> bool:
    """Whether ``sub`` names a part of the column a known ``group`` name means: 户主 over
    姓名 (户主姓名 is a name too), 坐标 (经纬度) over 经度 or 纬度."""
    if known_header(_join(group, sub)):
        return True

    def meaning(name: str) -> str | None:
        return next(iter(resolve_columns([name], "households")), None)

    return meaning(group) == LONLAT and meaning(sub) in (C.LON, C.LAT)


def _two_rows(upper: tuple, lower: tuple) -> list | None:
    """The column names of ``upper`` over its sub-header ``lower``, or ``None`` when
    ``lower`` is no sub-header of it (see the module's rule)."""
    width = max(len(upper), len(lower))
    top = _one_row(upper, width)
    sub = [None if _blank(v) else v for v in lower] + [None] * (width - len(lower))
    filled = [j for j in range(width) if sub[j] is not None]
    if not filled or any(not isinstance(sub[j], str) or _numeric(sub[j]) for j in filled):
        return None
    sub = [None if v is None else v.strip() for v in sub]
    if not any(known_header(sub[j]) for j in filled):
        return None
    group = _groups(top)
    span = {g: group.count(g) for g in set(group) if g is not None}
    for j in filled:
        g = group[j]
        if g is not None and span[g] >= 2:
            continue
        # over one column alone (or over nothing): a name renamed, never a record's cell
        if not (known_header(sub[j]) and (g is None or not known_header(top[g]))):
            return None
    # a group name an import knows is one only over its parts (户主 over 姓名, 坐标 over 经度):
    # 与户主关系 over 户主 | 党员 is a person's row
    for g in {group[j] for j in filled if group[j] is not None}:
        if known_header(top[g]) and not any(_part_of(top[g], sub[j]) for j in filled if group[j] == g):
            return None
    keys = [normalize_header(s) if s is not None else None for s in sub]
    names: list[str | None] = []
    for j in range(width):
        g = group[j]
        if sub[j] is None:
            # a name merged down over both rows: nothing under any of its columns
            alone = g is not None and all(sub[k] is None for k in range(width) if group[k] == g)
            names.append(top[j] if alone and top[j] is not None else None)
        elif g is not None and (keys.count(keys[j]) > 1 or known_header(top[g])
                                and known_header(_join(top[g], sub[j]))):
            names.append(_join(top[g], sub[j]))  # 姓名 under 户主 and under 联系人; 户主 over 姓名
        else:
            names.append(sub[j])
    return names

"""The columns of a file that geogrid does not know (备注, 人口, 面积, 来源...), carried into
the rows a reader returns: one rule for households, persons and boundaries.

Which headers come through is :func:`~geogrid.io.headers.extra_headers`' rule (not a
header ``columns`` ignores, not one named as a column of the reader's own, not a person's
name, ID number, phone or birth date); what was typed under them is then read by
:func:`~geogrid.io.personalnumbers.screen_columns` (a column mostly of ID or phone
numbers is left out, such a number elsewhere masked).  Every header left out and every
value masked has a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import geopandas as gpd
import pandas as pd

from geogrid.io.headers import extra_headers
from geogrid.io.personalnumbers import screen_columns

__all__ = ["other_columns"]


def other_columns(
    raw: pd.DataFrame, mapping: Mapping[str, str], *, rows: Sequence,
    columns: Mapping[str, str | None] | None = None, taken: Iterable[str] = (),
) -> tuple[dict, list[tuple[int | None, str, str]]]:
    """``(values, notes)``: the columns of ``raw`` (as :func:`~geogrid.io.read_table`
    reads a file) that ``mapping`` (:func:`~geogrid.io.headers.resolve_columns`) maps to
    none of the reader's, ``{header: array of values}`` in the file's order, to be
    added to the reader's rows (positions as ``raw``'s); and ``(position or None,
    header, note)`` for each header left out and each value masked, as
    :func:`~geogrid.io.batch.make_batch` takes notes.  ``taken``: the reader's own
    column names, which a header of the file may not take; ``rows``: the file's row
    numbers of ``raw``'s rows, for the notes.  A vector file's own geometry column is
    the rows' geometry, not one of the file's other columns.

    >>> raw = pd.DataFrame({"户号": ["H1", "H2"], "备注": ["低保", "户主电话13812345678"],
    ...                     "身份证号": ["", ""], "_row": [2, 3]})
    >>> values, notes = other_columns(raw, {"household_no": "户号"}, rows=[2, 3], taken=["household_no"])
    >>> {h: list(v) for h, v in values.items()}
    {'备注': ['低保', '户主电话138****5678']}
    >>> [(pos, header) for pos, header, _ in notes]
    [(None, '身份证号'), (1, '备注')]
    """
    headers = list(raw.columns)
    if isinstance(raw, gpd.GeoDataFrame) and raw.geometry.name in raw.columns:
        headers.remove(raw.geometry.name)
    kept, left_out = extra_headers(headers, mapping, columns=columns, taken=taken)
    # what the headers do not say: ID and phone numbers typed under them (备注, 联系人)
    values, by_content, masked = screen_columns(raw, kept, rows)
    notes = [(None, str(h), why) for h, why in [*left_out, *by_content]]
    notes += [(pos, str(h), note) for pos, h, note in masked]
    return values, notes

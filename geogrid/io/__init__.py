"""Files in and out: read, validate and write registers and boundaries.

No database code lives here.  :func:`read_table` reads any accepted format as it is;
the ``load_*`` functions map headers onto :mod:`geogrid.columns`, validate every row
and return an :class:`ImportBatch` of valid rows (geometry in EPSG:4326) and rejected
rows (untouched, with a reason); :func:`write_table` and :func:`write_rejects` write.
:func:`write_plan` writes a partition plan as ``geogrid partition --out`` does, and
:func:`read_plan` reads it back, with the parameters it was drawn with.

>>> from geogrid.io import load_households, write_rejects   # doctest: +SKIP
>>> batch = load_households("户籍.xlsx", crs="gcj02")          # doctest: +SKIP
>>> batch.raise_for_rejects()  # all-or-nothing                # doctest: +SKIP
"""

from geogrid.io.batch import REASON, ImportBatch
from geogrid.io.boundaries import BOUNDARY_COLUMNS, load_boundaries, normalize_level
from geogrid.io.encoding import detect_encoding
from geogrid.io.export import WRITE_FORMATS, escape_formulas, to_chinese, write_rejects, write_table
from geogrid.io.formats import FORMATS, ROW, format_of, read_table
from geogrid.io.headers import SYNONYMS, normalize_header, parse_columns_option, resolve_columns
from geogrid.io.households import HOUSEHOLD_COLUMNS, load_households
from geogrid.io.persons import PERSON_COLUMNS, load_persons
from geogrid.io.planfile import read_plan, write_plan

__all__ = [
    "BOUNDARY_COLUMNS",
    "FORMATS",
    "HOUSEHOLD_COLUMNS",
    "ImportBatch",
    "PERSON_COLUMNS",
    "REASON",
    "ROW",
    "SYNONYMS",
    "WRITE_FORMATS",
    "detect_encoding",
    "escape_formulas",
    "format_of",
    "load_boundaries",
    "load_households",
    "load_persons",
    "normalize_header",
    "normalize_level",
    "parse_columns_option",
    "read_plan",
    "read_table",
    "resolve_columns",
    "to_chinese",
    "write_plan",
    "write_rejects",
    "write_table",
]

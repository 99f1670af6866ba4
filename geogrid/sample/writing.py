"""Write a :class:`~geogrid.sample.SampleCounty` as the files a county office would send.

* ``households.csv`` and ``persons.csv``: UTF-8 with a BOM (so Excel opens them),
  Chinese headers from :data:`geogrid.columns.ZH_HEADERS`, coded values as the Chinese
  words registers use (放心户/关心户/连心户, 男/女, 是/否, 独居老人、外出务工).  Person
  tags are joined by the Chinese enumeration comma ``、``.  Household coordinates
  (经度/纬度) are GCJ-02, as if geocoded with AMap, rounded to 6 decimals (~0.1 m),
  with a 坐标系 column saying ``gcj02``.  ID and phone numbers are text.
* ``households.xlsx`` and ``persons.xlsx`` (``formats`` includes ``"xlsx"``): the same
  tables, every ID and phone number a text cell.
* ``county.geojson``, ``towns.geojson``, ``villages.geojson``: WGS84, columns
  ``code``, ``name``, ``parent_code``, ``level``, ``vintage``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geogrid import columns as C
from geogrid.crs import from_wgs84
from geogrid.errors import InputError

__all__ = [
    "TAG_SEPARATOR",
    "HOUSEHOLD_COLUMNS",
    "PERSON_COLUMNS",
    "households_table",
    "persons_table",
    "write_sample",
]

#: How person tags are joined in the written files.
TAG_SEPARATOR = "、"
HOUSEHOLD_COLUMNS = (
    C.HOUSEHOLD_NO,
    C.HEAD_NAME,
    C.ADDRESS,
    C.VILLAGE_CODE,
    C.HAMLET,
    C.BUILDING,
    C.CARE_LEVEL,
    C.LON,
    C.LAT,
    C.SOURCE_CRS,
)
PERSON_COLUMNS = (
    C.HOUSEHOLD_NO,
    C.NAME,
    C.GENDER,
    C.BIRTH_DATE,
    C.ID_NUMBER,
    C.PHONE,
    C.RELATION,
    C.PARTY_MEMBER,
    C.TAGS,
)
_AREA_COLUMNS = (C.CODE, C.NAME, C.PARENT_CODE, C.LEVEL, C.VINTAGE)
_FORMATS = {"csv", "xlsx"}


def households_table(households) -> pd.DataFrame:
    """Households as written: Chinese headers and values, GCJ-02 coordinates."""
    x = households.geometry.x.to_numpy(float)
    y = households.geometry.y.to_numpy(float)
    lon, lat = from_wgs84(x, y, "gcj02")
    df = pd.DataFrame(
        {
            C.HOUSEHOLD_NO: households[C.HOUSEHOLD_NO].to_numpy(object),
            C.HEAD_NAME: households[C.HEAD_NAME].to_numpy(object),
            C.ADDRESS: households[C.ADDRESS].to_numpy(object),
            C.VILLAGE_CODE: households[C.VILLAGE_CODE].to_numpy(object),
            C.HAMLET: households[C.HAMLET].to_numpy(object),
            C.BUILDING: households[C.BUILDING].to_numpy(object),
            C.CARE_LEVEL: households[C.CARE_LEVEL].map(C.ZH_CARE_LEVELS).to_numpy(object),
            C.LON: np.round(lon, 6),
            C.LAT: np.round(lat, 6),
            C.SOURCE_CRS: "gcj02",
        }
    )
    return df.rename(columns=C.ZH_HEADERS)


def _zh_tags(value: str) -> str:
    if not value:
        return ""
    return TAG_SEPARATOR.join(C.ZH_PERSON_TAGS[t] for t in value.split(";"))


def persons_table(persons: pd.DataFrame) -> pd.DataFrame:
    """Persons as written: Chinese headers and values, dates as YYYY-MM-DD text."""
    df = pd.DataFrame(
        {
            C.HOUSEHOLD_NO: persons[C.HOUSEHOLD_NO].to_numpy(object),
            C.NAME: persons[C.NAME].to_numpy(object),
            C.GENDER: persons[C.GENDER].map(C.ZH_GENDERS).to_numpy(object),
            C.BIRTH_DATE: pd.to_datetime(persons[C.BIRTH_DATE]).dt.strftime("%Y-%m-%d").to_numpy(object),
            C.ID_NUMBER: persons[C.ID_NUMBER].to_numpy(object),
            C.PHONE: persons[C.PHONE].to_numpy(object),
            C.RELATION: persons[C.RELATION].to_numpy(object),
            C.PARTY_MEMBER: np.where(persons[C.PARTY_MEMBER].to_numpy(bool), "是", "否").astype(object),
            C.TAGS: [_zh_tags(t) for t in persons[C.TAGS]],
        }
    )
    return df.rename(columns=C.ZH_HEADERS)


def _write_areas(gdf, path: Path) -> None:
    out = gdf[list(_AREA_COLUMNS) + [gdf.geometry.name]].copy()
    out[C.VINTAGE] = out[C.VINTAGE].astype("int32")
    out = out.to_crs("EPSG:4326")
    if path.exists():
        path.unlink()  # the GeoJSON driver will not overwrite
    out.to_file(path, driver="GeoJSON", engine="pyogrio")


def write_sample(county, out_dir, formats=("csv",)) -> list[Path]:
    """Write ``county`` (a :class:`~geogrid.sample.SampleCounty`) into ``out_dir``.

    ``formats`` holds ``"csv"`` and/or ``"xlsx"`` for the households and persons; the
    boundaries are always GeoJSON.  Returns the paths written.
    """
    formats = {formats} if isinstance(formats, str) else set(formats)
    unknown = formats - _FORMATS
    if unknown:
        raise InputError(f"unknown sample format(s) {sorted(unknown)}; use csv and/or xlsx")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables = {"households": households_table(county.households), "persons": persons_table(county.persons)}
    for name, table in tables.items():
        if "csv" in formats:
            path = out / f"{name}.csv"
            table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n", float_format="%.6f")
            written.append(path)
        if "xlsx" in formats:
            path = out / f"{name}.xlsx"
            table.to_excel(path, index=False, engine="openpyxl")
            written.append(path)
    for name in ("county", "towns", "villages"):
        path = out / f"{name}.geojson"
        _write_areas(getattr(county, name), path)
        written.append(path)
    return written

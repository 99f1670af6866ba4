"""Tiny hand-drawn registers for the database tests.

Two villages side by side (0.1° squares) in one town of county 431227, households on a
regular grid inside them, and a few persons.
"""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

V1, V2, TOWN, COUNTY = "431227100201", "431227100202", "431227100000", "431227"


def make_villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [V1, V2], "name": ["甲村", "乙村"], "parent_code": [TOWN, TOWN],
         "vintage": [2023, 2023]},
        geometry=[box(109.0, 27.0, 109.1, 27.1), box(109.1, 27.0, 109.2, 27.1)], crs=4326)


def make_households(n: int = 40, *, prefix: str = "H") -> gpd.GeoDataFrame:
    """``n`` households on a grid; the first half in V1, the rest in V2."""
    rows, points = [], []
    for i in range(n):
        village = V1 if i < n // 2 else V2
        x0 = 109.0 if village == V1 else 109.1
        x = x0 + 0.01 + 0.08 * ((i % 10) / 10)
        y = 27.01 + 0.008 * (i // 10)
        rows.append({"household_no": f"{prefix}{i:05d}", "head_name": f"户主{i}",
                     "address": f"某组{i}号", "village_code": village,
                     "building": f"B{i // 3}", "hamlet": "大寨" if i % 2 else "小寨",
                     "care_level": ("green", "yellow", "red")[i % 3], "source_crs": "wgs84"})
        points.append(Point(x, y))
    return gpd.GeoDataFrame(rows, geometry=points, crs=4326)


def make_persons(households: gpd.GeoDataFrame) -> pd.DataFrame:
    from datetime import date

    from geogrid.idnumber import make_id_number

    rows = []
    for i, no in enumerate(households["household_no"]):
        birth = date(1950 + i % 50, 1 + i % 12, 1 + i % 28)
        rows.append({"household_no": no, "name": f"户主{i}", "gender": "M",
                     "birth_date": birth,
                     "id_number": make_id_number("431227", birth, 2 * i + 1, "M"),
                     "phone": f"139{i:08d}", "relation": "户主", "party_member": i % 4 == 0,
                     "tags": ["elderly_alone"] if i % 5 == 0 else []})
        rows.append({"household_no": no, "name": f"家属{i}", "gender": "F",
                     "birth_date": None, "id_number": None, "phone": None, "relation": "配偶",
                     "party_member": False, "tags": "disabled"})
    return pd.DataFrame(rows)


def make_result(households_frame: gpd.GeoDataFrame, per_cell: int = 5):
    """A stand-in for a partition result: one micro-grid per village, cells of ``per_cell``."""
    hh = households_frame.copy()
    hh["microgrid_id"] = hh["village_code"] + "-M1"
    order = hh.groupby("village_code").cumcount()
    hh["cell_id"] = hh["microgrid_id"] + "-C" + (order // per_cell).astype(str)
    import warnings

    cells = hh.dissolve("cell_id", aggfunc={"microgrid_id": "first", "village_code": "first",
                                           "household_no": "count"}).reset_index()
    cells = cells.rename(columns={"household_no": "households"})
    with warnings.catch_warnings():  # buffering degrees is fine for a stand-in
        warnings.simplefilter("ignore", UserWarning)
        cells["geometry"] = cells.geometry.envelope.buffer(0.001, join_style="mitre")
    mg = cells.dissolve("microgrid_id", aggfunc={"village_code": "first", "households": "sum"})
    mg = mg.reset_index()
    mg["area_km2"] = 1.0
    return SimpleNamespace(households=hh, microgrids=mg, cells=cells, report={})



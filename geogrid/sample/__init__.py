"""A realistic, deterministic sample county inside the real Xinhuang outline.

>>> county = generate_county(seed=0, n_households=2000, towns=["波州镇"])   # doctest: +SKIP
>>> write_sample(county, "out/")                                           # doctest: +SKIP

:func:`generate_county` builds towns and villages that tile the county
(:mod:`geogrid.sample.geography`), places households in hamlets, estates, streets and
farmhouses (:mod:`geogrid.sample.settlements`) and fills them with people
(:mod:`geogrid.sample.people`).  :func:`write_sample` writes the files the import path
reads (:mod:`geogrid.sample.writing`).

Determinism: the geography and the number of households of every village come from
``numpy.random.default_rng(seed)``; each town's households and people come from their
own generator seeded with ``(seed, town code)``.  A town therefore comes out the same
whether it is generated alone (``towns=[...]``) or with the whole county, so the slice
in ``data/sample/`` is an exact subset of the full county of the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geogrid import columns as C
from geogrid.errors import InputError
from geogrid.sample.geography import COUNTY_CODE, COUNTY_NAME, TOWNS, VINTAGE, Areas, build_areas
from geogrid.sample.names import VillageNamer
from geogrid.sample.people import REFERENCE_DATE, make_people
from geogrid.sample.settlements import settle_village

__all__ = [
    "SampleCounty",
    "generate_county",
    "write_sample",
    "resolve_towns",
    "N_HOUSEHOLDS",
    "REFERENCE_DATE",
    "TOWNS",
]

#: Xinhuang's published number of households.
N_HOUSEHOLDS = 79_507

Progress = Callable[[str, int, int], None]

# Relative household weights of a village by kind.
_W_SEAT, _W_COMMUNITY = 6.0, 2.5


@dataclass
class SampleCounty:
    """The sample register; every GeoDataFrame is in EPSG:4326 (WGS84)."""

    county: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    households: gpd.GeoDataFrame
    persons: pd.DataFrame
    seed: int = 0

    def summary(self) -> dict:
        """Counts for a report: towns, villages, households, persons and hamlet sizes."""
        sizes = self.households.groupby([C.VILLAGE_CODE, C.HAMLET]).size()
        return {
            "towns": len(self.towns),
            "villages": len(self.villages),
            "households": len(self.households),
            "persons": len(self.persons),
            "persons_per_household": round(len(self.persons) / max(len(self.households), 1), 3),
            "hamlets": int(len(sizes)),
            "hamlet_size_quantiles": {q: float(sizes.quantile(q)) for q in (0.0, 0.1, 0.5, 0.9, 1.0)}
            if len(sizes)
            else {},
        }


def resolve_towns(towns: Iterable[str] | None) -> list[int]:
    """Indices into :data:`TOWNS` for codes (12- or 9-digit) or names (晃州镇 or 晃州)."""
    if towns is None:
        return list(range(len(TOWNS)))
    if isinstance(towns, str):
        towns = [towns]
    out = []
    for t in towns:
        key = str(t).strip()
        hit = [i for i, (code, name, stem) in enumerate(TOWNS) if key in (code, code[:9], name, stem)]
        if not hit:
            listing = ", ".join(f"{code} {name}" for code, name, _ in TOWNS)
            raise InputError(f"unknown town {t!r}; use a code or name of one of: {listing}")
        out.extend(i for i in hit if i not in out)
    return sorted(out)


def _allocate(rng: np.random.Generator, areas: Areas, total: int) -> np.ndarray:
    """Households per village, summing exactly to ``total`` (largest remainders)."""
    n = len(areas.village_polygons)
    area = np.array([p.area for p in areas.village_polygons])
    w = rng.lognormal(0.0, 0.35, n) * np.sqrt(area / area.mean())
    w = np.where(
        areas.village_is_county_seat,
        _W_SEAT * rng.uniform(0.8, 1.2, n),
        np.where(areas.village_is_community, _W_COMMUNITY * rng.uniform(0.8, 1.2, n), w),
    )
    share = w / w.sum() * total
    counts = np.floor(share).astype(int)
    rest = total - counts.sum()
    counts[np.argsort(-(share - counts), kind="stable")[:rest]] += 1
    return counts


def generate_county(
    seed: int = 0,
    n_households: int = N_HOUSEHOLDS,
    towns: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> SampleCounty:
    """Generate the sample county (or some of its towns).

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives identical output.
    n_households
        Households in the whole county (Xinhuang's published 79,507 by default).
    towns
        Codes or names of towns to generate; ``None`` for all.  Households are always
        allotted over the whole county first, so a town has the same households
        whether generated alone or with the others.
    progress
        Called as ``progress(stage, done, total)`` while the work proceeds.

    Returns
    -------
    SampleCounty
        county, towns, villages, households and persons; geometry in EPSG:4326.
    """
    if n_households < 0:
        raise InputError(f"n_households must be 0 or more, got {n_households}")
    chosen = resolve_towns(towns)
    report = progress or (lambda stage, done, total: None)
    report("areas", 0, 1)
    rng = np.random.default_rng(seed)
    areas = build_areas(rng)
    counts = _allocate(rng, areas, int(n_households))
    report("areas", 1, 1)
    frame = areas.frame

    county = gpd.GeoDataFrame(
        {
            C.CODE: [COUNTY_CODE],
            C.NAME: [COUNTY_NAME],
            C.PARENT_CODE: [None],
            C.LEVEL: ["county"],
            C.VINTAGE: [VINTAGE],
        },
        geometry=[areas.county],
        crs="EPSG:4326",
    )
    towns_gdf = gpd.GeoDataFrame(
        {
            C.CODE: [areas.town_codes[t] for t in chosen],
            C.NAME: [areas.town_names[t] for t in chosen],
            C.PARENT_CODE: COUNTY_CODE,
            C.LEVEL: "town",
            C.VINTAGE: VINTAGE,
        },
        geometry=[frame.to_wgs84(areas.town_polygons[t]) for t in chosen],
        crs="EPSG:4326",
    )
    vidx = sorted(
        (i for i in range(len(areas.village_codes)) if areas.village_town[i] in chosen),
        key=lambda i: areas.village_codes[i],
    )
    vcodes = [areas.village_codes[i] for i in vidx]
    vtown = [areas.town_codes[areas.village_town[i]] for i in vidx]
    villages_gdf = gpd.GeoDataFrame(
        {
            C.CODE: vcodes,
            C.VILLAGE_CODE: vcodes,
            C.NAME: [areas.village_names[i] for i in vidx],
            C.TOWN_CODE: vtown,
            C.PARENT_CODE: vtown,
            C.LEVEL: "village",
            C.VINTAGE: VINTAGE,
        },
        geometry=[frame.to_wgs84(areas.village_polygons[i]) for i in vidx],
        crs="EPSG:4326",
    )

    hh_parts, person_parts = [], []
    total = int(sum(counts[i] for i in vidx))
    done = 0
    report("households", 0, total)
    for t in chosen:
        code = areas.town_codes[t]
        trng = np.random.default_rng([seed, int(code)])
        namer = VillageNamer(trng)
        cols: dict[str, list] = {
            k: [] for k in ("x", "y", "hamlet", "building", "address", "clan", "urban", "no", "vcode")
        }
        for i in (i for i in vidx if areas.village_town[i] == t):
            kind = (
                "seat"
                if areas.village_is_county_seat[i]
                else ("community" if areas.village_is_community[i] else "village")
            )
            s = settle_village(
                trng,
                namer,
                areas.village_polygons[i],
                int(counts[i]),
                kind,
                areas.town_names[t] + areas.village_names[i],
                areas.village_codes[i],
            )
            for k in ("x", "y", "hamlet", "building", "address", "clan", "urban"):
                cols[k].extend(getattr(s, k))
            cols["no"].extend(f"{areas.village_codes[i]}-{j:04d}" for j in range(1, len(s.x) + 1))
            cols["vcode"].extend([areas.village_codes[i]] * len(s.x))
            done += len(s.x)
            report("households", done, total)
        if not cols["no"]:
            continue
        people, care = make_people(
            trng, np.array(cols["clan"], dtype=object), np.array(cols["urban"], bool), t
        )
        nos = np.array(cols["no"], dtype=object)
        people.insert(0, C.HOUSEHOLD_NO, nos[people.pop("hh").to_numpy()])
        heads = people.loc[people[C.RELATION] == "户主"].set_index(C.HOUSEHOLD_NO)[C.NAME]
        lon, lat = frame.xy_to_lonlat(np.array(cols["x"]), np.array(cols["y"]))
        hh_parts.append(
            pd.DataFrame(
                {
                    C.HOUSEHOLD_NO: nos,
                    C.HEAD_NAME: heads.reindex(nos).to_numpy(),
                    C.ADDRESS: np.array(cols["address"], dtype=object),
                    C.VILLAGE_CODE: np.array(cols["vcode"], dtype=object),
                    C.BUILDING: np.array(cols["building"], dtype=object),
                    C.HAMLET: np.array(cols["hamlet"], dtype=object),
                    C.CARE_LEVEL: care,
                    "_lon": lon,
                    "_lat": lat,
                }
            )
        )
        person_parts.append(people)

    if hh_parts:
        hh = pd.concat(hh_parts, ignore_index=True)
        persons = pd.concat(person_parts, ignore_index=True)
    else:
        hh = pd.DataFrame(
            columns=[
                C.HOUSEHOLD_NO,
                C.HEAD_NAME,
                C.ADDRESS,
                C.VILLAGE_CODE,
                C.BUILDING,
                C.HAMLET,
                C.CARE_LEVEL,
                "_lon",
                "_lat",
            ]
        )
        persons = pd.DataFrame(
            columns=[
                C.HOUSEHOLD_NO,
                C.NAME,
                C.GENDER,
                C.BIRTH_DATE,
                C.ID_NUMBER,
                C.PHONE,
                C.RELATION,
                C.PARTY_MEMBER,
                C.TAGS,
            ]
        )
    geom = shapely.points(hh.pop("_lon").to_numpy(float), hh.pop("_lat").to_numpy(float))
    households = gpd.GeoDataFrame(hh, geometry=geom, crs="EPSG:4326")
    return SampleCounty(
        county=county,
        towns=towns_gdf,
        villages=villages_gdf,
        households=households,
        persons=persons,
        seed=seed,
    )


def write_sample(county: SampleCounty, out_dir, formats=("csv",)) -> list:
    """Write the files the import path reads; see :func:`geogrid.sample.writing.write_sample`."""
    from geogrid.sample.writing import write_sample as _write

    return _write(county, out_dir, formats=formats)

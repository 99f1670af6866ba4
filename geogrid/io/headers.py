"""Map the headers a file arrives with onto geogrid's canonical column names.

Registers use many spellings for one column: 户编号, 户号 or 户籍编号; 经度, lon, lng or x.
Each kind of import (households, persons, boundaries) has its own table of synonyms
because a bare "代码" or "name" means different things in each.  Headers are compared
after normalisation: NFKC (full-width to half-width), lower case, no spaces, ``_`` or
``-``, no leading ``*`` (the "required" mark of many templates) and no trailing unit in
brackets, so "经度（WGS84）" and "* 户 号" are recognised.

A ``columns`` mapping ``{file header: canonical name}`` overrides the table; map a
header to ``None`` (or ``""``) to ignore it.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping

from geogrid import columns as C
from geogrid.errors import ColumnError

__all__ = [
    "ARRIVED_CRS", "LONLAT", "SYNONYMS", "VILLAGE", "VILLAGE_NAME", "WKT",
    "extra_headers", "known_header", "normalize_header", "personal_header", "resolve_columns",
    "require_columns", "parse_columns_option", "village_columns",
]

#: A village given by name or by code: decided per cell (12 digits are a code).
VILLAGE = "village"
#: The village name column produced when a file names villages instead of coding them.
VILLAGE_NAME = "village_name"
#: Longitude and latitude in one cell ("109.17,27.35"), as a map picker copies them.
LONLAT = "lonlat"
#: A text column of WKT geometry (lets a CSV or XLSX carry polygons).
WKT = "wkt"
#: The system a household's point first arrived in, as ``geogrid export households``
#: writes it next to WGS84 coordinates: kept as the stored ``source_crs`` but never
#: used to convert (the ``坐标系``/``source_crs`` column says what the coordinates are).
ARRIVED_CRS = "arrived_crs"

_HOUSEHOLD_NO = ("户编号", "户号", "户籍编号", "户编码", "户籍号", "家庭编号", "household_no",
                 "household_number", "householdno", "hh_no", "hhno", "household",
                 "household_")  # "household_": a Shapefile cuts names to 10 characters

_HOUSEHOLDS: dict[str, tuple[str, ...]] = {
    C.HOUSEHOLD_NO: _HOUSEHOLD_NO,
    C.HEAD_NAME: ("户主", "户主姓名", "户主名", "户主名称", "head_name", "head", "householder"),
    C.ADDRESS: ("地址", "家庭住址", "住址", "家庭地址", "详细地址", "居住地址", "现住址", "address", "addr"),
    C.LON: ("经度", "东经", "lon", "lng", "long", "longitude", "x", "坐标x", "x坐标"),
    C.LAT: ("纬度", "北纬", "lat", "latitude", "y", "坐标y", "y坐标"),
    LONLAT: ("经纬度", "经纬度坐标", "经纬坐标", "经纬", "gps坐标", "gps经纬度", "坐标(经度,纬度)", "lonlat",
             "lnglat", "lon_lat", "lng_lat"),
    C.VILLAGE_CODE: ("村代码", "村编码", "村编号", "村区划代码", "村级代码", "村委会代码", "village_code",
                     "villagecode", "village_id", "village_co"),
    VILLAGE: ("村", "村名", "村名称", "村委会", "村委", "行政村", "所属村", "所在村", "村(社区)", "村社区",
              "村居", "village", VILLAGE_NAME, "village_na"),
    C.BUILDING: ("楼栋", "楼栋编号", "楼栋号", "楼号", "房屋编号", "建筑编号", "building", "building_no",
                 "building_id", "bldg"),
    C.HAMLET: ("自然寨", "组", "村民小组", "小组", "团寨", "寨", "自然村", "组别", "hamlet", "group"),
    C.CARE_LEVEL: ("户类别", "关爱等级", "户类型", "关爱类别", "等级", "care_level", "care", "carelevel"),
    C.SOURCE_CRS: ("坐标系", "坐标系统", "坐标系名称", "source_crs", "crs", "datum"),
    ARRIVED_CRS: ("原坐标系", "原始坐标系", "来源坐标系", "arrived_crs", "arrived_cr"),
}

_PERSONS: dict[str, tuple[str, ...]] = {
    C.HOUSEHOLD_NO: _HOUSEHOLD_NO,
    C.NAME: ("姓名", "名字", "人员姓名", "name", "full_name", "person_name"),
    C.ID_NUMBER: ("身份证号", "身份证号码", "公民身份号码", "身份证", "居民身份证号", "居民身份证号码",
                  "证件号码", "证件号", "身份号码", "id_number", "idnumber", "id_no", "idno", "id_card",
                  "idcard"),
    C.GENDER: ("性别", "gender", "sex"),
    C.BIRTH_DATE: ("出生日期", "出生年月", "出生年月日", "生日", "birth_date", "birthdate", "birthday",
                   "date_of_birth", "dob"),
    C.PHONE: ("联系电话", "手机号", "手机号码", "手机", "电话", "电话号码", "联系方式", "联系电话号码",
              "phone", "mobile", "tel", "telephone", "phone_number"),
    C.RELATION: ("与户主关系", "与户主的关系", "家庭关系", "关系", "relation", "relationship"),
    C.PARTY_MEMBER: ("是否党员", "党员", "政治面貌", "中共党员", "party_member", "party", "partymember", "party_memb"),
    C.TAGS: ("人员标签", "标签", "人员类别", "特殊人群", "tags", "tag", "labels"),
}

_BOUNDARIES: dict[str, tuple[str, ...]] = {
    C.CODE: ("区划代码", "行政区划代码", "统计用区划代码", "代码", "编码", "区划编码", "code", "adcode",
             "admin_code", "gb", "区划码"),
    C.NAME: ("名称", "区划名称", "行政区划名称", "名字", "name", "区划名"),
    C.PARENT_CODE: ("上级代码", "上级区划代码", "父级代码", "上级编码", "parent_code", "parent",
                    "parent_adcode", "parentcode", "parent_cod"),
    C.VINTAGE: ("年份", "版本", "年度", "vintage", "year"),
    C.LEVEL: ("级别", "层级", "level"),
    WKT: ("wkt", "几何", "geometry_wkt", "geom_wkt", "the_geom", "geometry"),  # "geometry": CSV/XLSX of `geogrid export areas`
}

#: Canonical name -> recognised headers, per kind of import.
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "households": _HOUSEHOLDS,
    "persons": _PERSONS,
    "boundaries": _BOUNDARIES,
}

_BRACKETS = re.compile(r"[\(\[【].*?[\)\]】]\s*$")


def normalize_header(header: object) -> str:
    """The comparison key of a header.

    >>> normalize_header(" * 经度（WGS84） ")
    '经度'
    >>> normalize_header("Household_No")
    'householdno'
    """
    text = unicodedata.normalize("NFKC", str(header)).strip().lstrip("*＊").strip()
    stripped = _BRACKETS.sub("", text).strip()
    text = stripped or text
    return re.sub(r"[\s_\-]+", "", text).lower()


def _lookup(kind: str) -> dict[str, str]:
    table = {}
    for canonical, names in SYNONYMS[kind].items():
        for name in (canonical, *names):
            table.setdefault(normalize_header(name), canonical)
    return table


@functools.cache
def _known_keys() -> frozenset[str]:
    return frozenset(key for kind in SYNONYMS for key in _lookup(kind))


def known_header(value: object) -> bool:
    """Whether a cell holds a column name some import recognises (of households, persons
    or boundaries, in any of its spellings): how a table's header row is told from the
    title and subtitle rows above it.

    >>> known_header("* 经度（WGS84）"), known_header("填报单位：长乐村"), known_header(None)
    (True, False, False)
    """
    if value is None or not isinstance(value, str):
        return False
    return bool(value.strip()) and normalize_header(value) in _known_keys()


def parse_columns_option(text: str | None) -> dict[str, str | None]:
    """Parse the CLI's ``--columns`` text ``"户 号=household_no,X坐标=lon"`` into a mapping.

    >>> parse_columns_option("户 号=household_no, 备注=")
    {'户 号': 'household_no', '备注': None}
    """
    if not text:
        return {}
    mapping: dict[str, str | None] = {}
    for part in re.split(r"[,，;；]", text):
        if not part.strip():
            continue
        if "=" not in part:
            raise ColumnError(f"--columns: {part.strip()!r} is not HEADER=column (for example 户 号=household_no)")
        header, _, canonical = part.partition("=")
        mapping[header.strip()] = canonical.strip() or None
    return mapping


def resolve_columns(
    headers: Iterable[object],
    kind: str,
    *,
    columns: Mapping[str, str | None] | None = None,
    source: str | os.PathLike = "<table>",
) -> dict[str, str]:
    """``{canonical name: file header}`` for the headers of one file.

    Headers that mean nothing to ``kind`` are left out (they are kept in the rejects
    file).  Two headers meaning the same column, or a ``columns`` override that names a
    missing header or an unknown column, raise :class:`~geogrid.errors.ColumnError`.

    >>> resolve_columns(["户号", "经度", "纬度", "备注"], "households")
    {'household_no': '户号', 'lon': '经度', 'lat': '纬度'}
    """
    if kind not in SYNONYMS:
        raise ValueError(f"unknown kind {kind!r}")
    headers = [h for h in headers if h != "_row"]
    known = set(SYNONYMS[kind])
    table = _lookup(kind)
    result: dict[str, str] = {}
    overridden: set[str] = set()
    for header, canonical in (columns or {}).items():
        if header not in headers:
            by_key = [h for h in headers if normalize_header(h) == normalize_header(header)]
            if len(by_key) != 1:
                raise ColumnError(
                    f"{source}: --columns names the header {header!r}, which the file does not have; "
                    f"its headers are: {', '.join(map(str, headers))}"
                )
            header = by_key[0]
        overridden.add(header)
        if canonical in (None, ""):
            continue
        if canonical not in known:
            raise ColumnError(
                f"{source}: --columns maps {header!r} to {canonical!r}, which is not a {kind} column; "
                f"use one of {', '.join(sorted(known))}"
            )
        if canonical in result:
            raise ColumnError(
                f"{source}: --columns maps both {result[canonical]!r} and {header!r} to {canonical!r}"
            )
        result[canonical] = header
    for header in headers:
        if header in overridden:
            continue
        canonical = table.get(normalize_header(header))
        if canonical is None or canonical in result and result[canonical] in overridden:
            continue
        if canonical in result:
            raise ColumnError(
                f"{source}: columns {result[canonical]!r} and {header!r} both mean {canonical}; "
                f"choose one with --columns '{header}=' (an empty target ignores a column)"
            )
        result[canonical] = header
    return result


#: What a person's name, ID number, phone or birth date is headed with: the values the API
#: masks and reveals only for a stated purpose, on record (api.representation.REVEALABLE).
#: Beside the persons' headers of these columns, a header holding one of these words is one
#: of them (户主身份证号, 联系人电话, 家属姓名; 联系人 and 监护人 name a person).  What a header
#: does not say, the values may: :mod:`geogrid.io.personalnumbers` reads them.
_PERSONAL = (C.NAME, C.ID_NUMBER, C.PHONE, C.BIRTH_DATE)
_PERSONAL_WORDS = ("身份证", "证件号", "身份号码", "电话", "手机", "联系方式", "出生日期", "出生年月", "生日", "姓名",
                   "联系人", "监护人")


@functools.cache
def _personal_keys() -> frozenset[str]:
    return frozenset(normalize_header(n) for c in _PERSONAL for n in (c, *_PERSONS[c]))


def personal_header(header: object) -> bool:
    """Whether ``header`` heads a person's name, ID number, phone or birth date.

    >>> personal_header("身份证号码"), personal_header("户主联系电话"), personal_header("紧急联系人"), personal_header("备注")
    (True, True, True, False)
    """
    key = normalize_header(header)
    return key in _personal_keys() or any(word in key for word in _PERSONAL_WORDS)


def extra_headers(
    headers: Iterable[object], mapping: Mapping[str, str], *,
    columns: Mapping[str, str | None] | None = None, taken: Iterable[str] = (),
) -> tuple[list, list[tuple[object, str]]]:
    """``(kept, left_out)``: the headers of a file that map to no column (``mapping``,
    from :func:`resolve_columns`), which a reader carries under their own names, and
    ``(header, why)`` for those it leaves out: a header ``columns`` ignores (maps to
    ``None``), one named as a column of the reader's own (``taken``, compared without
    case, as a GeoPackage compares them), and a person's name, ID number, phone or
    birth date (:func:`personal_header`).  By their headers only: a reader then screens
    the values of those kept (:func:`geogrid.io.personalnumbers.screen_columns`).

    >>> kept, left_out = extra_headers(["户号", "经度", "纬度", "备注", "身份证号", "Geometry", "_row"],
    ...                                {"household_no": "户号", "lon": "经度", "lat": "纬度"},
    ...                                taken=["household_no", "lon", "lat", "geometry"])
    >>> kept, [header for header, _ in left_out]
    (['备注'], ['身份证号', 'Geometry'])
    """
    headers = [h for h in headers if h != "_row"]
    used = set(mapping.values())
    ignored = set()
    for header, canonical in (columns or {}).items():
        if canonical in (None, ""):
            ignored |= {h for h in headers if h == header or normalize_header(h) == normalize_header(header)}
    own = {str(t).lower() for t in taken}
    kept, left_out = [], []
    for header in headers:
        if header in used or header in ignored:
            continue
        if str(header).lower() in own:
            left_out.append((header, f"not carried into the rows read: {header!r} is the name of one of "
                                     "geogrid's own columns; rename the header to keep it"))
        elif personal_header(header):
            left_out.append((header, "not carried into the rows read: a person's name, ID number, phone or "
                                     "birth date, which geogrid keeps only in the persons register (masked, "
                                     "each full read on record); read_table(path) has it, by _row"))
        else:
            kept.append(header)
    return kept, left_out


def village_columns(headers: Iterable[object], *, overridden: Mapping[str, object] = ()) -> dict[str, str]:
    """``{code: header, name: header}`` from the headers a household register uses for its
    village (``村代码``/``village_code``; ``村名``/``村名称``), for a file of village outlines.

    A fallback under the boundary synonyms (区划代码, 名称), which win; headers named in
    ``overridden`` (a ``columns`` mapping) are left to it.

    >>> village_columns(["村代码", "村名", "geometry"])
    {'code': '村代码', 'name': '村名'}
    """
    taken = {normalize_header(h) for h in overridden}
    found: dict[str, str] = {}
    for canonical, synonyms in ((C.CODE, _HOUSEHOLDS[C.VILLAGE_CODE]), (C.NAME, _HOUSEHOLDS[VILLAGE])):
        keys = {normalize_header(n) for n in (synonyms if canonical == C.NAME else (C.VILLAGE_CODE, *synonyms))}
        header = next((h for h in headers if h != "_row" and normalize_header(h) in keys
                       and normalize_header(h) not in taken), None)
        if header is not None:
            found[canonical] = header
    return found


def require_columns(
    mapping: Mapping[str, str], required: Iterable[str], kind: str, headers: Iterable[object],
    *, source: str | os.PathLike = "<table>",
) -> None:
    """Raise :class:`~geogrid.errors.ColumnError` naming each missing required column."""
    missing = [c for c in required if c not in mapping]
    if not missing:
        return
    lines = []
    for canonical in missing:
        names = [n for n in SYNONYMS[kind][canonical] if not n.isascii()][:3]
        names += [canonical]
        lines.append(f"{canonical} (headers such as {'/'.join(names)})")
    shown = ", ".join(str(h) for h in headers if h != "_row")
    # partitioning needs no household numbers (geogrid partition reads without them)
    unnumbered = (" A file read only to be partitioned needs no household numbers: "
                  "load_households(..., require_number=False)."
                  if kind == "households" and C.HOUSEHOLD_NO in missing else "")
    raise ColumnError(
        f"{source}: missing column {'; '.join(lines)}. The file's headers are: {shown}. "
        f"{map_header_hint(missing[0])}{unnumbered}"
    )


def map_header_hint(canonical: str) -> str:
    """What a missing-column message tells to do, in Python and on the command line
    (the same readers serve both)."""
    return (f"Rename the header or map it: columns={{'HEADER': '{canonical}'}} in Python, "
            f"--columns 'HEADER={canonical}' on the command line.")


def column_accessors(raw, mapping: dict[str, str]):
    """``(cells, header)`` for a raw table seen through a header ``mapping``.

    ``cells(canonical)`` lists that column's values as read (``None`` for every row when
    the file lacks it); ``header(canonical)`` is the file's own header for it, for
    messages that name the column as the user wrote it.
    """
    n = len(raw)

    def cells(canonical: str) -> list:
        return raw[mapping[canonical]].tolist() if canonical in mapping else [None] * n

    def header(canonical: str) -> str:
        return mapping.get(canonical, canonical)

    return cells, header

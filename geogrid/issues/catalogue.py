"""The category catalogue: what can be reported, its deadline and who handles it first.

The defaults follow the counties' practice ("小事不出户团、大事不出村庄": small matters
stay in the cell, larger ones in the village).  A county replaces or extends them with a
JSON or YAML file named by ``GEOGRID_ISSUES_CATALOGUE_PATH``; nothing is read at import
time: call :func:`load_catalogue`.

File format (JSON or YAML, same shape)::

    categories:
      - code: sanitation
        name: 环境卫生
        name_en: Environment and sanitation
        deadline_days: 3
        level: cell
        public: true           # shown to anonymous Open311 readers
    departments:
      - code: water
        name: 县水利局
        level: county
    replace: false             # true: the file's categories replace the defaults

>>> cat = default_catalogue()
>>> cat.get("disputes").level, cat.get("disputes").deadline_days
('village', 7)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from geogrid.errors import InputError, NotFoundError
from geogrid.issues.workflow import LEVELS

__all__ = ["Category", "Department", "Catalogue", "default_catalogue", "load_catalogue",
           "DEFAULT_CATEGORIES", "DEFAULT_DEPARTMENTS"]


@dataclass(frozen=True)
class Category:
    """One kind of issue."""

    code: str
    name: str
    name_en: str
    deadline_days: float
    level: str
    public: bool = True
    description: str = ""
    keywords: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "name_en": self.name_en,
                "deadline_days": self.deadline_days, "level": self.level, "public": self.public,
                "description": self.description, "keywords": list(self.keywords)}


@dataclass(frozen=True)
class Department:
    """A department an issue can be dispatched to from the menu (e.g. 县水利局)."""

    code: str
    name: str
    level: str

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "level": self.level}


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("sanitation", "环境卫生", "Environment and sanitation", 3, "cell",
             keywords=("垃圾", "污水", "卫生")),
    Category("roads_lights", "道路与路灯", "Roads and street lights", 7, "village",
             keywords=("道路", "路灯", "桥梁")),
    Category("rivers_water", "河道与饮水", "Rivers and water", 5, "village",
             keywords=("河道", "饮水", "水渠")),
    Category("disputes", "矛盾纠纷", "Disputes", 7, "village", public=False,
             keywords=("纠纷", "调解")),
    Category("safety", "安全隐患", "Safety hazards", 1, "village",
             keywords=("隐患", "消防", "地灾")),
    Category("care", "困难群众关爱", "Care needs of elderly or vulnerable residents", 2, "cell",
             public=False, keywords=("独居老人", "留守儿童", "残疾")),
    Category("policy", "政策咨询", "Policy questions", 5, "town", keywords=("政策", "补贴")),
    Category("other", "其他", "Other", 7, "village"),
)

DEFAULT_DEPARTMENTS: tuple[Department, ...] = (
    Department("town_office", "乡镇综治中心", "town"),
    Department("housing", "县住建局", "county"),
    Department("transport", "县交通运输局", "county"),
    Department("water", "县水利局", "county"),
    Department("environment", "县生态环境分局", "county"),
    Department("civil_affairs", "县民政局", "county"),
    Department("justice", "县司法局", "county"),
    Department("emergency", "县应急管理局", "county"),
)


@dataclass(frozen=True)
class Catalogue:
    """Categories and departments, by code."""

    categories: tuple[Category, ...]
    departments: tuple[Department, ...] = ()
    _by_code: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self._by_code.update({c.code: c for c in self.categories})

    def get(self, code: str) -> Category:
        try:
            return self._by_code[code]
        except KeyError:
            raise NotFoundError(
                f"category {code!r} is not in the catalogue; use one of "
                f"{', '.join(c.code for c in self.categories)}",
                key="issue.category_unknown", params={"category": code}) from None

    def department(self, code: str) -> Department:
        for d in self.departments:
            if d.code == code:
                return d
        raise NotFoundError(
            f"department {code!r} is not in the menu; use one of "
            f"{', '.join(d.code for d in self.departments)}",
            key="issue.department_unknown", params={"department": code})

    def codes(self) -> list[str]:
        return [c.code for c in self.categories]

    def as_dict(self) -> dict:
        return {"categories": [c.as_dict() for c in self.categories],
                "departments": [d.as_dict() for d in self.departments]}


def default_catalogue() -> Catalogue:
    """The catalogue geogrid ships."""
    return Catalogue(DEFAULT_CATEGORIES, DEFAULT_DEPARTMENTS)


def _level(value, where: str) -> str:
    if value not in LEVELS:
        raise InputError(f"{where}: level {value!r} must be one of {', '.join(LEVELS)}",
                         key="catalogue.level", params={"where": where, "level": value})
    return value


def _category(raw: dict, i: int, path: Path) -> Category:
    where = f"{path}: categories[{i}]"
    if not isinstance(raw, dict) or not raw.get("code"):
        raise InputError(f"{where} needs at least a code, a name, deadline_days and level",
                         key="catalogue.incomplete", params={"where": where})
    try:
        days = float(raw.get("deadline_days", 7))
    except (TypeError, ValueError):
        raise InputError(f"{where}: deadline_days {raw.get('deadline_days')!r} is not a number",
                         key="catalogue.deadline_not_number", params={"where": where}) from None
    if not 0 < days <= 366:
        raise InputError(f"{where}: deadline_days must be between 0 and 366 days",
                         key="catalogue.deadline_range", params={"where": where})
    return Category(code=str(raw["code"]), name=str(raw.get("name", raw["code"])),
                    name_en=str(raw.get("name_en", raw.get("name", raw["code"]))),
                    deadline_days=days, level=_level(raw.get("level", "village"), where),
                    public=bool(raw.get("public", True)),
                    description=str(raw.get("description", "")),
                    keywords=tuple(str(k) for k in raw.get("keywords", ()) or ()))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The catalogue from ``path`` (JSON or YAML), merged over the defaults.

    ``None`` or an empty string gives :func:`default_catalogue`.  Categories in the file
    replace defaults with the same code and add the others; ``replace: true`` drops the
    defaults.  Raises :class:`~geogrid.errors.InputError` saying what to fix.
    """
    if path is None or str(path).strip() == "":
        return default_catalogue()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"issue catalogue {str(path)!r} does not exist; fix "
                         "GEOGRID_ISSUES_CATALOGUE_PATH or leave it empty for the defaults",
                         key="catalogue.missing", params={"path": str(path)})
    text = path.read_text(encoding="utf-8-sig")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise InputError(f"issue catalogue {str(path)!r} cannot be parsed: {exc}",
                         key="catalogue.unparsable", params={"path": str(path)}) from None
    if not isinstance(data, dict):
        raise InputError(f"issue catalogue {str(path)!r} must be a mapping with 'categories'",
                         key="catalogue.not_mapping", params={"path": str(path)})
    cats = [_category(c, i, path) for i, c in enumerate(data.get("categories") or [])]
    deps = []
    for i, d in enumerate(data.get("departments") or []):
        if not isinstance(d, dict) or not d.get("code"):
            raise InputError(f"{path}: departments[{i}] needs a code, a name and a level",
                             key="catalogue.department_incomplete", params={"path": str(path), "index": i})
        deps.append(Department(str(d["code"]), str(d.get("name", d["code"])),
                               _level(d.get("level", "county"), f"{path}: departments[{i}]")))
    codes = [c.code for c in cats]
    if len(set(codes)) != len(codes):
        raise InputError(f"issue catalogue {str(path)!r} lists a category code twice",
                         key="catalogue.duplicate_code", params={"path": str(path)})
    if data.get("replace"):
        if not cats:
            raise InputError(f"issue catalogue {str(path)!r} replaces the defaults with nothing",
                             key="catalogue.empty", params={"path": str(path)})
        return Catalogue(tuple(cats), tuple(deps) or DEFAULT_DEPARTMENTS)
    merged = {c.code: c for c in DEFAULT_CATEGORIES}
    merged.update({c.code: c for c in cats})
    dep_merged = {d.code: d for d in DEFAULT_DEPARTMENTS}
    dep_merged.update({d.code: d for d in deps})
    return Catalogue(tuple(merged.values()), tuple(dep_merged.values()))

"""Name tables for the sample county: people, villages, hamlets, estates and streets.

Xinhuang is a Dong (侗族) autonomous county with Miao and Han minorities.  Dong and Miao
families there carry Han surnames; 杨, 吴, 姚, 龙, 张, 刘, 石, 粟, 蒲 and 田 are among the
commonest, and a Dong hamlet (团寨) is often one clan, so hamlets get a dominant surname.
Given names follow the generation: 秀英/德贵 for the old, 丽/军 for the middle-aged,
梓涵/浩宇 for children.  The weights are plausible, not census figures.

All draws go through a ``numpy.random.Generator`` passed in by the caller.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SURNAMES",
    "SURNAME_WEIGHTS",
    "draw_surnames",
    "draw_given_names",
    "VillageNamer",
]

_SURNAME_TABLE = (
    ("杨", 14.0),
    ("吴", 9.0),
    ("姚", 7.0),
    ("龙", 7.0),
    ("张", 5.0),
    ("刘", 4.0),
    ("石", 4.0),
    ("粟", 3.0),
    ("蒲", 3.0),
    ("田", 3.0),
    ("李", 3.0),
    ("王", 3.0),
    ("陈", 2.0),
    ("唐", 2.0),
    ("罗", 2.0),
    ("彭", 1.5),
    ("黄", 1.5),
    ("向", 1.0),
    ("舒", 1.0),
    ("谭", 1.0),
    ("胡", 1.0),
    ("周", 1.0),
    ("邓", 1.0),
    ("谢", 1.0),
    ("肖", 1.0),
    ("曾", 1.0),
    ("袁", 1.0),
    ("蒋", 1.0),
    ("欧", 1.0),
    ("滕", 1.0),
    ("潘", 1.0),
    ("易", 1.0),
    ("伍", 1.0),
    ("丁", 0.5),
    ("全", 0.5),
    ("瞿", 0.5),
    ("麻", 0.5),
    ("吉", 0.5),
    ("侯", 0.5),
    ("秦", 0.5),
    ("孙", 0.5),
    ("陆", 0.5),
    ("姜", 0.5),
    ("邱", 0.3),
    ("宋", 0.3),
    ("万", 0.3),
    ("梁", 0.3),
    ("付", 0.3),
)
SURNAMES = np.array([s for s, _ in _SURNAME_TABLE])
SURNAME_WEIGHTS = np.array([w for _, w in _SURNAME_TABLE]) / sum(w for _, w in _SURNAME_TABLE)

# Given-name characters by era (born before 1970, 1970-1994, from 1995) and gender.
_GIVEN = {
    ("old", "M"): "德明国华建文光金成贵永正家昌志开生富茂顺祖荣胜忠林清发海春武学兴启宗福庆绍云",
    ("old", "F"): "秀英兰桂花珍玉梅香凤翠娥菊莲芳云银春妹群美仙爱月金琼",
    ("mid", "M"): "军勇伟强斌峰涛波杰辉刚平华明俊东林鹏超亮磊飞志云健宇斌洪江海龙",
    ("mid", "F"): "丽艳敏燕霞红娟琴萍芳静玲婷莉慧娜晶雪梅丹英华兰琳",
    ("new", "M"): "浩宇轩子涵博文俊杰睿泽宸铭皓然一航思源嘉天晨锦阳奕辰瑞豪梓",
    ("new", "F"): "欣怡梓涵思雨佳琪诗语梦婷可馨子萱雅悦妍若彤依晴紫彤一诺",
}
_SINGLE_P = {"old": 0.35, "mid": 0.30, "new": 0.15}


def draw_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` surnames from the county's distribution."""
    return SURNAMES[rng.choice(len(SURNAMES), size=n, p=SURNAME_WEIGHTS)]


def draw_given_names(rng: np.random.Generator, birth_year: np.ndarray, gender: np.ndarray) -> np.ndarray:
    """Given names (one or two characters) fitting each person's birth year and gender."""
    birth_year = np.asarray(birth_year)
    gender = np.asarray(gender)
    era = np.where(birth_year < 1970, "old", np.where(birth_year < 1995, "mid", "new"))
    out = np.empty(len(birth_year), dtype=object)
    u = rng.random(len(birth_year))
    i1 = rng.random(len(birth_year))
    i2 = rng.random(len(birth_year))
    for (e, g), chars in _GIVEN.items():
        pool = np.array(list(chars))
        sel = np.flatnonzero((era == e) & (gender == g))
        if not len(sel):
            continue
        a = pool[(i1[sel] * len(pool)).astype(int)]
        b = pool[(i2[sel] * len(pool)).astype(int)]
        single = u[sel] < _SINGLE_P[e]
        out[sel] = np.where(single, a, np.char.add(a.astype(str), b.astype(str)))
    return out


# --- places ---------------------------------------------------------------------------------
_PLACE_FIRST = list(
    "岩塘坪田溪冲坳大小上下中高新老龙凤枫杉茶竹桐松白黄马牛羊鱼水石木板桥井平金银长团洞樟柳梨桃"
)
_PLACE_SECOND = list("脚头口边背坪冲寨湾坳团垅溪田塘屯坡岭坝洲")
_HAMLET_SUFFIX = list("寨寨寨团冲湾坪坳垅溪")
_ESTATE_SUFFIX = ("小区", "家园", "花园", "新村", "苑")
_STREET_SUFFIX = ("街", "路", "巷")
_URBAN_WORDS = (
    "城中",
    "东门",
    "西门",
    "南门",
    "北门",
    "大桥",
    "中和",
    "兴隆",
    "龙溪",
    "太阳坪",
    "新区",
    "城北",
    "城南",
    "河西",
    "舞阳",
    "侗乡",
    "夜郎",
    "龙井",
    "步行",
    "滨江",
    "民族",
    "镇江",
)


class VillageNamer:
    """Hands out names that are unique where they must be.

    Village and community names are unique in the county; hamlet, estate and street
    names are unique within their village.
    """

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._villages: set[str] = set()
        self._urban = list(_URBAN_WORDS)

    def _place_word(self) -> str:
        r = self.rng
        return _PLACE_FIRST[r.integers(len(_PLACE_FIRST))] + _PLACE_SECOND[r.integers(len(_PLACE_SECOND))]

    def village(self) -> str:
        """A village name without its suffix, e.g. ``龙坪``."""
        while True:
            name = self._place_word()
            if name not in self._villages:
                self._villages.add(name)
                return name

    def community(self, stem: str | None = None) -> str:
        """A community (社区) name stem: the town's own stem first, then urban words."""
        if stem and stem not in self._villages:
            self._villages.add(stem)
            return stem
        while self._urban:
            word = self._urban.pop(0)
            if word not in self._villages:
                self._villages.add(word)
                return word
        return self.village()

    def hamlet(self, taken: set[str], clan: str) -> str:
        """A natural hamlet (团寨) name, e.g. ``杨家寨`` or ``岩脚寨``."""
        r = self.rng
        for _ in range(200):
            if r.random() < 0.3:
                name = clan + "家" + _HAMLET_SUFFIX[r.integers(len(_HAMLET_SUFFIX))]
            else:
                name = self._place_word()
                if r.random() < 0.5 and name[-1] not in "寨团":
                    name += "寨"
            if name not in taken:
                taken.add(name)
                return name
        name = f"{clan}家寨{len(taken) + 1}组"
        taken.add(name)
        return name

    def estate(self, taken: set[str], resettlement: bool = False) -> str:
        """A housing estate (小区) name, e.g. ``龙溪小区``; resettlement estates say so."""
        r = self.rng
        while True:
            word = self._place_word()
            if resettlement:
                name = word + "安置小区"
            else:
                name = word + _ESTATE_SUFFIX[r.integers(len(_ESTATE_SUFFIX))]
            if name not in taken:
                taken.add(name)
                return name

    def street(self, taken: set[str]) -> str:
        """A street name, e.g. ``枫坪街``."""
        r = self.rng
        while True:
            name = self._place_word() + _STREET_SUFFIX[r.integers(len(_STREET_SUFFIX))]
            if name not in taken:
                taken.add(name)
                return name

    def locality(self) -> str:
        """A minor place name (小地名) for a scattered farmhouse, e.g. ``茶坡``."""
        return self._place_word()

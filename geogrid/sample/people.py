"""The people of the sample register: households, relations, ages, IDs, phones and tags.

Each household gets a type -- an old person alone, a single adult, a couple, a nuclear
family, a single parent, three generations with the head's parents, or three
generations with an old head, a married child and grandchildren -- and its members
follow from it, so ages, relations and surnames hang together (children take their
father's surname; a hamlet's dominant clan supplies most fathers' surnames).

Tags follow the household: ``elderly_alone`` (独居老人) only for someone of 65+ living
alone, ``left_behind_child`` (留守儿童) only for a child under 16 whose parents in the
household are both away, ``away_for_work`` (外出务工) only for people of 16-60.  Care
levels are ranked per town from a score that rises with disability, living alone and
left-behind children: the top 5 % are red (连心户), the next 15 % yellow (关心户), the
rest green (放心户).

Ages are as of :data:`REFERENCE_DATE`.  Everything is vectorised over a town's
households; the only randomness is the ``rng`` passed in.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geogrid import columns as C
from geogrid.sample.names import draw_given_names, draw_surnames

__all__ = ["REFERENCE_DATE", "ID_AREA", "SEQUENCE_SLOTS", "make_people", "id_numbers"]

#: The register's "as of" date: ages, tags and ID numbers are consistent with it.
REFERENCE_DATE = dt.date(2024, 6, 30)
ID_AREA = "431227"
#: ID sequence numbers are split into blocks of this many per town (like the police
#: stations that issue them), so towns can be generated independently and IDs stay
#: unique across the county.
SEQUENCE_SLOTS = 45

# Household types.
ALONE_OLD, SINGLE, COUPLE, NUCLEAR, SINGLE_PARENT, WITH_PARENTS, WITH_GRANDCHILDREN = range(7)
_P_TYPE = {
    False: [0.07, 0.06, 0.12, 0.36, 0.04, 0.18, 0.17],  # rural
    True: [0.05, 0.09, 0.11, 0.45, 0.05, 0.15, 0.10],  # urban
}

# Role order within a household (the order persons are listed).
HEAD, SPOUSE, PARENT, ADULT_CHILD, CHILD_IN_LAW, CHILD, GRANDCHILD = range(7)

_PHONE_PREFIXES = np.array(
    [
        "134",
        "135",
        "136",
        "137",
        "138",
        "139",
        "147",
        "150",
        "151",
        "152",
        "157",
        "158",
        "159",
        "178",
        "182",
        "183",
        "184",
        "187",
        "188",
        "198",  # China Mobile
        "130",
        "131",
        "132",
        "155",
        "156",
        "166",
        "175",
        "176",
        "185",
        "186",  # China Unicom
        "133",
        "153",
        "173",
        "177",
        "180",
        "181",
        "189",
        "191",
        "199",  # China Telecom
    ]
)
_PHONE_WEIGHTS = np.r_[np.full(20, 3.0), np.full(10, 1.5), np.full(9, 1.2)]
_PHONE_WEIGHTS = _PHONE_WEIGHTS / _PHONE_WEIGHTS.sum()

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))


def id_numbers(area: str, birth: np.ndarray, sequence: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Vectorised :func:`geogrid.idnumber.make_id_number` (same digits, same check)."""
    birth = pd.to_datetime(birth)
    seq = (np.asarray(sequence) % 500) * 2 + np.asarray(male, dtype=int)
    seq = np.where(seq > 0, seq, 2)
    first17 = (area + pd.Series(birth.strftime("%Y%m%d")) + pd.Series(seq).map("{:03d}".format)).to_numpy(str)
    digits = np.frombuffer("".join(first17).encode("ascii"), dtype=np.uint8).reshape(-1, 17) - 48
    check = _ID_CHECK[(digits.astype(int) @ _ID_WEIGHTS) % 11]
    return np.char.add(first17, check).astype(object)


def _phone_numbers(rng, prefixes: np.ndarray, town_index: int) -> np.ndarray:
    """Prefix + 8 digits; digits 4-7 (the HLR block) are = town_index mod 11, so
    numbers of different towns never collide."""
    nums = rng.integers(0, 100_000_000, len(prefixes))
    hlr, rest = nums // 10_000, nums % 10_000
    hlr = hlr - hlr % 11 + town_index
    hlr = np.where(hlr > 9999, hlr - 11, hlr)
    return np.char.add(prefixes.astype(str), np.char.zfill((hlr * 10_000 + rest).astype(str), 8))


def _repeat(idx: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each idx repeated counts times, with the repeat number 0..count-1."""
    rep = np.repeat(idx, counts)
    k = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
    return rep, k


def make_people(
    rng: np.random.Generator, clan: np.ndarray, urban: np.ndarray, town_index: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Members of ``len(clan)`` households.

    Returns ``(persons, care_level)``: persons with a ``hh`` column (household index)
    and the canonical person columns except ``household_no``, ordered by household
    then role; and one care level per household.
    """
    n = len(clan)
    urban = np.asarray(urban, bool)
    htype = np.empty(n, int)
    for u in (False, True):
        sel = np.flatnonzero(urban == u)
        htype[sel] = rng.choice(7, size=len(sel), p=_P_TYPE[u])
    rows: list[dict] = []

    def add(hh, role, male, age, surname, relation, k=None):
        rows.append(
            dict(
                hh=hh,
                role=np.full(len(hh), role),
                k=np.zeros(len(hh), int) if k is None else k,
                male=male,
                age=age,
                surname=surname,
                relation=relation,
            )
        )

    # Family surname: the hamlet's clan for 60 % of families, else a draw.
    fs = draw_surnames(rng, n)
    has_clan = np.array([bool(c) for c in clan])
    use_clan = has_clan & (rng.random(n) < 0.6)
    fs = np.where(use_clan, clan, fs)

    # Head.
    p_male = np.select([htype == ALONE_OLD, htype == SINGLE, htype == SINGLE_PARENT], [0.4, 0.65, 0.4], 0.85)
    head_male = rng.random(n) < p_male
    young_couple = rng.random(n) < 0.3
    lo = np.select(
        [
            htype == ALONE_OLD,
            htype == SINGLE,
            htype == COUPLE,
            htype == NUCLEAR,
            htype == SINGLE_PARENT,
            htype == WITH_PARENTS,
        ],
        [65.05, 20, np.where(young_couple, 22, 55), 25, 28, 30],
        55,
    )
    hi = np.select(
        [
            htype == ALONE_OLD,
            htype == SINGLE,
            htype == COUPLE,
            htype == NUCLEAR,
            htype == SINGLE_PARENT,
            htype == WITH_PARENTS,
        ],
        [93, 64, np.where(young_couple, 34, 86), 56, 55, 55],
        80,
    )
    head_age = rng.uniform(lo, hi)
    head_surname = np.where(head_male, fs, draw_surnames(rng, n))
    hh_all = np.arange(n)
    add(hh_all, HEAD, head_male, head_age, head_surname, np.full(n, "户主", dtype=object))

    # Spouse.
    p_sp = np.select(
        [htype == COUPLE, htype == NUCLEAR, htype == WITH_PARENTS, htype == WITH_GRANDCHILDREN],
        [1.0, 1.0, 0.92, 0.8],
        0.0,
    )
    has_sp = rng.random(n) < p_sp
    sp = np.flatnonzero(has_sp)
    sp_male = ~head_male[sp]
    sp_age = np.maximum(head_age[sp] + np.where(sp_male, 2.0, -2.0) + rng.normal(0, 3, len(sp)), 19.5)
    sp_surname = np.where(sp_male, fs[sp], draw_surnames(rng, len(sp)))
    add(sp, SPOUSE, sp_male, sp_age, sp_surname, np.full(len(sp), "配偶", dtype=object))
    spouse_age = np.full(n, np.nan)
    spouse_age[sp] = sp_age
    # The mother's age (for children's ages): the woman of the couple, or the head alone.
    mother_age = np.where(~head_male, head_age, np.where(has_sp, spouse_age, head_age - 2.0))

    # Children of the head.
    kid_choice = {
        NUCLEAR: ([1, 2, 3], [0.35, 0.45, 0.2]),
        SINGLE_PARENT: ([1, 2], [0.65, 0.35]),
        WITH_PARENTS: ([0, 1, 2, 3], [0.05, 0.4, 0.38, 0.17]),
    }
    n_kids = np.zeros(n, int)
    for t, (vals, p) in kid_choice.items():
        sel = np.flatnonzero(htype == t)
        n_kids[sel] = rng.choice(vals, size=len(sel), p=p)
    kh, kk = _repeat(hh_all, n_kids)
    first_gap = rng.uniform(20, 34, n)
    kid_age = mother_age[kh] - first_gap[kh] - kk * 2.0 - rng.uniform(0, 3.5, len(kh)) * kk
    keep = kid_age >= 0.05
    kh, kk, kid_age = kh[keep], kk[keep], kid_age[keep]
    kid_male = rng.random(len(kh)) < 0.52
    add(kh, CHILD, kid_male, kid_age, fs[kh], np.where(kid_male, "子", "女").astype(object), kk)

    # The head's parents.
    sel = np.flatnonzero(htype == WITH_PARENTS)
    n_par = rng.choice([1, 2], size=len(sel), p=[0.45, 0.55])
    ph, pk = _repeat(sel, n_par)
    only_one = np.repeat(n_par == 1, n_par)
    par_male = np.where(only_one, rng.random(len(ph)) < 0.35, pk == 0)
    par_age = np.minimum(
        head_age[ph] + np.where(par_male, rng.uniform(24, 34, len(ph)), rng.uniform(22, 31, len(ph))), 97.0
    )
    par_surname = np.where(par_male, head_surname[ph], draw_surnames(rng, len(ph)))
    add(ph, PARENT, par_male, par_age, par_surname, np.where(par_male, "父亲", "母亲").astype(object), pk)

    # Old head with a married child and grandchildren.
    sel = np.flatnonzero(htype == WITH_GRANDCHILDREN)
    son = rng.random(len(sel)) < 0.85
    ac_age = np.maximum(mother_age[sel] - rng.uniform(22, 34, len(sel)), 18.5)
    add(sel, ADULT_CHILD, son, ac_age, fs[sel], np.where(son, "子", "女").astype(object))
    has_inlaw = rng.random(len(sel)) < 0.85
    il = sel[has_inlaw]
    il_male = ~son[has_inlaw]
    il_age = np.maximum(ac_age[has_inlaw] + np.where(il_male, 2.0, -2.0) + rng.normal(0, 3, len(il)), 18.5)
    add(
        il,
        CHILD_IN_LAW,
        il_male,
        il_age,
        draw_surnames(rng, len(il)),
        np.where(il_male, "女婿", "儿媳").astype(object),
    )
    gen_mother = ac_age.copy()
    gen_mother[has_inlaw & son] = il_age[son[has_inlaw]]
    n_gk = rng.choice([0, 1, 2, 3], size=len(sel), p=[0.05, 0.35, 0.45, 0.15])
    gh_i, gk = _repeat(np.arange(len(sel)), n_gk)
    gk_age = gen_mother[gh_i] - rng.uniform(20, 32, len(sel))[gh_i] - gk * rng.uniform(1.5, 5, len(gh_i))
    keep = gk_age >= 0.05
    gh_i, gk, gk_age = gh_i[keep], gk[keep], gk_age[keep]
    gk_male = rng.random(len(gh_i)) < 0.53
    add(
        sel[gh_i],
        GRANDCHILD,
        gk_male,
        gk_age,
        fs[sel[gh_i]],
        np.where(gk_male, "孙子", "孙女").astype(object),
        gk,
    )

    p = pd.DataFrame({k: np.concatenate([r[k] for r in rows]) for k in rows[0]})
    p = p.sort_values(["hh", "role", "k"], kind="stable").reset_index(drop=True)
    m = len(p)
    male = p["male"].to_numpy(bool)
    # Birth dates, unique ID numbers.
    ref = np.datetime64(REFERENCE_DATE.isoformat(), "D")
    days = np.floor(p["age"].to_numpy() * 365.2425).astype(int)
    seq_base = 1 + SEQUENCE_SLOTS * town_index
    for _ in range(100):
        birth = ref - days
        rank = pd.DataFrame({"b": birth, "m": male}).groupby(["b", "m"]).cumcount().to_numpy()
        over = rank >= SEQUENCE_SLOTS
        if not over.any():
            break
        days[over] += 1
    ids = id_numbers(ID_AREA, birth, seq_base + rank, male)

    # From here on, age is what the birth date says, so tags and flags agree with it.
    age = days / 365.2425
    hh = p["hh"].to_numpy()
    role = p["role"].to_numpy()
    is_urban = urban[hh]
    ht = htype[hh]

    # Away for work.
    away = np.zeros(m, bool)
    u_hh = rng.random(n)
    u_p = rng.random(m)
    both_rate = np.where(urban, 0.08, 0.35)
    one_rate = np.where(urban, 0.10, 0.25)
    couple_both = np.zeros(n, bool)
    couple_one = np.zeros(n, bool)
    wp = htype == WITH_PARENTS
    couple_both[wp] = u_hh[wp] < both_rate[wp]
    couple_one[wp] = (~couple_both[wp]) & (u_hh[wp] < both_rate[wp] + one_rate[wp])
    nuc = htype == NUCLEAR
    couple_one[nuc] = u_hh[nuc] < one_rate[nuc] + 0.1 * ~urban[nuc]
    wg = htype == WITH_GRANDCHILDREN
    couple_both[wg] = u_hh[wg] < np.where(urban[wg], 0.10, 0.45)
    couple_one[wg] = (~couple_both[wg]) & (u_hh[wg] < np.where(urban[wg], 0.2, 0.6))
    # Which roles are "the working couple" of each household type.
    in_couple = np.where(
        np.isin(ht, [WITH_GRANDCHILDREN]),
        np.isin(role, [ADULT_CHILD, CHILD_IN_LAW]),
        np.isin(ht, [NUCLEAR, WITH_PARENTS]) & np.isin(role, [HEAD, SPOUSE]),
    )
    away |= in_couple & couple_both[hh]
    away |= in_couple & couple_one[hh] & (male | (role == ADULT_CHILD))
    single_away = (ht == SINGLE) & (u_p < np.where(is_urban, 0.15, 0.45))
    grown_kid_away = (role == CHILD) & (age >= 18) & (u_p < np.where(is_urban, 0.2, 0.5))
    away |= single_away | grown_kid_away
    away &= (age >= 16) & (age < 61)

    # Left-behind children: under 16, and every parent of theirs in the household is away.
    parents_away = np.zeros(n, bool)
    cp = pd.DataFrame({"hh": hh[in_couple], "away": away[in_couple]}).groupby("hh")["away"].all()
    parents_away[cp.index.to_numpy()] = cp.to_numpy()
    left_behind = (
        np.isin(role, [CHILD, GRANDCHILD])
        & (age < 16)
        & parents_away[hh]
        & np.isin(ht, [WITH_PARENTS, WITH_GRANDCHILDREN])
    )
    elderly_alone = (ht == ALONE_OLD) & (age >= 65)
    disabled = rng.random(m) < 0.012 + 0.0007 * np.maximum(age - 30, 0)
    tag_cols = {
        "elderly_alone": elderly_alone,
        "disabled": disabled,
        "left_behind_child": left_behind,
        "away_for_work": away,
    }
    tags = np.full(m, "", dtype=object)
    for name in C.PERSON_TAGS:
        flag = tag_cols[name]
        tags[flag] = np.where(tags[flag] == "", name, tags[flag] + ";" + name)

    # Party members: about 7 % of adults, more among older men.
    adult = age >= 18
    w = np.where(male, 1.4, 0.6) * np.select([age < 25, age < 40, age < 60], [0.3, 0.9, 1.2], 1.1)
    w = np.where(adult, w, 0.0)
    p_party = 0.07 * w / w[adult].mean() if adult.any() else w
    party = rng.random(m) < p_party

    # Phones: most people of 16+, few of the very old, some teenagers; unique in the town.
    p_phone = np.select([age < 12, age < 16, age < 75], [0.0, 0.15, 0.93], 0.55)
    has_phone = rng.random(m) < p_phone
    phones = np.full(m, None, dtype=object)
    idx = np.flatnonzero(has_phone)
    pref = _PHONE_PREFIXES[rng.choice(len(_PHONE_PREFIXES), size=len(idx), p=_PHONE_WEIGHTS)]
    ph = _phone_numbers(rng, pref, town_index)
    for _ in range(20):
        _, first = np.unique(ph, return_index=True)
        dup = np.setdiff1d(np.arange(len(ph)), first)
        if not len(dup):
            break
        ph[dup] = _phone_numbers(rng, pref[dup], town_index)
    phones[idx] = ph.astype(object)

    names = np.char.add(
        p["surname"].to_numpy(str),
        draw_given_names(
            rng, (ref - days).astype("datetime64[Y]").astype(int) + 1970, np.where(male, "M", "F")
        ).astype(str),
    )

    # Care levels, ranked within the town.
    hh_dis = np.bincount(hh, weights=disabled, minlength=n) > 0
    hh_lb = np.bincount(hh, weights=left_behind, minlength=n) > 0
    hh_old = np.bincount(hh, weights=age >= 80, minlength=n) > 0
    score = (
        rng.normal(0, 0.8, n)
        + 1.6 * hh_dis
        + 1.3 * (htype == ALONE_OLD)
        + 0.6 * hh_lb
        + 0.4 * (htype == SINGLE_PARENT)
        + 0.3 * hh_old
    )
    order = np.argsort(-score, kind="stable")
    care = np.full(n, "green", dtype=object)
    n_red, n_yellow = int(round(0.05 * n)), int(round(0.15 * n))
    care[order[:n_red]] = "red"
    care[order[n_red : n_red + n_yellow]] = "yellow"

    out = pd.DataFrame(
        {
            "hh": hh,
            C.NAME: names.astype(object),
            C.GENDER: np.where(male, "M", "F").astype(object),
            C.BIRTH_DATE: pd.Series(ref - days).dt.date.to_numpy(),
            C.ID_NUMBER: ids,
            C.PHONE: phones,
            C.RELATION: p["relation"].to_numpy(object),
            C.PARTY_MEMBER: party,
            C.TAGS: tags,
        }
    )
    return out, care

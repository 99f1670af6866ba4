"""Longitudes and latitudes written as people write them, read as signed decimal degrees.

Registers copied from survey sheets, GPS apps and web pages write a coordinate as
``109.2``, ``E109.2``, ``109.2E``, ``东经109.2°``, ``109°12'30"E`` or ``109度12分30秒``.
:func:`parse_degrees` reads all of them (after NFKC, so full-width characters too); a
western or southern hemisphere gives a negative number, which the range and county
outline checks then judge like any other.  Anything it cannot read without guessing
(a hemisphere of the other axis, 75 minutes, a fraction of a degree followed by minutes)
raises ``ValueError`` with the reason.
"""

from __future__ import annotations

import re

import numpy as np

from geogrid.io.validate import clean_text, parse_float

__all__ = ["parse_degrees"]

#: hemisphere -> (axis, sign)
_HEMISPHERES = {
    "E": ("longitude", 1), "W": ("longitude", -1), "N": ("latitude", 1), "S": ("latitude", -1),
    "东经": ("longitude", 1), "西经": ("longitude", -1), "北纬": ("latitude", 1), "南纬": ("latitude", -1),
}
_HEMI = r"东经|西经|北纬|南纬|[NSEWnsew]"
_NUM = r"\d+(?:\.\d+)?"
_DEG = r"°|度"
_MIN = r"'|′|’|分"
_SEC = r"\"|″|′′|”|''|’’|秒"  # NFKC makes ″ two primes
_DEGREES = re.compile(
    rf"(?P<pre>{_HEMI})?\s*(?P<sign>[+-])?\s*(?P<deg>{_NUM})\s*"
    rf"(?:(?:{_DEG})\s*(?:(?P<min>{_NUM})\s*(?:{_MIN})\s*(?:(?P<sec>{_NUM})\s*(?:{_SEC})?)?)?)?"
    rf"\s*(?P<post>{_HEMI})?",
    re.ASCII,
)
_USE = "write whole degrees and minutes (such as 109°12'30\") or decimal degrees (such as 109.2)"


def parse_degrees(value, axis: str) -> float:
    """Signed decimal degrees from one cell; ``axis`` is ``"longitude"`` or ``"latitude"``.

    >>> parse_degrees("E109.2", "longitude"), parse_degrees("27°24'N", "latitude")
    (109.2, 27.4)
    >>> round(parse_degrees("109度12分30秒", "longitude"), 6)
    109.208333
    >>> parse_degrees("N27.4", "longitude")
    Traceback (most recent call last):
    ValueError: longitude 'N27.4' is marked N, a latitude's hemisphere; are the longitude and latitude columns swapped?
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return parse_float(value, axis)
    text = clean_text(value)
    m = _DEGREES.fullmatch(text) if text else None
    if m is None:
        return parse_float(text, axis)  # a plain decimal, or the reason it is not a number
    pre, post, sign = m["pre"], m["post"], m["sign"]
    if pre and post:
        raise ValueError(f"{axis} {text!r} names its hemisphere twice; keep one letter")
    hemisphere = (pre or post or "").upper()
    factor = -1 if sign == "-" else 1
    if hemisphere:
        if sign:
            raise ValueError(f"{axis} {text!r} has both a sign and a hemisphere ({hemisphere}); keep one")
        hemi_axis, factor = _HEMISPHERES[hemisphere]
        if hemi_axis != axis:
            raise ValueError(f"{axis} {text!r} is marked {hemisphere}, a {hemi_axis}'s hemisphere; "
                             "are the longitude and latitude columns swapped?")
    deg, mins, secs = m["deg"], m["min"], m["sec"]
    if mins is not None and "." in deg:
        raise ValueError(f"{axis} {text!r} has a fraction of a degree and minutes; {_USE}")
    if secs is not None and "." in mins:
        raise ValueError(f"{axis} {text!r} has a fraction of a minute and seconds; {_USE}")
    for part, unit in ((mins, "minutes"), (secs, "seconds")):
        if part is not None and float(part) >= 60:
            raise ValueError(f"{axis} {text!r} has {part} {unit}; minutes and seconds are under 60")
    return factor * (float(deg) + float(mins or 0) / 60 + float(secs or 0) / 3600)

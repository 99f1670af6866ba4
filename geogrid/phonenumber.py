"""Residents' phone numbers: how they are masked wherever they are shown.

The first three and the last four digits are kept (``138****5678``), as
:mod:`geogrid.idnumber` keeps the last four characters of an ID number: the API's
responses and log lines (:mod:`geogrid.api.masking`) and an import that finds a phone
number typed into a free-text column (:mod:`geogrid.io.personalnumbers`) mask them the
same way.  Reading a phone cell is :func:`geogrid.io.validate.parse_phone`.
"""

from __future__ import annotations

__all__ = ["mask_phone"]

_MASK = "*"


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and the last four digits; separators stay where they are.

    >>> mask_phone("13812345678")
    '138****5678'
    >>> mask_phone("0745-7221234")
    '074*-***1234'
    """
    if not phone:
        return phone
    phone = str(phone)
    digits = [i for i, c in enumerate(phone) if c.isdigit()]
    if len(digits) <= 7:  # too short to keep 3 + 4: keep only the last four
        keep = set(digits[-4:]) if len(digits) > 4 else set()
    else:
        keep = set(digits[:3]) | set(digits[-4:])
    return "".join(c if (i in keep or not c.isdigit()) else _MASK for i, c in enumerate(phone))

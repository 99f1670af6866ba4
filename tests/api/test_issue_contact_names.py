"""Issues of a contact's name alone.

An issue whose contact is a name without a phone was its reporter's subject, so one
household's requests taken by several accounts were several subjects, and a place of
one household's requests was counted for an analyst.  It now adds no subject.
geogrid/db/issuesubjects.py; both back-ends.
"""

from __future__ import annotations

import h3

from geogrid.api.disclosure import MIN_BIN
from geogrid.db.issuesubjects import NO_SUBJECT, issue_subjects
from tests.api.conftest import V1
from tests.api.test_privacy_review_3 import _hotspots, _report, _stats
from tests.issues.conftest import clock, iclient, issue_app, itokens, iworld, point  # noqa: F401


def _crowd(iclient, headers, cell, **params) -> dict:
    """The properties of hexagon ``cell`` in ``headers``' hotspots at resolution 8 (zeros
    when it is not given)."""
    body = _hotspots(iclient, headers, resolution=8, **params)
    none = {"issues": 0, "open": 0, "overdue": 0, "suppressed": 0, "withheld": 0}
    return {f["id"]: f["properties"] for f in body["features"]}.get(cell, none)


def _residents(iclient, hot, where, n=MIN_BIN, first=0):
    """``n`` sanitation issues at ``where``, each of another resident (a phone no person
    gives)."""
    x, y = where
    for k in range(n):
        _report(iclient, hot, (x + k * 2e-5, y), contact_phone=f"13900000{first + k:03d}")


def test_one_households_requests_taken_by_name_by_several_accounts_are_no_subjects(iclient, itokens, iworld):
    """Five care requests for 王小明 (a name persons of several households of V1 bear),
    given by name without a phone, each taken by another account (the cell leader, the
    village cadre, the town, the hotline, an admin).  Each was its reporter's subject:
    five subjects, so an analyst was told five care requests in that hexagon, perhaps
    all of one household.  A name alone now adds no subject: the part is withheld."""
    analyst = itokens["analyst"]
    x, y = point(V1, 0)
    for k, who in enumerate(("cell1", "cadre1", "town", "hotline", "admin")):
        _report(iclient, itokens[who], (x + k * 2e-5, y), category="care", contact_name="王小明",
                description="独居老人需要照顾")
    crowd = h3.latlng_to_cell(y, x, 8)
    p = _crowd(iclient, analyst, crowd)
    assert (p["issues"], p["suppressed"]) == (0, MIN_BIN), p
    got = _stats(iclient, analyst, by="microgrid_key,category")
    assert got["counts"] == [] and got["suppressed"] == [{"microgrid_key": f"{V1}-M01", "count": MIN_BIN}], got
    # four residents' phones join them: still fewer than MIN_BIN subjects
    _residents(iclient, itokens["hotline"], (x, y + 2e-5), n=MIN_BIN - 1)
    assert _crowd(iclient, analyst, crowd)["suppressed"] == 2 * MIN_BIN - 1
    _residents(iclient, itokens["hotline"], (x, y + 4e-5), n=1, first=MIN_BIN)
    p = _crowd(iclient, analyst, crowd)
    assert (p["issues"], p["suppressed"]) == (10, 0), p  # ten issues of five subjects


def test_a_contact_name_without_a_phone_adds_no_subject():
    """The subject rules on their own (no phone to look up: no query)."""
    got = issue_subjects(None, [None, "", None, None, "  "], ["u1", "u2", "u3", None, "u5"],
                         ["王伟", "王伟", None, "  ", None])
    assert got == [NO_SUBJECT, NO_SUBJECT, "reporter:u3", "unknown", "reporter:u5"]
    assert issue_subjects(None, [None], ["u1"]) == ["reporter:u1"]  # no names given: as before

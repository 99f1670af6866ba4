"""The issues a cadre's list, CSV export and statistics panel hold are the same ones: those
of their scope, on both back-ends.

An issue a cadre reported and that lies outside their scope now (re-routed since to a
cell they do not cover, or their scope changed) was in their list and their export but
not in the panel's counts, which are of the scope.  Access is scoped to the grid: the
three hold the scope's issues; the reporter still reads their own issue by its id (its
detail, to rate or reopen it; the inbox names it for rating), as the workflow needs.
"""

from __future__ import annotations

import csv
import io

from tests.issues.conftest import V1, point
from tests.issues.test_issue_api import API, _act, _report

C02 = f"{V1}-M01-C02"


def _listed(client, headers, **params) -> list[str]:
    r = client.get(f"{API}/issues", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return sorted(f["id"] for f in r.json()["features"])


def _exported(client, headers, **params) -> list[str]:
    r = client.get(f"{API}/issues/export.csv", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return sorted(row["id"] for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def _counted(client, headers, status: str | None = None) -> int:
    """The panel's count: its total, or its row of ``status``."""
    r = client.get(f"{API}/issues/stats", params={"by": "status"}, headers=headers)
    assert r.status_code == 200, r.text
    if status is None:
        return r.json()["summary"]["total"]
    return sum(row["count"] for row in r.json()["counts"] if row["status"] == status)


def test_a_cadres_list_export_and_panel_hold_the_same_issues_of_their_scope(iclient, itokens):
    cell1, village = itokens["cell1"], itokens["cadre1"]
    kept = _report(iclient, cell1, where=point(V1, 0, 0.3, 0.3))
    moved = _report(iclient, cell1, where=point(V1, 0, 0.6, 0.6))
    assert kept.status_code == 201 and moved.status_code == 201, (kept.text, moved.text)
    kept, moved = kept.json()["id"], moved.json()["id"]
    # the village's cadre sends the second to the east cell, which cell1 does not cover
    r = iclient.post(f"{API}/issues/{moved}/route", json={"cell_key": C02, "version": 1},
                     headers=village)
    assert r.status_code == 200, r.text
    assert _act(iclient, village, kept, "accept", version=1).status_code == 200

    for filters in ({}, {"status": "accepted"}, {"status": "reported"}):
        listed = _listed(iclient, cell1, **filters)
        assert listed == _exported(iclient, cell1, **filters), filters
        assert len(listed) == _counted(iclient, cell1, filters.get("status")), filters
    assert _listed(iclient, cell1) == [kept]
    assert _listed(iclient, cell1, status="reported") == []
    # the village's cadre covers both
    assert _listed(iclient, village) == _exported(iclient, village) == sorted([kept, moved])
    assert _counted(iclient, village) == 2
    # the reporter still follows their own report by its id
    assert iclient.get(f"{API}/issues/{moved}", headers=cell1).status_code == 200

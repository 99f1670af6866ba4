"""A micro-grid whose households all left the register, and a locked cell left with
none, through the API: before, a re-run of the micro-grid (alone or with a neighbour)
kept it with one cell of 0 households, a locked cell stayed empty, the re-run's answer
and the plan's notes said nothing of it, and validation's ``empty_cell`` said only "cell
C has no households".  Now the re-run alone answers an ``empty_microgrid`` note naming
the neighbours to re-run it with; re-run with one, it is dropped, its land the
neighbour's (the micro-grid row and its cells go; ``microgrids_dropped`` says so, and
the note ``microgrid_dropped``); a locked cell left empty is noted
(``locked_cell_empty``) as soon as its last household leaves, the note goes when it is
unlocked, and a re-run then drops the cell; validation says what to do (``fix``).

On the committed sample slice (tests/api/test_rerun_after_edits.py's world), on both
back-ends.
"""

from __future__ import annotations

from shapely.geometry import shape

from tests.api.test_rerun_after_edits import VILLAGES, _get
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)

API = "/api/v1"


def _draft(client, tokens):
    r = client.post(f"{API}/plans", json={"name": "emptied"}, headers=tokens["planner"])
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["ETag"]


def _microgrids(client, tokens, pid) -> dict:
    return {f["properties"]["microgrid_key"]: f
            for f in _get(client, tokens, f"{API}/microgrids", plan=pid)["features"]}


def _borders(a, b) -> bool:
    """A line (about a metre or more) in common, not a corner."""
    ga, gb = shape(a["geometry"]), shape(b["geometry"])
    return ga.boundary.intersection(gb.buffer(5e-7)).length > 1e-5


def _houses(client, tokens, pid, mg=None, cell=None):
    if cell is not None:
        return [f["id"] for f in _get(client, tokens, f"{API}/households", plan=pid, cell=cell)["features"]]
    return [h for c in _get(client, tokens, f"{API}/cells", plan=pid, microgrid=mg)["features"]
            for h in _houses(client, tokens, pid, cell=c["id"])]


def _remove(client, headers, hid):
    etag = client.get(f"{API}/households/{hid}", headers=headers).headers["ETag"]
    r = client.post(f"{API}/households/{hid}/removal", json={"reason": "moved_out", "date": "2026-11-30"},
                    headers={**headers, "If-Match": etag})
    assert r.status_code == 201, r.text


def _plan_etag(client, tokens, pid):
    r = client.get(f"{API}/plans/{pid}", headers=tokens["planner"])
    assert r.status_code == 200, r.text
    return r.headers["ETag"]


def _rerun(client, tokens, pid, *mgs):
    r = client.post(f"{API}/plans/{pid}/repartition", json={"microgrids": [m["id"] for m in mgs]},
                    headers={**tokens["planner"], "If-Match": _plan_etag(client, tokens, pid)})
    assert r.status_code == 200, r.text
    return r.json()


def _notes(client, tokens, pid, kind):
    r = client.get(f"{API}/plans/{pid}/notes", headers=tokens["planner"])
    assert r.status_code == 200, r.text
    return [n for n in r.json()["notes"] if n["kind"] == kind]


def _problems(client, tokens, pid, mg, rule):
    v = _get(client, tokens, f"{API}/plans/{pid}/validation", microgrid=[mg["id"]])
    return [p for p in v["problems"] if p["rule"] == rule]


def test_an_emptied_micro_grid_is_noted_then_handed_to_a_neighbour_re_run_with_it(client, tokens, world):
    pid, _ = _draft(client, tokens)
    mgs = _microgrids(client, tokens, pid)
    # the smallest micro-grid with a neighbour of its village
    pairs = [(m, o) for m in sorted(mgs) for o in sorted(mgs) if o != m
             and mgs[m]["properties"]["village_code"] == mgs[o]["properties"]["village_code"]
             and _borders(mgs[m], mgs[o])]
    key = min({m for m, _ in pairs}, key=lambda m: (mgs[m]["properties"]["households"], m))
    near = sorted(o for m, o in pairs if m == key)
    mg = mgs[key]
    for h in _houses(client, tokens, pid, mg["id"]):
        _remove(client, tokens["planner"], h)
    # validation says what to do with each of its empty cells
    empty = _problems(client, tokens, pid, mg, "empty_cell")
    assert empty and all(p["fix"] == "rerun_with_neighbour" and p["neighbours"] == near for p in empty)
    assert all(f"re-run {key} together with a micro-grid of its village next to it" in p["message"] for p in empty)

    # re-run alone: kept with one empty cell, and the note names its neighbours
    out = _rerun(client, tokens, pid, mg)
    (note,) = [n for n in out["notes"] if n["kind"] == "empty_microgrid"]
    assert note["microgrids"] == [key, *near] and note["village_code"] == mg["properties"]["village_code"]
    assert out["microgrids_dropped"] == {}
    (stored,) = _notes(client, tokens, pid, "empty_microgrid")
    assert stored["microgrids"] == [key, *near]
    cells = _get(client, tokens, f"{API}/cells", plan=pid, microgrid=mg["id"])["features"]
    assert [c["properties"]["households"] for c in cells] == [0]

    # re-run with a neighbour: its land is the neighbour's, and it is no more
    other = mgs[near[0]]
    kept = sorted(_houses(client, tokens, pid, other["id"]))
    out = _rerun(client, tokens, pid, mg, other)
    assert out["microgrids_dropped"] == {key: near[0]}
    (note,) = [n for n in out["notes"] if n["kind"] == "microgrid_dropped"]
    assert note["microgrids"] == [key, near[0]] and note["params"]["area_m2"] > 0
    after = _microgrids(client, tokens, pid)
    assert key not in after
    assert not [c for c in _get(client, tokens, f"{API}/cells", plan=pid)["features"]
                if c["properties"]["cell_key"].startswith(key + "-")]
    both = shape(mg["geometry"]).union(shape(other["geometry"]))
    assert shape(after[near[0]]["geometry"]).symmetric_difference(both).area < 1e-9
    assert sorted(_houses(client, tokens, pid, other["id"])) == kept
    assert not _notes(client, tokens, pid, "empty_microgrid")
    assert [n["microgrids"] for n in _notes(client, tokens, pid, "microgrid_dropped")] == [[key, near[0]]]
    # no error left in the village: no empty cell, gap or overlap
    v = _get(client, tokens, f"{API}/plans/{pid}/validation")
    assert not [p for p in v["problems"] if p["severity"] == "error"], v["problems"]


def test_a_locked_cell_left_empty_is_noted_until_unlocked_and_a_rerun_drops_it(client, tokens, world):
    pid, etag = _draft(client, tokens)
    mgs = _microgrids(client, tokens, pid)
    key = sorted(k for k in mgs if mgs[k]["properties"]["village_code"] == VILLAGES[0])[0]
    mg = mgs[key]
    cells = sorted(_get(client, tokens, f"{API}/cells", plan=pid, microgrid=mg["id"])["features"],
                   key=lambda c: (c["properties"]["households"], c["properties"]["cell_key"]))
    cell = next(c for c in cells if c["properties"]["households"] > 0)
    ckey = cell["properties"]["cell_key"]
    r = client.post(f"{API}/plans/{pid}/cells/{cell['id']}/lock", headers={**tokens["planner"], "If-Match": etag})
    assert r.status_code == 200, r.text
    for h in _houses(client, tokens, pid, cell=cell["id"]):
        _remove(client, tokens["planner"], h)
    # noted as soon as its last household left, and by the re-run, which keeps it
    (note,) = _notes(client, tokens, pid, "locked_cell_empty")
    assert note["cells"] == [ckey] and note["microgrids"] == [key]
    assert f"unlock it and re-run micro-grid {key}" in note["message"]
    (p,) = [p for p in _problems(client, tokens, pid, mg, "empty_cell") if p["objects"][0]["id"] == cell["id"]]
    assert p["fix"] == "unlock_and_rerun"
    out = _rerun(client, tokens, pid, mg)
    assert [n["cells"] for n in out["notes"] if n["kind"] == "locked_cell_empty"] == [[ckey]]
    assert [n["cells"] for n in _notes(client, tokens, pid, "locked_cell_empty")] == [[ckey]]
    # unlocked: the note goes; re-run: the cell goes
    r = client.post(f"{API}/plans/{pid}/cells/{cell['id']}/unlock",
                    headers={**tokens["planner"], "If-Match": _plan_etag(client, tokens, pid)})
    assert r.status_code == 200, r.text
    assert not _notes(client, tokens, pid, "locked_cell_empty")
    _rerun(client, tokens, pid, mg)
    now = _get(client, tokens, f"{API}/cells", plan=pid, microgrid=mg["id"])["features"]
    assert ckey not in {c["properties"]["cell_key"] for c in now}
    assert all(c["properties"]["households"] > 0 for c in now)
    assert not _problems(client, tokens, pid, mg, "empty_cell")

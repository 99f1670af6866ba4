"""A re-run's notes, and its refusal, carry what a client needs to word them in its
user's language: each note its kind, its village, the ids of the micro-grids (and cells,
villages) it names, the number of households it counts and, where the engine's message
has numbers that matter, ``params``; a refused re-run the same in the error's
``errors``.  Before, a note was its kind, its English message and a count, and the web
map could only show a Chinese planner the English sentence.

On the committed sample slice, as tests/api/test_rerun_after_edits.py (whose world
this uses), on both back-ends.
"""

from __future__ import annotations

import pytest
from shapely.geometry import shape

from tests.api.test_rerun_after_edits import VILLAGES, _draft, _get, _hand_move, _same_village_pair
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)

#: every field a note may have: never a household id
NOTE_KEYS = {"kind", "message", "households", "village_code", "microgrids", "cells", "villages", "params"}


def _houses(client, tokens, pid, mg):
    return [f for c in _get(client, tokens, "/api/v1/cells", plan=pid, microgrid=mg["id"])["features"]
            for f in _get(client, tokens, "/api/v1/households", plan=pid, cell=c["id"])["features"]]


def _rerun(client, tokens, pid, etag, *mgs):
    return client.post(f"/api/v1/plans/{pid}/repartition", json={"microgrids": [m["id"] for m in mgs]},
                       headers={**tokens["planner"], "If-Match": etag})


def _km2(m2: float) -> set[str]:
    """An area as the engine's message may give it (result.area_text: m² under a
    hundredth of a km², else km²) from params' m², rounded to 0.1 m² from the area the
    message was written from."""
    from geogrid.partition.result import area_text

    return {area_text(x) for x in (m2 - 0.05, m2, m2 + 0.05)}


def _village_outline(engine, code):
    from shapely import wkt
    from sqlalchemy import text

    with engine.connect() as conn:
        return wkt.loads(conn.execute(text("SELECT ST_AsText(geom) FROM areas WHERE code = :c"),
                                      {"c": code}).scalar_one())


def _set_village_outline(engine, code, geom):
    """What re-importing the village's boundary does."""
    import shapely
    from sqlalchemy import text

    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    with engine.begin() as conn:
        conn.execute(text("UPDATE areas SET geom = ST_GeomFromText(:w, 4326) WHERE code = :c"),
                     {"w": geom.wkt, "c": code})


def _check_plain(note):
    assert set(note) <= NOTE_KEYS, note
    assert isinstance(note["households"], int)
    assert {"kind", "message", "households", "village_code"} <= set(note)


def test_an_area_note_carries_its_village_microgrids_and_the_areas_in_params(client, tokens, world, engine):
    """A micro-grid shrunk on the map and re-run takes the land back: its
    microgrid_area_changed note names the village and the micro-grid, and gives the
    areas gained and lost (m²) that the message gives in km²."""
    import shapely
    from shapely.geometry import mapping

    pid, etag = _draft(client, tokens)
    x, _ = _same_village_pair(client, tokens, pid)
    outline = shape(x["geometry"])
    hull = shapely.MultiPoint([shape(f["geometry"]) for f in _houses(client, tokens, pid, x)]).convex_hull
    shrunk = outline.intersection(hull.buffer(0.0005))
    r = client.put(f"/api/v1/plans/{pid}/microgrids/{x['id']}/geometry", json={"geometry": mapping(shrunk)},
                   headers={**tokens["planner"], "If-Match": etag})
    assert r.status_code == 200, r.text
    r = _rerun(client, tokens, pid, r.headers["etag"], x)
    assert r.status_code == 200, r.text
    for note in r.json()["notes"]:
        _check_plain(note)
    (note,) = [n for n in r.json()["notes"] if n["kind"] == "microgrid_area_changed"]
    assert note["village_code"] == VILLAGES[0]
    assert note["microgrids"] == [x["properties"]["microgrid_key"]]
    p = note["params"]
    assert set(p) <= {"gained_m2", "lost_m2", "passed_m2"} and {"gained_m2", "lost_m2"} <= set(p)
    # the message's numbers, to the message's precision
    assert any(f"gained {g} and lost {lo}" in note["message"]
               for g in _km2(p["gained_m2"]) for lo in _km2(p["lost_m2"]))
    assert p["gained_m2"] > 0 and p["lost_m2"] >= 0  # land taken back


def _band_across(mg_geom, village, houses):
    """A strip ~4 m wide across micro-grid ``mg_geom`` (degrees) that cuts it in two,
    leaves ``village`` less the strip in as many pieces as before and has no household
    within ~8 m; None if none is found."""
    import shapely

    x0, y0, x1, y1 = mg_geom.bounds
    pts = shapely.MultiPoint([shape(f["geometry"]) for f in houses])
    n_v = len(getattr(village, "geoms", [village]))
    for frac in (0.5, 0.4, 0.6, 0.3, 0.7, 0.45, 0.55, 0.35, 0.65, 0.25, 0.75):
        for band in (shapely.box(x0 - 1e-3, y0 + frac * (y1 - y0) - 2e-5, x1 + 1e-3, y0 + frac * (y1 - y0) + 2e-5),
                     shapely.box(x0 + frac * (x1 - x0) - 2e-5, y0 - 1e-3, x0 + frac * (x1 - x0) + 2e-5, y1 + 1e-3)):
            cut = band.intersection(mg_geom.buffer(1e-6))
            if pts.distance(cut) < 8e-5:
                continue
            left = mg_geom.difference(cut)
            v = village.difference(cut)
            if len(getattr(left, "geoms", [left])) >= 2 and len(getattr(v, "geoms", [v])) == n_v:
                if min(g.area for g in left.geoms) > 0.05 * mg_geom.area:
                    return cut
    return None


def test_an_outline_that_cuts_a_microgrid_in_two_gives_a_pieces_note_with_the_count(
        client, tokens, world, engine):
    """The village's outline re-imported with a strip across micro-grid X taken out (no
    household there): the re-run of X gives a microgrid_in_pieces note that names the
    village and X and gives the number of pieces (params.pieces), and a
    microgrid_area_changed note with the land lost."""
    pid, etag = _draft(client, tokens)
    mgs = _get(client, tokens, "/api/v1/microgrids", plan=pid)["features"]
    village = _village_outline(engine, VILLAGES[0])
    found = None
    for x in sorted((m for m in mgs if m["properties"]["microgrid_key"].startswith(VILLAGES[0])),
                    key=lambda m: -shape(m["geometry"]).area):
        cut = _band_across(shape(x["geometry"]), village, _houses(client, tokens, pid, x))
        if cut is not None:
            found = x, cut
            break
    assert found, "no micro-grid of the village could be cut across away from its households"
    x, cut = found
    _set_village_outline(engine, VILLAGES[0], village.difference(cut))
    r = _rerun(client, tokens, pid, etag, x)
    assert r.status_code == 200, r.text
    notes = r.json()["notes"]
    for note in notes:
        _check_plain(note)
    key = x["properties"]["microgrid_key"]
    (pieces,) = [n for n in notes if n["kind"] == "microgrid_in_pieces"]
    assert pieces["village_code"] == VILLAGES[0] and pieces["microgrids"] == [key]
    assert pieces["params"]["pieces"] >= 2
    assert f"leaves micro-grid {key} in {pieces['params']['pieces']} pieces" in pieces["message"]
    for c in pieces.get("cells", []):
        assert c.startswith(key + "-") and c in pieces["message"]
    (area,) = [n for n in notes if n["kind"] == "microgrid_area_changed"]
    assert area["microgrids"] == [key] and area["params"]["lost_m2"] > 0
    assert any(f"lost {lo}" in area["message"] for lo in _km2(area["params"]["lost_m2"]))


def test_a_refused_rerun_gives_the_refusal_structured_in_errors(client, tokens, world, engine):
    """A household moved by hand into micro-grid X whose point lies in Y: the re-run of X
    is refused (422) with, besides the English detail, errors[0] of type
    rerun_leaves_households giving the micro-grids named, the households left out (count
    and ids, as the detail names them), where they lie, and the engine's notes on them
    as a re-run's notes are (kind, village, a count)."""
    pid, etag = _draft(client, tokens)
    x, y = _same_village_pair(client, tokens, pid)
    h, _, etag = _hand_move(client, tokens, pid, etag, y, x)
    r = _rerun(client, tokens, pid, etag, x)
    assert r.status_code == 422, r.text
    body = r.json()
    (err,) = body["errors"]
    assert err["type"] == "rerun_leaves_households" and err["reason"] == body["detail"]
    p = err["params"]
    assert p["microgrids"] == [x["properties"]["microgrid_key"]]
    assert p["n"] == 1 and p["households"] == [h] and p["more"] == 0
    assert p["lie_in"] == [y["properties"]["microgrid_key"]] and p["nowhere"] == 0
    for note in p["notes"]:
        _check_plain(note)
        assert note["households"] == 1 and note["message"] in body["detail"]
    assert p["notes"], "the engine's reason for leaving the household out"


def test_a_household_cut_off_by_its_villages_outline_is_refused_with_an_outside_village_note(
        client, tokens, world, engine):
    """The village's outline re-imported with a hole where a household of X lies: the
    re-run of X is refused, and the structured refusal carries the engine's
    outside_village note with the households it counts."""
    pid, etag = _draft(client, tokens)
    x, _ = _same_village_pair(client, tokens, pid)
    houses = _houses(client, tokens, pid, x)
    h = shape(houses[len(houses) // 2]["geometry"])
    hole = h.buffer(3e-5)
    inside = sorted(f["id"] for f in houses if hole.contains(shape(f["geometry"])))
    village = _village_outline(engine, VILLAGES[0])
    _set_village_outline(engine, VILLAGES[0], village.difference(hole))
    r = _rerun(client, tokens, pid, etag, x)
    assert r.status_code == 422, r.text
    p = r.json()["errors"][0]["params"]
    assert p["n"] == len(inside) and sorted(p["households"]) == inside[:10]
    outside = [n for n in p["notes"] if n["kind"] == "outside_village"]
    assert outside and sum(n["households"] for n in outside) == len(inside)
    for note in p["notes"]:
        _check_plain(note)


def test_a_rerun_the_engine_refuses_for_the_new_outline_gives_its_refusal_structured(
        client, tokens, world, engine):
    """The village's outline re-imported without micro-grid X's land (X's polygon, a
    hair wider, cut out), then X re-run alone: repartition() refuses (X would have no
    land).  The 422's errors[0] is the engine's own (type outline_leaves_no_land; params:
    the village and X's key) with the detail as its reason, so the planner's map can say
    it in Chinese; nothing was changed (the plan's ETag is as before)."""
    pid, etag = _draft(client, tokens)
    x, _ = _same_village_pair(client, tokens, pid)
    village = _village_outline(engine, VILLAGES[0])
    _set_village_outline(engine, VILLAGES[0], village.difference(shape(x["geometry"]).buffer(1e-6)))
    r = _rerun(client, tokens, pid, etag, x)
    assert r.status_code == 422, r.text
    body = r.json()
    assert "leaves micro-grid(s)" in body["detail"] and "no land" in body["detail"]
    assert body["errors"] == [{"type": "outline_leaves_no_land", "reason": body["detail"], "params": {
        "village": VILLAGES[0], "microgrids": [x["properties"]["microgrid_key"]]}}]
    r = client.get(f"/api/v1/plans/{pid}", headers=tokens["planner"])
    assert r.headers["etag"] == etag


REFUSALS = {
    "outline_leaves_no_land": lambda v, ms: {"village": v, "microgrids": ms},
    "outline_leaves_no_households": lambda v, ms: {"village": v, "microgrids": ms},
    "outline_has_no_area": lambda v, ms: {"village": v},
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_each_refusal_of_the_engine_reaches_the_client_with_its_errors(client, tokens, world, monkeypatch, kind):
    """Each structured refusal repartition() gives for a village's new outline (here
    raised by a stand-in for it) comes back in the 422's errors as the engine gave it,
    with the detail as its reason; the English detail is the engine's message."""
    import geogrid.partition
    from geogrid.errors import InputError

    pid, etag = _draft(client, tokens)
    x, _ = _same_village_pair(client, tokens, pid)
    key = x["properties"]["microgrid_key"]
    params = REFUSALS[kind](VILLAGES[0], [key])

    def refuse(*args, **kwargs):
        err = InputError(f"the new outline of village {VILLAGES[0]} ... ({kind})")
        err.errors = [{"type": kind, "params": params}]
        raise err

    monkeypatch.setattr(geogrid.partition, "repartition", refuse)
    r = _rerun(client, tokens, pid, etag, x)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"] == f"the new outline of village {VILLAGES[0]} ... ({kind})"
    assert body["errors"] == [{"type": kind, "params": params, "reason": body["detail"]}]


def test_a_note_of_a_diagnostic_with_no_structured_fields_has_the_four_every_note_has():
    """A diagnostic with none of the structured fields gives a note of the four
    fields every note has (its village may be None)."""
    from geogrid.api.planrerun import _note

    note = _note({"kind": "no_point", "village_code": None, "households": [1, 2, 3],
                  "message": "3 household(s) have no coordinates"}, {2, 3})
    assert note == {"kind": "no_point", "message": "3 household(s) have no coordinates",
                    "households": 2, "village_code": None}


def test_a_refused_rerun_in_a_batch_keeps_its_structured_refusal(client, tokens, world, engine):
    """POST /edits with the re-run as its second operation: errors[0] has the batch's
    place (index, op) and the refusal's own type and params.  Before: only index, op and
    the English reason, so a batch client could not word it in its user's language."""
    pid, etag = _draft(client, tokens)
    x, y = _same_village_pair(client, tokens, pid)
    h, _, etag = _hand_move(client, tokens, pid, etag, y, x)
    cell = _get(client, tokens, "/api/v1/cells", plan=pid, microgrid=y["id"])["features"][0]
    r = client.post(f"/api/v1/plans/{pid}/edits",
                    json={"edits": [{"op": "lock", "cell_id": cell["id"]},
                                         {"op": "repartition", "microgrids": [x["id"]]}]},
                    headers={**tokens["planner"], "If-Match": etag})
    assert r.status_code == 422, r.text
    (err,) = r.json()["errors"]
    assert err["index"] == 1 and err["op"] == "repartition"
    assert err["type"] == "rerun_leaves_households" and err["params"]["households"] == [h]
    assert "would leave 1 household(s) in no cell" in err["reason"]

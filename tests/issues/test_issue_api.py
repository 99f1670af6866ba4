"""The closed loop over HTTP on both back-ends: report -> accept -> dispatch -> start ->
proof photo -> resolve -> verify -> close -> rate; bad input changes nothing; scope."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from tests.issues.conftest import V1, V2, X0, Y0, png_bytes, point

API = "/api/v1"


def _report(client, headers, *, category="sanitation", where=None, **extra):
    lon, lat = where or point(V1, 0)
    body = {"category": category, "lon": lon, "lat": lat, "description": "垃圾堆放在路边", **extra}
    return client.post(f"{API}/issues", json=body, headers=headers)


def _act(client, headers, issue_id, action, **body):
    return client.post(f"{API}/issues/{issue_id}/transitions", json={"action": action, **body},
                       headers=headers)


def _count(engine, table):
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_closed_loop(iclient, itokens, user_ids, engine, clock):
    r = _report(iclient, itokens["cell1"], contact_name="王小明", contact_phone="13812345678")
    assert r.status_code == 201, r.text
    issue = r.json()
    iid, props = issue["id"], issue["properties"]
    assert props["status"] == "reported" and props["level"] == "cell"
    assert props["cell_key"] == f"{V1}-M01-C01" and props["microgrid_key"] == f"{V1}-M01"
    assert props["village_code"] == V1 and props["town_code"] == "431227101000"
    assert props["near_boundary"] is False
    assert props["contact_phone"] != "13812345678" and props["contact_phone"].endswith("5678")
    assert props["due_at"] == "2025-03-06T01:00:00Z"  # sanitation: 3 days

    # the cell leader manages cell-level issues in their cell
    assert set(props["allowed_actions"]) >= {"accept", "reject", "escalate"}
    assert _act(iclient, itokens["cell1"], iid, "accept", version=1).status_code == 200
    r = _act(iclient, itokens["cell1"], iid, "dispatch", handler_id=user_ids["cell1"], version=2)
    assert r.status_code == 200, r.text
    assert _act(iclient, itokens["cell1"], iid, "start").status_code == 200
    # resolving needs a proof photo first
    r = _act(iclient, itokens["cell1"], iid, "resolve")
    assert r.status_code == 422 and "proof photo" in r.json()["detail"]
    r = iclient.post(f"{API}/issues/{iid}/photos", headers=itokens["cell1"], data={"kind": "proof"},
                     files={"file": ("fix.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    photo = r.json()
    assert iclient.get(photo["thumbnail_url"], headers=itokens["cell1"]).status_code == 200
    clock.advance(days=1)
    assert _act(iclient, itokens["cell1"], iid, "resolve", note="已清理").status_code == 200
    # the resolver may not verify; the village cadre may
    r = _act(iclient, itokens["cell1"], iid, "verify")
    assert r.status_code == 403
    assert _act(iclient, itokens["cadre1"], iid, "verify").status_code == 200
    r = _act(iclient, itokens["cadre1"], iid, "close")
    assert r.status_code == 422  # the answer to the reporter is required
    clock.advance(hours=2)
    assert _act(iclient, itokens["cadre1"], iid, "close", note="已清理，谢谢反映").status_code == 200
    # only the reporter rates
    assert _act(iclient, itokens["cadre1"], iid, "rate", rating=5).status_code == 403
    r = _act(iclient, itokens["cell1"], iid, "rate", rating=5, note="很快")
    assert r.status_code == 200
    final = r.json()["properties"]
    assert final["status"] == "rated" and final["rating"] == 5 and final["version"] == 8
    actions = [e["action"] for e in final["timeline"]]
    assert actions == ["report", "accept", "dispatch", "start", "photo", "resolve", "verify",
                       "close", "rate"]
    assert all(e["actor"] for e in final["timeline"])

    stats = iclient.get(f"{API}/issues/stats?by=status", headers=itokens["cadre1"]).json()
    assert stats["summary"]["total"] == 1 and stats["summary"]["on_time_share"] == 1.0
    assert stats["summary"]["median_hours_to_close"] == 26.0
    # one household's issue: an analyst is told none of it (test_issue_small_rows)
    stats = iclient.get(f"{API}/issues/stats?by=status", headers=itokens["analyst"]).json()
    assert set(stats["summary"].values()) == {None}


def test_invalid_transition_is_409_and_changes_nothing(iclient, itokens, engine):
    iid = _report(iclient, itokens["cadre1"]).json()["id"]
    before = _count(engine, "issue_events")
    r = _act(iclient, itokens["cadre1"], iid, "resolve")
    assert r.status_code == 409 and "reported" in r.json()["detail"]
    r = _act(iclient, itokens["cadre1"], iid, "close", note="x")
    assert r.status_code == 409
    r = _act(iclient, itokens["cadre1"], iid, "fly")
    assert r.status_code == 422
    got = iclient.get(f"{API}/issues/{iid}", headers=itokens["cadre1"]).json()["properties"]
    assert got["status"] == "reported" and got["version"] == 1
    assert _count(engine, "issue_events") == before


def test_stale_version_is_412(iclient, itokens):
    iid = _report(iclient, itokens["cadre1"]).json()["id"]
    assert _act(iclient, itokens["cadre1"], iid, "accept", version=1).status_code == 200
    r = _act(iclient, itokens["cadre1"], iid, "reject", reason="invalid", version=1)
    assert r.status_code == 412


def test_outside_county_is_422_and_stores_nothing(iclient, itokens, engine):
    r = _report(iclient, itokens["hotline"], where=(X0 - 0.05, Y0 + 0.005))
    assert r.status_code == 422 and "outside county" in r.json()["detail"]
    r = _report(iclient, itokens["hotline"], where=(Y0, X0))  # swapped
    assert r.status_code == 422
    assert _count(engine, "issues") == 0 and _count(engine, "issue_events") == 0


def test_report_outside_own_scope_is_403(iclient, itokens, engine):
    r = _report(iclient, itokens["cell1"], where=point(V2, 1))
    assert r.status_code == 403
    assert _count(engine, "issues") == 0


def test_uploads_checked_and_nothing_changed(iclient, itokens, engine, issue_app):
    iid = _report(iclient, itokens["cadre1"]).json()["id"]
    h = itokens["cadre1"]
    url = f"{API}/issues/{iid}/photos"
    r = iclient.post(url, headers=h, files={"file": ("x.jpg", b"not an image at all", "image/jpeg")})
    assert r.status_code == 422 and "not a JPEG" in r.json()["detail"]
    big = b"\xff\xd8\xff" + b"0" * 1_100_000
    r = iclient.post(url, headers=h, files={"file": ("big.jpg", big, "image/jpeg")})
    assert r.status_code == 413
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (3000, 3000)).save(buf, "PNG")  # 9 Mpx in a few kB: over the 4 Mpx limit
    r = iclient.post(url, headers=h, files={"file": ("bomb.png", buf.getvalue(), "image/png")})
    assert r.status_code == 413 and "pixels" in r.json()["detail"]
    assert _count(engine, "issue_photos") == 0
    data_dir = issue_app.state.settings.data_dir
    assert not (data_dir / "issues").exists() or not any(
        p.is_file() for p in (data_dir / "issues").rglob("*"))
    # a proof photo is the handler's, and only while dispatched / in progress
    r = iclient.post(url, headers=h, data={"kind": "proof"},
                     files={"file": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 403


def test_scope_hides_other_places(iclient, itokens):
    iid = _report(iclient, itokens["cadre1"]).json()["id"]
    assert iclient.get(f"{API}/issues/{iid}", headers=itokens["cadre2c"]).status_code == 404
    assert _act(iclient, itokens["cadre2c"], iid, "accept").status_code == 404
    # the east cell's leader sees neither
    assert iclient.get(f"{API}/issues/{iid}", headers=itokens["cell1b"]).status_code == 404
    listed = iclient.get(f"{API}/issues", headers=itokens["cadre2c"]).json()
    assert listed["numberMatched"] == 0
    # planners never handle issues; analysts only get statistics
    assert iclient.get(f"{API}/issues", headers=itokens["planner"]).status_code == 403
    assert iclient.get(f"{API}/issues/{iid}", headers=itokens["analyst"]).status_code == 403
    assert iclient.get(f"{API}/issues/hotspots", headers=itokens["analyst"]).status_code == 200


def test_village_issue_not_handled_by_cell_leader(iclient, itokens, user_ids):
    # disputes are village-level: a cell leader sees them in their cell but cannot accept
    iid = _report(iclient, itokens["cell1"], category="disputes").json()["id"]
    r = _act(iclient, itokens["cell1"], iid, "accept")
    assert r.status_code == 403
    assert _act(iclient, itokens["cadre1"], iid, "accept").status_code == 200
    # village dispatches down to the cell leader, who may then escalate back up
    r = _act(iclient, itokens["cadre1"], iid, "dispatch", handler_id=user_ids["cell1"])
    assert r.status_code == 200 and r.json()["properties"]["level"] == "cell"
    # a person whose scope does not cover the place cannot be the handler
    r = _act(iclient, itokens["cadre1"], iid, "dispatch", handler_id=user_ids["cadre2c"])
    assert r.status_code == 422
    r = _act(iclient, itokens["cell1"], iid, "escalate", note="需村里协调")
    assert r.status_code == 200
    p = r.json()["properties"]
    assert p["status"] == "accepted" and p["level"] == "village" and p["handler_id"] is None
    # a village cadre cannot send it to a county department: escalate first
    r = _act(iclient, itokens["cadre1"], iid, "dispatch", department="justice")
    assert r.status_code == 403
    r = _act(iclient, itokens["cadre1"], iid, "dispatch", department="town_office")
    assert r.status_code == 403
    assert _act(iclient, itokens["town"], iid, "dispatch", department="town_office").status_code == 200


def test_reject_duplicate_and_reopen(iclient, itokens):
    first = _report(iclient, itokens["cadre1"]).json()
    second = _report(iclient, itokens["cadre1"]).json()
    dups = second["properties"]["possible_duplicates"]
    assert [d["issue_id"] for d in dups] == [first["id"]]
    r = _act(iclient, itokens["cadre1"], second["id"], "reject", reason="duplicate")
    assert r.status_code == 422
    r = _act(iclient, itokens["cadre1"], second["id"], "reject", reason="duplicate",
             duplicate_of=first["id"])
    assert r.status_code == 200 and r.json()["properties"]["duplicate_of"] == first["id"]
    r = _act(iclient, itokens["cadre1"], second["id"], "reopen", note="不是同一处")
    assert r.status_code == 200 and r.json()["properties"]["status"] == "reported"
    near = iclient.get(f"{API}/issues/duplicates", headers=itokens["cadre1"],
                       params={"category": "sanitation", "lon": point(V1, 0)[0],
                               "lat": point(V1, 0)[1]}).json()
    assert {d["issue_id"] for d in near} == {first["id"], second["id"]}


def test_list_filters_and_csv_is_formula_safe(iclient, itokens, engine):
    _report(iclient, itokens["cadre1"], description="=HYPERLINK(\"http://x\",\"y\")")
    _report(iclient, itokens["cadre1"], category="safety", where=point(V1, 1))
    fc = iclient.get(f"{API}/issues?category=safety", headers=itokens["cadre1"]).json()
    assert fc["numberMatched"] == 1 and fc["features"][0]["properties"]["category"] == "safety"
    fc = iclient.get(f"{API}/issues?bbox={X0},{Y0},{X0 + 0.005},{Y0 + 0.01}",
                     headers=itokens["cadre1"]).json()
    assert fc["numberMatched"] == 1
    r = iclient.get(f"{API}/issues/export.csv", headers=itokens["cadre1"])
    assert r.status_code == 200
    text = r.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    from sqlalchemy import text as sql

    with engine.connect() as conn:
        assert conn.execute(sql("SELECT count(*) FROM audit_log WHERE action = 'export'")).scalar() == 1


def test_catalogue_endpoint(iclient, itokens):
    cat = iclient.get(f"{API}/issues/catalogue", headers=itokens["analyst"]).json()
    codes = [c["code"] for c in cat["categories"]]
    assert codes == ["sanitation", "roads_lights", "rivers_water", "disputes", "safety", "care",
                     "policy", "other"]
    assert cat["levels"] == ["cell", "village", "town", "county"]


def test_numbers_typed_into_free_text_are_masked_everywhere(iclient, itokens):
    """A reporter types a neighbour's ID number and phone into the description, a cadre
    into a note: no issue response, timeline, CSV export or Open311 answer carries them
    in full (the stored text keeps them)."""
    import datetime as dt
    import re

    from geogrid.idnumber import make_id_number

    pid = make_id_number("431227", dt.date(1950, 3, 4), 12, "male")
    phone = "13912345678"
    r = _report(iclient, itokens["cell1"], description=f"邻居 {pid} 独居，电话 {phone}，需要照看")
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    h = itokens["cell1"]
    assert _act(iclient, h, iid, "accept", version=1, note=f"已联系 {phone}").status_code == 200
    bodies = [r.text]
    for path in (f"/issues/{iid}", f"/issues/{iid}/events", "/issues", "/issues/inbox",
                 "/issues/export.csv"):
        got = iclient.get(f"{API}{path}", headers=h)
        assert got.status_code == 200, (path, got.text)
        bodies.append(got.text)
    for fmt in ("json", "xml"):
        got = iclient.get(f"/open311/v2/requests/{iid}.{fmt}")
        bodies.append(got.text)
    text = "\n".join(bodies)
    assert "独居" in text  # the description itself is there
    assert pid not in text and phone not in text
    assert re.search(r"139\*{4}5678", text) and pid[-4:] in text


def test_landlines_and_full_width_numbers_in_free_text_are_masked_and_other_numbers_kept(iclient, itokens):
    """mask_text took unbroken mobiles and 18-character ID numbers only: a landline with its
    area code or a mobile in full-width digits came back whole in an issue's description
    and notes, though the register loaders masked them (geogrid.personalnumbers).  The
    other numbers of the text, a 户编号, a date, a count, stay as typed."""
    description = ("独居老人，户编号431227100201-0005，座机0871-12345678，儿子１３８１２３４５６７８，"
                   "女儿 139 1234 5678，2026年12月04日（20261204）上门 3 次")
    r = _report(iclient, itokens["cell1"], description=description)
    assert r.status_code == 201, r.text
    iid, h = r.json()["id"], itokens["cell1"]
    assert _act(iclient, h, iid, "accept", version=1, note="已拨（0745）6221234").status_code == 200
    masked = ("独居老人，户编号431227100201-0005，座机087*-****5678，儿子138****5678，"
              "女儿 139 **** 5678，2026年12月04日（20261204）上门 3 次")
    assert iclient.get(f"{API}/issues/{iid}", headers=h).json()["properties"]["description"] == masked
    notes = [e["note"] for e in iclient.get(f"{API}/issues/{iid}/events", headers=h).json()]
    assert "已拨(074*)***1234" in notes, notes
    public = iclient.get(f"/open311/v2/requests/{iid}.json").json()[0]
    assert public["description"] == masked


def test_dispatch_departments_are_those_of_the_callers_level(iclient, itokens):
    """The departments a caller may dispatch to (at their level or below), so the map
    offers no department the API then refuses."""
    iid = _report(iclient, itokens["cadre1"]).json()["id"]
    assert _act(iclient, itokens["cadre1"], iid, "accept", version=1).status_code == 200
    got = {u: iclient.get(f"{API}/issues/{iid}", headers=itokens[u]).json()["properties"]["dispatch_departments"]
           for u in ("cadre1", "town", "hotline", "cell1")}
    assert got["cadre1"] == [] and got["town"] == ["town_office"], got
    assert "town_office" in got["hotline"] and "housing" in got["hotline"], got
    assert got["cell1"] == []  # a cell leader: no department works at cell level
    r = _act(iclient, itokens["town"], iid, "dispatch", department="town_office", version=2)
    assert r.status_code == 200, r.text


def test_inbox_count_tells_how_many_without_reading_them(iclient, itokens, user_ids, engine):
    """The map's 待办 badge is read every minute while the map is open: the count alone,
    which holds no one's data and is not written to the audit log, unlike the inbox."""
    iid = _report(iclient, itokens["cadre1"]).json()["id"]
    _report(iclient, itokens["cadre1"], where=point(V1, 1))
    assert _act(iclient, itokens["cadre1"], iid, "accept", version=1).status_code == 200
    assert _act(iclient, itokens["cadre1"], iid, "dispatch", handler_id=user_ids["cell1"],
                version=2).status_code == 200
    audited = _count(engine, "audit_log")
    for user, n in (("cell1", 1), ("cadre1", 1), ("town", 1), ("cell1b", 1), ("cadre2c", 0)):
        r = iclient.get(f"{API}/issues/inbox/count", headers=itokens[user])
        assert r.status_code == 200, r.text
        inbox = iclient.get(f"{API}/issues/inbox", headers=itokens[user]).json()
        assert r.json()["issues"] == len({f["id"] for f in inbox["features"]}) == n, (user, r.json())
        assert r.json()["counts"] == inbox["counts"]
    # the inboxes read with issues in them (four) are audited; the counts are not
    assert _count(engine, "audit_log") == audited + 4
    assert iclient.get(f"{API}/issues/inbox/count", headers=itokens["analyst"]).status_code == 403


def test_csv_export_times_are_china_time(iclient, itokens):
    """The export is for Excel in a county office: its times read 01:00Z for an issue
    reported at 09:00 in the morning, eight hours off the clock on the office wall.
    They are now China time, with the offset said (+08:00)."""
    import csv

    iid = _report(iclient, itokens["cadre1"]).json()["id"]  # at T0: 2025-03-03 09:00 in China
    text = iclient.get(f"{API}/issues/export.csv", headers=itokens["cadre1"]).content.decode("utf-8-sig")
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["id"] == iid)
    assert row["reported_at"] == "2025-03-03T09:00:00+08:00", row
    assert row["due_at"] == "2025-03-06T09:00:00+08:00", row  # sanitation: 3 days
    assert row["resolved_at"] == "" and row["closed_at"] == ""


def test_a_reopened_issue_shows_no_old_answer(iclient, itokens, user_ids):
    """The reporter reopens a closed issue (the answer did not settle it): the issue is
    handled again, but its panel still showed the old answer as 答复, as if it stood;
    resolved_at, closed_at and the rating were cleared, the reply was not.  The old
    answer stays in the timeline."""
    iid = _report(iclient, itokens["cadre1"]).json()["id"]
    steps = [("accept", {}), ("dispatch", {"handler_id": user_ids["cell1"]})]
    for action, extra in steps:
        assert _act(iclient, itokens["cadre1"], iid, action, **extra).status_code == 200
    assert _act(iclient, itokens["cell1"], iid, "start").status_code == 200
    r = iclient.post(f"{API}/issues/{iid}/photos", headers=itokens["cell1"], data={"kind": "proof"},
                     files={"file": ("fix.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    assert _act(iclient, itokens["cell1"], iid, "resolve").status_code == 200
    assert _act(iclient, itokens["cadre1"], iid, "verify").status_code == 200
    r = _act(iclient, itokens["cadre1"], iid, "close", note="已清理，感谢反映")
    assert r.json()["properties"]["reply"] == "已清理，感谢反映"
    r = _act(iclient, itokens["cadre1"], iid, "reopen", note="又堆上了")
    assert r.status_code == 200, r.text
    p = r.json()["properties"]
    assert p["status"] == "dispatched" and p["closed_at"] is None
    assert p["reply"] is None, p["reply"]
    assert [e["note"] for e in p["timeline"] if e["action"] == "close"] == ["已清理，感谢反映"]

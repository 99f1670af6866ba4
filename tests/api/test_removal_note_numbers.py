"""A household's removal note (迁往长沙) was stored, answered and audited as typed: a cadre
writing the family's new phone or an ID number into it put it in the register in full,
beside the persons register that keeps them masked.  Such a note is refused now, with a
keyed message, by the API and by ``geogrid households remove``, and nothing is written
(SpatiaLite and PostGIS)."""

from __future__ import annotations

from sqlalchemy import text

from tests.api.conftest import V1

API = "/api/v1"
PHONE = "13912345678"


def _removals(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM household_removals")).scalar_one()


def test_a_removal_note_holding_a_phone_or_an_id_number_is_refused_and_nothing_written(
        client, tokens, world, engine, cli):
    hid = world.households[V1][0]
    cadre = tokens["cadre1"]
    etag = client.get(f"{API}/households/{hid}", headers=cadre).headers["ETag"]
    for note in (f"迁往长沙，新电话{PHONE}", f"并入其母户，母亲身份证{world.id_numbers[1]}", "迁往长沙 电话139 1234 5678"):
        r = client.post(f"{API}/households/{hid}/removal", headers={**cadre, "If-Match": etag},
                        json={"reason": "moved_out", "date": "2026-11-30", "note": note})
        assert r.status_code == 422, r.text
        assert r.json()["message"] == {"key": "household.removal_note_number", "params": {}}
        assert PHONE not in r.text and world.id_numbers[1] not in r.text
    assert _removals(engine) == 0
    assert client.get(f"{API}/households/{hid}", headers=cadre).status_code == 200  # still in the register

    code, _, err = cli("households", "remove", hid, "--reason", "moved_out", "--date", "2026-11-30",
                       "--note", f"迁往长沙，新电话{PHONE}")
    assert code == 2 and "ID number or phone number" in err and PHONE not in err, err
    assert _removals(engine) == 0

    r = client.post(f"{API}/households/{hid}/removal", headers={**cadre, "If-Match": etag},
                    json={"reason": "moved_out", "date": "2026-11-30", "note": "迁往长沙，人口 4，2026 年 11 月"})
    assert r.status_code == 201, r.text  # a note without one is taken as before
    assert r.json()["note"] == "迁往长沙，人口 4，2026 年 11 月"

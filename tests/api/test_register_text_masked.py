"""The API showed a household's address and a resident's relation as stored, and an
import stored the phone or ID number typed into them as typed: a cadre's house panel
read 户主电话13912345678.  Imported now, the number is masked before it is stored, and the
API's read of the house shows the masked text (SpatiaLite and PostGIS)."""

from __future__ import annotations

import datetime as dt

from geogrid.idnumber import make_id_number
from tests.api.conftest import D, V1, X0, Y0

PHONE = "13912345678"


def test_a_house_read_shows_the_masked_text_of_what_an_import_typed(client, tokens, world, cli, tmp_path):
    household = world.households[V1][0]  # H20100: one household of V1, at its point
    spouse_id = world.id_numbers[1]
    h = tmp_path / "h.csv"
    h.write_text("户编号,户主,地址,经度,纬度,村代码,户类别\n"
                 f"H20100,欧阳娜娜,一村1组1号 户主电话{PHONE},{X0 + D / 8},{Y0 + D / 2 - D / 8},{V1},放心户\n",
                 encoding="gb18030")
    code, out, err = cli("import", "households", h)
    assert code == 0 and "1 updated" in out, err
    assert "note: 地址, 1 row (2): a phone number in the text masked" in out
    child = make_id_number("431227", dt.date(2012, 5, 6), 11, "M")
    p = tmp_path / "p.csv"
    p.write_text(f"户编号,姓名,身份证号,与户主关系\nH20100,欧阳小明,{child},之子 母亲身份证{spouse_id}\n",
                 encoding="gbk")
    code, out, err = cli("import", "persons", p)
    assert code == 0 and "1 added" in out, err
    assert "note: 与户主关系, 1 row (2): an ID number in the text masked" in out

    for who in ("admin", "cadre1"):
        r = client.get(f"/api/v1/households/{household}", headers=tokens[who])
        assert r.status_code == 200, r.text
        props = r.json()["properties"]
        assert props["address"] == "一村1组1号 户主电话139****5678"
        relations = {p["relation"] for p in props["residents"]}
        assert f"之子 母亲身份证{'*' * 14}{spouse_id[-4:]}" in relations
        assert PHONE not in r.text and spouse_id not in r.text and child not in r.text
    r = client.get("/api/v1/search", params={"q": "一村1组1号", "kind": "address"}, headers=tokens["admin"])
    assert r.status_code == 200 and "139****5678" in r.text and PHONE not in r.text

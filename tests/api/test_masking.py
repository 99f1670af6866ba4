"""Masking: the rules, the log filter, and a crawl of every response for full numbers."""

import logging
import re

import pytest

from geogrid.api.masking import MaskingFilter, mask_name, mask_phone, mask_text
from geogrid.idnumber import mask_id_number
from tests.api.conftest import V1, V2

FULL_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
FULL_PHONE = re.compile(r"(?<!\d)1\d{10}(?!\d)")
# geogrid's ids are 32 hex characters; about one in 500 holds "1" + ten digits
OBJECT_ID = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])")


def full_numbers(text: str) -> list[str]:
    """Every full ID or mobile number in ``text`` (object ids aside)."""
    text = OBJECT_ID.sub("<id>", text)
    return FULL_ID.findall(text) + FULL_PHONE.findall(text)


@pytest.mark.parametrize("name,masked", [
    ("王小明", "王**"), ("李四", "李*"), ("欧阳娜娜", "欧阳**"), ("司马光", "司马*"),
    ("诸葛亮", "诸葛*"), ("上官婉儿", "上官**"), ("欧阳", "欧*"), ("王", "王"), ("", ""), (None, None),
    ("阿卜杜拉·买买提", "阿***·***"),
])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_mask_numbers():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 13812345678") == "+86 138****5678"[:0] + mask_phone("+86 13812345678")
    assert mask_id_number("43122719900101123X") == "**************123X"
    text = "id=43122719900101123X tel:13812345678 and +8613912345678 order 123456789012345678901"
    out = mask_text(text)
    assert "43122719900101123X" not in out and "13812345678" not in out and "13912345678" not in out
    assert "123456789012345678901" in out  # a longer number is not an ID


def test_log_filter_masks_messages_args_and_tracebacks():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, '%s - "GET %s" %d',
                               ("127.0.0.1", "/api/v1/search?q=43122719900101123X&p=13812345678", 200), None)
    MaskingFilter().filter(record)
    assert isinstance(record.args, tuple)  # uvicorn's access formatter unpacks args
    msg = record.getMessage()
    assert "43122719900101123X" not in msg and "13812345678" not in msg and "123X" in msg
    try:
        raise ValueError("bad phone 13812345678")
    except ValueError:
        import sys
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    MaskingFilter().filter(rec)
    assert "13812345678" not in logging.Formatter().format(rec)


def test_mask_text_leaves_object_ids_alone():
    import uuid

    from geogrid.db.models import new_id, new_ids

    ids = [new_id() for _ in range(5000)] + new_ids(5000) + [uuid.uuid4().hex for _ in range(5000)]
    ids.append("0a13812345678b4e9f00c2d1e3a5b7c9")  # a phone-like run inside an id
    changed = [i for i in ids if mask_text(f"/api/v1/persons/{i}?x=1") != f"/api/v1/persons/{i}?x=1"]
    assert changed == []
    assert mask_text("0a13812345678b4e9f00c2d1e3a5b7c9 13812345678") == \
        "0a13812345678b4e9f00c2d1e3a5b7c9 138****5678"


def test_free_text_in_the_audit_log_and_plans_is_masked(client, tokens, world):
    """A purpose or plan name may quote a number; GET /audit and /plans must not give it back."""
    idn, phone = world.id_numbers[0], world.phones[0]
    p = world.persons[V1][0]
    r = client.post(f"/api/v1/persons/{p}/reveal", json={"purpose": f"核实 {idn} 电话 {phone}"},
                    headers=tokens["cadre1"])
    assert r.status_code == 200
    r = client.post(f"/api/v1/persons/{world.persons[V2][0]}/reveal",
                    json={"purpose": f"核实 {idn}"}, headers=tokens["cadre1"])  # out of scope: 404
    assert r.status_code == 404
    client.get(f"/api/v1/persons/{idn}", headers=tokens["cadre1"])
    r = client.post("/api/v1/plans", json={"name": f"草案 {phone}"}, headers=tokens["planner"])
    assert r.status_code == 201
    audit = client.get("/api/v1/audit", params={"action": "reveal"}, headers=tokens["admin"])
    purposes = sorted(e["purpose"] for e in audit.json()["entries"])
    assert purposes == [f"核实 {mask_id_number(idn)}", f"核实 {mask_id_number(idn)} 电话 {mask_phone(phone)}"]
    for text in (audit.text, client.get("/api/v1/audit?limit=1000", headers=tokens["admin"]).text,
                 r.text, client.get("/api/v1/plans", headers=tokens["planner"]).text):
        assert full_numbers(text) == [] and idn not in text and phone not in text


def test_audit_read_masks_entries_written_elsewhere(client, tokens, engine, world):
    """Entries from outside the API (``geogrid export --purpose``) are masked when read."""
    from geogrid.db import audit
    from geogrid.db.engine import make_sessionmaker

    idn = world.id_numbers[1]
    with make_sessionmaker(engine)() as s:
        audit.append(s, "cli", "export.persons", "persons", None, purpose=f"核对 {idn}",
                     detail={"note": idn})
        s.commit()
    r = client.get("/api/v1/audit", params={"actor": "cli"}, headers=tokens["admin"])
    assert r.json()["numberMatched"] == 1
    assert idn not in r.text and mask_id_number(idn) in r.text


def _collect(client, headers, world):
    """GET every route of the API (ids filled in from the world) and a few errors."""
    h = world.households[V1][0]
    p = world.persons[V1][0]
    c = world.cells[f"{V1}-M01-C01"]
    mg = world.microgrids[f"{V1}-M01"]
    paths = [
        "/api/v1/households", f"/api/v1/households?cell={c}", "/api/v1/households?bbox=109,27,110,28",
        f"/api/v1/households/{h}", f"/api/v1/persons/{p}", "/api/v1/households/aggregate",
        "/api/v1/areas", f"/api/v1/areas/{V1}", "/api/v1/microgrids", f"/api/v1/microgrids/{mg}",
        "/api/v1/cells", f"/api/v1/cells/{c}", "/api/v1/plans", f"/api/v1/plans/{world.plan_id}",
        f"/api/v1/plans/{world.plan_id}/validation", f"/api/v1/plans/{world.plan_id}/diff/{world.plan_id}",
        "/api/v1/audit?limit=1000", "/api/v1/auth/me", "/api/v1/config", "/healthz",
        "/api/v1/search?q=一村", f"/api/v1/search?q={world.id_numbers[0][-4:]}", "/api/v1/search?q=欧阳",
        f"/api/v1/search?q={world.id_numbers[0]}", f"/api/v1/search?q={world.phones[0]}",
        f"/api/v1/households?bbox={world.id_numbers[0]}", f"/api/v1/persons/{world.id_numbers[0]}",
    ]
    bodies = []
    for path in paths:
        r = client.get(path, headers=headers)
        assert r.status_code < 500, (path, r.status_code, r.text)
        bodies.append((path, r.text + " " + " ".join(f"{k}: {v}" for k, v in r.headers.items())))
    # bad bodies echo nothing back either
    r = client.post(f"/api/v1/persons/{p}/reveal", json={"purpose": world.id_numbers[0] + "x" * 600},
                    headers=headers)
    bodies.append(("reveal-invalid", r.text))
    return bodies


def test_crawl_finds_no_full_id_or_phone(client, tokens, world):
    known = set(world.id_numbers) | set(world.phones)
    leaks = []
    for role in ("admin", "cadre1", "planner", "analyst", "cadre2c"):
        # each role reveals once first, so the audit log holds reveal entries to crawl too
        # (with the numbers themselves in the purpose, as a hurried cadre types it)
        if role in ("admin", "cadre1"):
            r = client.post(f"/api/v1/persons/{world.persons[V1][0]}/reveal",
                            json={"purpose": f"核实身份 {world.id_numbers[0]} {world.phones[0]}"},
                            headers=tokens[role])
            assert r.status_code == 200
        for path, text in _collect(client, tokens[role], world):
            found = full_numbers(text) + [k for k in known if k in text]
            if found:
                leaks.append((role, path, found[:3]))
    assert leaks == []


def test_crawl_would_catch_a_leak(client, tokens, world):
    """The reveal route does return full values, and the same regexes see them."""
    r = client.post(f"/api/v1/persons/{world.persons[V2][0]}/reveal", json={"purpose": "核实身份"},
                    headers=tokens["admin"])
    assert FULL_ID.search(r.text) and FULL_PHONE.search(r.text)
    body = r.json()
    assert body["id_number"] in world.id_numbers and body["masked"] is False
    assert body["birth_date"] is not None


def test_masked_person_has_age_not_birth_date(client, tokens, world):
    r = client.get(f"/api/v1/persons/{world.persons[V1][0]}", headers=tokens["cadre1"])
    body = r.json()
    assert "birth_date" not in body and isinstance(body["age"], int)
    assert body["id_number"].startswith("**************") and body["masked"] is True


# --- the recogniser the register loaders use (geogrid.personalnumbers) ---------------------------
#: numbers mask_text gave back whole while the register loaders masked them: a landline with its
#: area code, full-width digits (a phone's Chinese keyboard), a first-generation ID number of 15
#: digits, a mobile after 0086
TYPED = [
    ("座机 0871-12345678", "座机 087*-****5678"),
    ("座机（0745）6221234", "座机(074*)***1234"),
    ("手机１３８１２３４５６７８", "手机138****5678"),
    ("手机 １３８　１２３４　５６７８", "手机 138 **** 5678"),
    ("0086 13812345678", "0086 138****5678"),
    ("老身份证431227500101123", "老身份证***********1123"),
]


@pytest.mark.parametrize("typed,masked", TYPED)
def test_mask_text_masks_landlines_full_width_digits_and_old_id_numbers(typed, masked):
    assert mask_text(typed) == masked


def test_the_log_filter_masks_landlines_and_full_width_digits():
    record = logging.LogRecord("geogrid.api", logging.INFO, __file__, 1, "search q=%s by %s",
                               ("座机0871-12345678", "１３８１２３４５６７８"), None)
    MaskingFilter().filter(record)
    line = logging.Formatter().format(record)
    assert line == "search q=座机087*-****5678 by 138****5678", line


@pytest.mark.parametrize("plain", [
    "户编号431227100201-0005", "村代码431227100201", "2026年12月04日（20261204）", "2026-12-04 08:30",
    "坐标109.123456,27.654321", "共 3 户 12 人，第 138 号", "档案号0000012345", "工单 0a13812345678b4e9f00c2d1e3a5b7c9",
])
def test_mask_text_leaves_other_numbers_as_typed(plain):
    """A household number of the sample's form, a village code, dates, coordinates, counts,
    a zero-padded file number (no area code begins 00) and an object id are not personal."""
    assert mask_text(plain) == plain


def test_a_refusals_numbers_are_masked_and_its_body_stays_json():
    """A refusal's errors and message parameters were masked as JSON text and parsed
    again: a number the recogniser takes (a coordinate of ten decimals, a phone sent as a
    JSON number) came back unquoted, and the refusal was a 500 of json's own."""
    from geogrid.api.errors import _body

    body = _body(422, "invalid request: body.phone: Input should be a valid string",
                 [{"loc": "body.phone", "reason": "invalid", "input": 13812345678, "lat": 95.0123456789}],
                 {"key": "request.invalid", "params": {"field": "body.phone", "value": 13812345678,
                                                       "note": "回电 13812345678", "lon": 109.0123456789}})
    assert body["errors"] == [{"loc": "body.phone", "reason": "invalid", "input": "138****5678",
                               "lat": 95.0123456789}]
    assert body["message"]["params"] == {"field": "body.phone", "value": "138****5678",
                                         "note": "回电 138****5678", "lon": 109.0123456789}

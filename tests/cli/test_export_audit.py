"""``geogrid export audit``: the whole audit log to CSV or JSON Lines, oldest first,
filtered, masked as the API shows it, written whole or not at all, and itself logged
with the file's SHA-256; on SpatiaLite and PostGIS."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json

import pytest

from geogrid.db import audit
from geogrid.db.engine import session_scope

PHONE = "13812345678"
AT = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


def _fill(engine, n: int = 12) -> None:
    """``n`` entries an hour apart from AT: alternately alice's reveal and bob's list;
    the third holds a phone number in its detail and an actor that starts a formula."""
    with session_scope(engine, write=True) as s:
        for i in range(n):
            who, action = ("alice", "reveal") if i % 2 == 0 else ("bob", "list")
            detail = {"i": i, "note": f"回访 {PHONE}" if i == 2 else "ok"}
            audit.append(s, "=HYPERLINK(1)" if i == 3 else who, action, "person", str(100 + i),
                         purpose="核对" if action == "reveal" else None, detail=detail,
                         at=AT + dt.timedelta(hours=i))


def _csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _last_entry(engine):
    with session_scope(engine) as s:
        return audit.entries(s, limit=1)[0]


def test_export_audit_whole_log_oldest_first_masked_and_logged(cli, engine, tmp_path):
    _fill(engine)
    out = tmp_path / "audit.csv"
    code, stdout, err = cli("export", "audit", "-o", out, "-q")
    assert code == 0, err
    rows = _csv(out)
    assert [int(r["detail"] and json.loads(r["detail"])["i"]) for r in rows] == list(range(12))
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    assert rows[0]["at"] == "2026-12-01T02:00:00+00:00" and rows[0]["purpose"] == "核对"
    assert rows[1]["purpose"] == ""  # None is an empty cell, not "None"
    text = out.read_text(encoding="utf-8-sig")
    assert PHONE not in text and "138****5678" in text
    assert rows[3]["actor"] == "'=HYPERLINK(1)"  # no cell starts a formula
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel and WPS read UTF-8
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert f"SHA-256 {digest}" in stdout and "12 audit entries" in stdout
    logged = _last_entry(engine)
    assert logged.action == "export.audit" and logged.object_type == "audit_log"
    assert logged.detail["rows"] == 12 and logged.detail["sha256"] == digest
    assert logged.detail["upto_id"] == int(rows[-1]["id"]) and logged.detail["file"] == str(out)
    # a second export holds the first one's entry, not its own
    again = tmp_path / "again.jsonl"
    assert cli("export", "audit", "-o", again, "-q")[0] == 0
    lines = _jsonl(again)
    assert len(lines) == 13 and lines[-1]["action"] == "export.audit"
    assert lines[-1]["detail"]["sha256"] == digest
    assert lines[2]["detail"]["note"] == "回访 138****5678"


def test_export_audit_filters_and_times(cli, engine, tmp_path):
    _fill(engine)
    out = tmp_path / "a.jsonl"
    # 2026-12-01T12:00+08:00 is 04:00 UTC: entries 2, 3 and 4 (until 07:00, which is
    # left out), and alice's are 2 and 4
    code, _, err = cli("export", "audit", "-o", out, "-q", "--actor", "alice", "--since",
                       "2026-12-01T12:00+08:00", "--until", "2026-12-01T07:00")
    assert code == 0, err
    assert [e["detail"]["i"] for e in _jsonl(out)] == [2, 4]
    assert cli("export", "audit", "-o", out, "-q", "--action", "list", "--object-type", "person")[0] == 0
    assert [e["detail"]["i"] for e in _jsonl(out)] == [1, 3, 5, 7, 9, 11]
    assert _last_entry(engine).detail["filters"] == {"action": "list", "object_type": "person"}
    zh = tmp_path / "zh.csv"
    assert cli("export", "audit", "-o", zh, "-q", "--zh", "--result", "ok", "--until", "2026-12-01")[0] == 0
    with open(zh, encoding="utf-8-sig", newline="") as f:
        assert next(csv.reader(f))[:4] == ["编号", "时间(UTC)", "操作人", "操作"]
    assert _csv(zh) == []  # headers only: nothing before the first entry


@pytest.mark.parametrize("args, code, words", [
    (("-o", "{tmp}/a.xlsx"), 4, ".csv"),
    (("-o", "{tmp}/nowhere/a.csv"), 4, "does not exist"),
    (("-o", "{tmp}/a.csv", "--since", "12/01/2026"), 2, "ISO 8601"),
    (("-o", "{tmp}/a.csv", "--since", "2026-12-02", "--until", "2026-12-01"), 2, "not after"),
])
def test_export_audit_refuses_bad_options_and_writes_nothing(cli, engine, tmp_path, args, code, words):
    _fill(engine, 2)
    folder = tmp_path / "out"  # (tmp_path holds the SpatiaLite database)
    folder.mkdir()
    got, _, err = cli("export", "audit", "-q", *(a.format(tmp=folder) for a in args))
    assert got == code and words in err
    assert list(folder.rglob("*")) == []
    assert _last_entry(engine).action != "export.audit"


def test_export_audit_failure_leaves_the_previous_file_and_no_entry(cli, engine, tmp_path, monkeypatch):
    from geogrid.cli import auditlog

    _fill(engine, 8)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "audit.csv"
    out.write_text("yesterday's archive", encoding="utf-8")

    def broken(entry):
        if entry.detail["i"] == 5:
            raise OSError("No space left on device")
        return real(entry)

    real = auditlog._entry
    monkeypatch.setattr(auditlog, "_entry", broken)
    monkeypatch.setattr(auditlog, "BATCH", 3)  # the failure comes in the second batch
    got, _, err = cli("export", "audit", "-o", out, "-q")
    assert got == 1 and "No space left on device" in err and "unchanged" in err
    assert out.read_text(encoding="utf-8") == "yesterday's archive"
    assert [p.name for p in folder.iterdir()] == ["audit.csv"]  # no temporary file left
    assert _last_entry(engine).action != "export.audit"


def test_export_audit_reads_in_batches_up_to_the_start(cli, engine, tmp_path, monkeypatch):
    """Entries appended while the export runs are left for the next one; batches of
    BATCH entries each, none of a batch lost at its border."""
    from geogrid.cli import auditlog

    _fill(engine, 10)
    seen = []
    real = audit.batches

    def batches(bind, **kw):
        for rows in real(bind, **kw):
            seen.append(len(rows))
            with session_scope(engine, write=True) as s:  # another worker logging meanwhile
                audit.append(s, "carol", "reveal", "person", "1", detail={"i": 99})
            yield rows

    monkeypatch.setattr(audit, "batches", batches)
    monkeypatch.setattr(auditlog, "BATCH", 4)
    out = tmp_path / "a.jsonl"
    assert cli("export", "audit", "-o", out, "-q")[0] == 0
    assert seen == [4, 4, 2]
    assert [e["detail"]["i"] for e in _jsonl(out)] == list(range(10))

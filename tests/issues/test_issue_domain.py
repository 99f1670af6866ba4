"""Pure parts: photos (type by content, size, bombs, EXIF/GPS stripped, thumbnails),
the catalogue file, statistics and the formula-safe CSV."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest
from PIL import Image

from geogrid.errors import InputError, NotFoundError
from geogrid.issues.catalogue import default_catalogue, load_catalogue
from geogrid.issues.photos import PhotoTooLargeError, process_photo, store_photo
from geogrid.issues import stats


def _jpeg_with_gps() -> bytes:
    im = Image.new("RGB", (800, 600), (10, 120, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # orientation: rotate 90
    gps = {1: "N", 2: (27.0, 18.0, 0.0), 3: "E", 4: (109.0, 12.0, 0.0)}
    exif[0x8825] = gps
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_exif_and_gps_are_stripped_and_image_turned_upright(tmp_path):
    raw = _jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the input has GPS
    p = process_photo(raw)
    out = Image.open(io.BytesIO(p.content))
    assert out.format == "JPEG" and not out.getexif() and "exif" not in out.info
    assert (p.width, p.height) == (600, 800)  # orientation applied before stripping
    assert b"PhoneMaker" not in p.content and b"GPS" not in p.content
    thumb = Image.open(io.BytesIO(p.thumbnail))
    assert max(thumb.size) == 320 and not thumb.getexif()
    main, t = store_photo(tmp_path, "ab" * 16, "cd" * 16, p)
    assert (tmp_path / main).read_bytes() == p.content and (tmp_path / t).is_file()
    assert not list(tmp_path.rglob("*.tmp"))


def test_png_text_chunks_are_dropped():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "住址 一村2组 13812345678")
    buf = io.BytesIO()
    Image.new("RGBA", (40, 30)).save(buf, "PNG", pnginfo=info)
    p = process_photo(buf.getvalue())
    assert p.content_type == "image/png" and b"13812345678" not in p.content


@pytest.mark.parametrize("data,error,match", [
    (b"", InputError, "empty"),
    (b"GIF89a" + b"\0" * 100, InputError, "not a JPEG"),
    (b"%PDF-1.4 hello", InputError, "not a JPEG"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", InputError, "not a JPEG"),
])
def test_non_images_are_refused(data, error, match):
    with pytest.raises(error, match=match):
        process_photo(data)


def test_size_and_pixel_limits():
    buf = io.BytesIO()
    Image.new("RGB", (200, 200)).save(buf, "PNG")
    with pytest.raises(PhotoTooLargeError, match="MB"):
        process_photo(buf.getvalue(), max_bytes=100)
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, "PNG")  # 144 Mpx in a few kB
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(PhotoTooLargeError, match="pixels"):
        process_photo(bomb.getvalue())


def test_truncated_image_is_refused():
    raw = _jpeg_with_gps()
    with pytest.raises(InputError):
        process_photo(raw[: len(raw) // 3])


# --- catalogue ------------------------------------------------------------------------------
def test_default_catalogue():
    cat = default_catalogue()
    assert cat.get("sanitation").level == "cell" and cat.get("policy").level == "town"
    assert not cat.get("disputes").public and not cat.get("care").public
    with pytest.raises(NotFoundError, match="use one of"):
        cat.get("ufo")


def test_catalogue_file_json_and_yaml(tmp_path):
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"categories": [{"code": "sanitation", "name": "环境", "deadline_days": 1,
                                             "level": "village"},
                                            {"code": "forest_fire", "name": "森林防火",
                                             "deadline_days": 0.5, "level": "town"}]}),
                 encoding="utf-8")
    cat = load_catalogue(j)
    assert cat.get("sanitation").deadline_days == 1 and cat.get("forest_fire").level == "town"
    assert "care" in cat.codes()
    y = tmp_path / "c.yaml"
    y.write_text("replace: true\ncategories:\n  - {code: a, name: A, deadline_days: 2, level: cell}\n"
                 "departments:\n  - {code: d, name: 部门, level: county}\n", encoding="utf-8")
    cat = load_catalogue(str(y))
    assert cat.codes() == ["a"] and cat.department("d").level == "county"
    assert load_catalogue("").codes() == default_catalogue().codes()


@pytest.mark.parametrize("content,match", [
    ("{", "cannot be parsed"),
    ('{"categories": [{"code": "x", "level": "province"}]}', "level"),
    ('{"categories": [{"code": "x", "deadline_days": -1}]}', "deadline_days"),
    ('{"categories": [{"code": "x"}, {"code": "x"}]}', "twice"),
])
def test_bad_catalogue_files(tmp_path, content, match):
    p = tmp_path / "bad.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        load_catalogue(p)
    with pytest.raises(InputError, match="does not exist"):
        load_catalogue(tmp_path / "missing.json")


# --- statistics -----------------------------------------------------------------------------------
T = pd.Timestamp("2025-03-03T00:00:00Z")


def _frame():
    rows = [
        # id, status, category, village, reported(+h), due(+h), resolved(+h), closed(+h)
        ("a", "rated", "sanitation", "V1", 0, 72, 24, 30),
        ("b", "closed", "sanitation", "V1", 0, 72, 100, 110),
        ("c", "dispatched", "safety", "V2", 0, 24, None, None),
        ("d", "rejected", "other", "V2", 200, 400, None, None),
        ("e", "reported", "sanitation", "V2", 800, 872, None, None),
    ]
    h = lambda x: None if x is None else T + pd.Timedelta(hours=x)  # noqa: E731
    return pd.DataFrame({
        "id": [r[0] for r in rows], "status": [r[1] for r in rows], "category": [r[2] for r in rows],
        "level": "cell", "village_code": [r[3] for r in rows], "microgrid_key": None,
        "cell_key": None, "reported_at": [h(r[4]) for r in rows], "due_at": [h(r[5]) for r in rows],
        "resolved_at": pd.to_datetime([h(r[6]) for r in rows], utc=True),
        "closed_at": pd.to_datetime([h(r[7]) for r in rows], utc=True),
        "lon": [109.2, 109.2001, 109.25, 109.3, 109.2], "lat": [27.3, 27.3001, 27.3, 27.35, 27.3],
        "description": ["=1+1", "@SUM(A1)", "+cmd", "-2", "ok"]})


def test_counts_share_median_hotspots():
    df = _frame()
    now = (T + pd.Timedelta(hours=500)).to_pydatetime()
    by = stats.counts(df, ["category", "status"])
    assert by[by.category == "sanitation"]["count"].sum() == 3
    monthly = stats.counts(df, ["village_code"], "month")
    assert monthly.groupby("period")["count"].sum().to_dict() == {"2025-03-01": 4, "2025-04-01": 1}
    weekly = stats.counts(df, [], "week")
    assert weekly["count"].sum() == 5
    # known outcomes: a on time, b late, c open and overdue; d rejected, e not yet due
    assert stats.on_time_share(df, now) == round(1 / 3, 4)
    assert stats.median_hours_to_close(df) == 70.0
    s = stats.summary(df, now)
    assert (s["total"], s["open"], s["closed"], s["overdue"]) == (5, 2, 3, 1)
    hexes = stats.hotspots(df, 9, now)
    assert hexes[0]["properties"]["issues"] >= 2 and sum(f["properties"]["issues"] for f in hexes) == 5
    with pytest.raises(InputError):
        stats.counts(df, ["password"])
    assert stats.on_time_share(df.iloc[0:0], now) is None


def test_a_week_is_labelled_by_its_monday():
    """Weeks were pandas' "W-MON", weeks that END on a Monday: labelled by a Tuesday
    (2025-02-25 for Monday 2025-03-03), a Monday counted with the week before it.  A
    week now runs Monday to Sunday, China time, as an analyst's whole weeks do
    (geogrid.api.issuestats.analyst_window)."""
    cst = ["2025-03-03 00:30", "2025-03-05 12:00", "2025-03-09 23:30", "2025-03-10 00:30"]
    at = pd.Series(pd.to_datetime(cst)).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    labels = stats.period_labels(pd.DataFrame({"reported_at": at}), "week")
    assert labels.tolist() == ["2025-03-03", "2025-03-03", "2025-03-03", "2025-03-10"]


def test_csv_export_is_formula_safe(tmp_path):
    text = stats.csv_bytes(_frame()).decode("utf-8-sig")
    for bad in ("=1+1", "@SUM(A1)", "+cmd"):
        assert f",{bad}" not in text and f"'{bad}" in text
    path = stats.write_csv(_frame(), tmp_path / "issues.csv")
    written = path.read_text(encoding="utf-8-sig")
    assert "'=1+1" in written and ",=1+1" not in written

"""``geogrid partition --households FILE [--villages FILE] --out OUT.gpkg``: files are read
as ``geogrid import`` reads them, rejected rows are named, and OUT is written whole or
not at all."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from geogrid.cli import main

A, B = "431227100201", "431227100202"
OUTLINES = {A: box(109.0, 27.0, 109.02, 27.02), B: box(109.02, 27.0, 109.04, 27.02)}


def _rows(n=40):
    """``n`` households, alternately in village A and B, as a register's rows."""
    rows = []
    for i in range(n):
        v = i % 2
        rows.append({"户编号": f"H{i:03d}", "户主": f"户主{i}", "村代码": (A, B)[v],
                     "经度": f"{109.001 + 0.02 * v + 0.0006 * (i // 2 % 30):.6f}",
                     "纬度": f"{27.005 + 0.0003 * (i % 7):.6f}"})
    return rows


def _csv(path, rows, encoding="utf-8"):
    pd.DataFrame(rows).to_csv(path, index=False, encoding=encoding)
    return path


def _villages(path, headers=("村代码", "村名")):
    code, name = headers
    gpd.GeoDataFrame({code: list(OUTLINES), name: ["甲村", "乙村"]},
                     geometry=list(OUTLINES.values()), crs=4326).to_file(path)
    return path


@pytest.fixture
def run(capsys):
    def run(*args):
        code = main(["partition", "--quiet", *map(str, args)])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _swap(row):
    row["经度"], row["纬度"] = row["纬度"], row["经度"]
    return row


def test_rejected_rows_are_named_with_their_row_household_and_reason(run, tmp_path):
    """Each rejected row is named on stderr by its spreadsheet row number and household
    number, with load_households' reason, and all of them go, as read, to
    OUT.rejected.csv; the others are partitioned (before: only "3 rows rejected")."""
    rows = _rows()
    _swap(rows[3])  # file row 5
    rows[10]["经度"] = "200"  # row 12
    rows[20]["纬度"] = "abc"  # row 22
    hh = _csv(tmp_path / "hh.csv", rows)
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", hh, "--villages", _villages(tmp_path / "v.gpkg", ("village_code", "name")),
                     "--out", out)
    assert code == 0, err
    assert "3 of 40 household rows" in err
    assert "row 5 (household H003): 经度/纬度: longitude and latitude look swapped" in err
    assert "row 12 (household H010): 经度: longitude 200 is out of range" in err
    assert "row 22 (household H020): 纬度: latitude 'abc' is not a number" in err
    rejected = pd.read_csv(tmp_path / "plan.rejected.csv", dtype=str, encoding="utf-8-sig")
    assert rejected["户编号"].tolist() == ["H003", "H010", "H020"]
    assert rejected["经度"].tolist()[1] == "200" and "swapped" in rejected["reason"][0]
    assert f"are in {tmp_path / 'plan.rejected.csv'}" in err
    assert len(gpd.read_file(out, layer="households")) == 37

    # many rejects: the first 20 on stderr, all in the file; a clean run removes the list
    rows = _rows()
    for row in rows[:25]:
        row["纬度"] = "-95"
    code, _, err = run("--households", _csv(hh, rows), "--out", out)
    assert code == 0, err
    assert err.count("latitude -95 is out of range") == 20 and "… and 5 more" in err
    assert len(pd.read_csv(tmp_path / "plan.rejected.csv", dtype=str, encoding="utf-8-sig")) == 25
    code, _, err = run("--households", _csv(hh, _rows()), "--out", out)
    assert code == 0 and "rejected" not in err
    assert not (tmp_path / "plan.rejected.csv").exists()


def test_a_file_whose_every_row_is_rejected_fails_and_writes_nothing(run, tmp_path):
    """All rows rejected: exit 3 with one error line saying no household could be read and
    why, no OUT and no rejects file (before: exit 0 and a plan of 0 households).  A CSV
    of headers only: exit 2, nothing written."""
    out = tmp_path / "plan.gpkg"
    hh = _csv(tmp_path / "hh.csv", [_swap(r) for r in _rows(5)])
    code, stdout, err = run("--households", hh, "--out", out)
    assert code == 3
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: no household could be read from {hh}: all 5 rows were rejected, "
                           "row 2 (household H000) because 经度/纬度: longitude and latitude look swapped")
    assert err.count("look swapped") == 6  # the five rows listed, and the first again in the error
    assert stdout == "" and list(tmp_path.iterdir()) == [hh]

    headers = tmp_path / "headers.csv"
    headers.write_text("户编号,经度,纬度,村代码\n", encoding="utf-8")
    code, _, err = run("--households", headers, "--out", out)
    assert code == 2
    assert "no household could be read" in err and "no rows" in err
    assert not out.exists()


def test_a_file_without_household_numbers_is_read_and_checked_as_the_import_reads_it(run, tmp_path):
    """No 户编号 column: a GBK file is decoded, 村代码 is the village code, a longitude
    'abc' and one out of range are rejected by row with the import's reasons, and
    co-located households share a building named by their first row (before: a
    UnicodeDecodeError, then ValueError tracebacks, and 村代码 unrecognised)."""
    rows = [{k: v for k, v in r.items() if k != "户编号"} for r in _rows()]
    rows[0]["经度"] = "abc"
    rows[1]["经度"] = "200"
    rows[7]["经度"], rows[7]["纬度"] = rows[5]["经度"], rows[5]["纬度"]  # rows 9 and 7 of the file: one point
    hh = _csv(tmp_path / "hh.csv", rows, encoding="gbk")
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", hh, "--out", out)
    assert code == 0, err
    assert "row 2: 经度: longitude 'abc' is not a number" in err
    assert "row 3: 经度: longitude 200 is out of range -180..180" in err
    got = gpd.read_file(out, layer="households")
    assert len(got) == 38
    assert got["village_code"].value_counts().to_dict() == {A: 19, B: 19}
    assert all(c.startswith(v) for c, v in zip(got["cell_id"], got["village_code"]))
    assert got.loc[got["_row"].isin([7, 9]), "building"].tolist() == ["row 7", "row 7"]
    assert got["head_name"].str.startswith("户主").all()


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_villages_csv_in_gbk_with_chinese_headers(run, tmp_path, encoding):
    """--villages as a GBK/GB18030 CSV with 村代码, 村名 and WKT in 几何 is decoded and read
    (before: a UnicodeDecodeError traceback)."""
    villages = pd.DataFrame({"村代码": list(OUTLINES), "村名": ["甲村", "乙村𠮷" if encoding == "gb18030" else "乙村"],
                             "几何": [g.wkt for g in OUTLINES.values()]})
    vfile = tmp_path / "v.csv"
    villages.to_csv(vfile, index=False, encoding=encoding)
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", _rows()), "--villages", vfile, "--out", out)
    assert code == 0, err
    cells = gpd.read_file(out, layer="cells")
    assert set(cells["village_code"]) == {A, B}
    for code_, outline in OUTLINES.items():
        union = cells[cells["village_code"] == code_].geometry.union_all()
        assert abs(union.area - outline.area) < 1e-9


@pytest.mark.parametrize("headers", [("区划代码", "名称"), ("村代码", "村名"), ("village_code", "村名称")])
def test_village_outlines_with_chinese_headers(run, tmp_path, headers):
    """Village outlines coded 区划代码 (the boundary import's headers) or 村代码/
    village_code (a register's) are recognised (before: only village_code or code)."""
    vfile = _villages(tmp_path / "v.geojson", headers)
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", _rows()), "--villages", vfile, "--out", out)
    assert code == 0, err
    cells = gpd.read_file(out, layer="cells")
    for code_, outline in OUTLINES.items():
        union = cells[cells["village_code"] == code_].geometry.union_all()
        assert abs(union.area - outline.area) < 1e-9


def test_a_failed_write_leaves_the_previous_out_as_it_was(run, tmp_path, monkeypatch):
    """OUT is written to a temporary file beside it and renamed only when all its layers
    are in: a write failing at the last layer exits 1 with a one-line error, leaves the
    previous OUT whole and no temporary file (before: OUT was deleted first and a
    corrupt one left).  The review's trigger, columns Note and note in a file without
    household numbers, no longer reaches the writer: the households layer has geogrid's
    own columns only."""
    rows = _rows()
    hh = _csv(tmp_path / "hh.csv", rows)
    out = tmp_path / "plan.gpkg"
    assert run("--households", hh, "--out", out)[0] == 0
    before = out.read_bytes()

    real = gpd.GeoDataFrame.to_file

    def failing(self, path, *args, layer=None, **kwargs):
        if layer == "cells":
            raise OSError(28, "No space left on device")
        return real(self, path, *args, layer=layer, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", failing)
    code, _, err = run("--households", _csv(hh, rows[:30]), "--out", out)
    assert code == 1
    assert err.strip().splitlines()[-1].startswith(f"error: cannot write {out}: [Errno 28] No space left")
    assert f"{out} is as it was before" in err
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hh.csv", "plan.gpkg"]
    monkeypatch.undo()

    for row in rows:
        row["Note"], row["note"] = "a", "b"
    code, _, err = run("--households", _csv(hh, rows), "--out", out)
    assert code == 0, err
    assert [name for name, _ in pyogrio.list_layers(out)] == ["households", "microgrids", "cells", "notes", "parameters"]
    assert len(gpd.read_file(out, layer="households")) == 40


def test_columns_a_geopackage_cannot_tell_apart_are_a_clear_error(tmp_path):
    """Two columns differing only in case cannot both go into a GeoPackage layer: an
    InputError naming them, before anything is written."""
    from types import SimpleNamespace

    from geogrid.cli.partition import _write_plan
    from geogrid.errors import InputError

    layer = gpd.GeoDataFrame({"Note": ["a"], "note": ["b"]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    result = SimpleNamespace(households=layer, microgrids=layer, cells=layer)
    with pytest.raises(InputError, match="columns 'Note' and 'note'"):
        _write_plan(result, tmp_path / "plan.gpkg")
    assert list(tmp_path.iterdir()) == []


def test_a_rejects_list_that_cannot_be_written_is_one_line_and_a_failure(run, tmp_path):
    """Before: a plan.rejected.csv that could not be written (here a directory of that
    name; a file another program holds does the same) gave a traceback after OUT was
    written."""
    rows = _rows()
    _swap(rows[3])
    (tmp_path / "plan.rejected.csv").mkdir()
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", rows), "--out", out)
    assert code == 1
    assert "Traceback" not in err
    assert f"the plan is in {out}, but the list of the 1 rejected household rows could not be written" in err
    assert "row 5 (household H003)" in err  # named all the same
    assert len(gpd.read_file(out, layer="households")) == 39


def test_the_engines_notes_are_a_layer_of_the_geopackage(run, tmp_path):
    """A planner working from the file in QGIS gets the engine's notes as a layer, each
    at the points it is about (before, only the terminal saw the first 20 of them)."""
    rows = _rows(40)
    # a block of flats: 25 households at one point (over the cap of 20)
    rows += [{"户编号": f"F{i:03d}", "户主": f"住户{i}", "村代码": A, "经度": "109.010000",
              "纬度": "27.010000"} for i in range(25)]
    # a farmstead 1.5 km from every other household
    rows.append({"户编号": "FAR", "户主": "远户", "村代码": A, "经度": "109.018000", "纬度": "27.019500"})
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", rows), "--villages",
                       _villages(tmp_path / "v.gpkg"), "--out", out)
    assert code == 0, err
    assert "are in the layer 'notes' of plan.gpkg" in err
    notes = gpd.read_file(out, layer="notes")
    assert notes.crs.to_epsg() == 4326
    flats = notes[notes["kind"] == "oversize_building"]
    assert len(flats) == 1
    assert flats["households"].iloc[0] == 25
    assert sorted(flats["household_no"].iloc[0].split(",")) == [f"F{i:03d}" for i in range(25)]
    pts = flats.geometry.iloc[0]
    assert len(pts.geoms) == 25 and {(round(p.x, 6), round(p.y, 6)) for p in pts.geoms} == {(109.01, 27.01)}
    far = notes[notes["kind"] == "isolated"]
    assert len(far) == 1 and far["household_no"].iloc[0] == "FAR"
    assert (round(far.geometry.iloc[0].geoms[0].x, 6), round(far.geometry.iloc[0].geoms[0].y, 6)) == (109.018, 27.0195)
    # every note has points, in its village (a village's own note: inside its micro-grids)
    assert set(notes["kind"]) > {"oversize_building", "isolated"}, set(notes["kind"])
    for _, n in notes.iterrows():
        assert not n.geometry.is_empty, n["kind"]
        assert all(OUTLINES[n["village_code"]].buffer(1e-9).contains(p) for p in n.geometry.geoms), n["kind"]
    # the households layer names the same households in the same cell
    hh = gpd.read_file(out, layer="households")
    assert hh.loc[hh["household_no"].str.match(r"F\d"), "cell_id"].nunique() == 1



def _named_rows():
    """The rows of :func:`_rows` with a 村名 column: every row of village B named 甲村, which
    is A's name, so the file's rows agree among themselves and only the outlines' names tell."""
    rows = _rows()
    for row in rows:
        row["村名"] = "甲村" if row["村代码"] == B else ""
    return rows


def test_the_village_names_of_the_outlines_check_the_households_village_names(run, tmp_path):
    """The households' 村名 was checked only against the other rows of its 村代码: a file whose
    rows of 乙村's code all say 甲村 was partitioned without a word, though --villages names the
    two. Now it is checked against the outlines' names, as geogrid import checks it against the
    loaded villages."""
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", _named_rows()), "--villages",
                       _villages(tmp_path / "v.gpkg"), "--out", out)
    assert code == 0, err
    err = " ".join(err.split())
    assert "20 of 40 household rows" in err
    assert (f"row 3 (household H001): 村名/村代码: village name '甲村' does not agree with village code {B}, "
            "which is 乙村's; correct the name or the code") in err
    assert set(gpd.read_file(out, layer="households")["village_code"]) == {A}


def test_outlines_without_names_leave_the_households_village_names_to_agree_among_themselves(run, tmp_path):
    """Outlines with codes only give no names to check against: the partition goes on, and
    says the 村名 column was checked within the file only."""
    vfile = tmp_path / "v.gpkg"
    gpd.GeoDataFrame({"村代码": list(OUTLINES)}, geometry=list(OUTLINES.values()), crs=4326).to_file(vfile)
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", _named_rows()), "--villages", vfile,
                       "--out", out)
    assert code == 0, err
    err = " ".join(err.split())
    assert "rejected" not in err
    assert (f"note: {vfile} names no village (no 名称 or 村名 column): the households' 村名 is checked "
            "only against the other rows of its 村代码") in err
    assert len(gpd.read_file(out, layer="households")) == 40
    # households without a 村名 column need no such word
    code, _, err = run("--households", _csv(tmp_path / "hh2.csv", _rows()), "--villages", vfile,
                       "--out", tmp_path / "plan2.gpkg")
    assert code == 0 and "names no village" not in err, err


def _rows_by_name(code_of=None):
    """The rows of :func:`_rows` naming their village (甲村, 乙村) in a 村名 column and
    coding none, but row 3 (H001, in 乙村's outline), which says 甲村; ``code_of``: the
    positions of rows that give their code (the one their 村名 names) instead of a name."""
    rows = _rows()
    names = {A: "甲村", B: "乙村"}
    codes = {"甲村": A, "乙村": B}
    for row in rows:
        row["村名"] = names[row.pop("村代码")]
    rows[1]["村名"] = "甲村"
    for pos, row in enumerate(rows):
        if code_of is None:
            continue
        row["村代码"] = codes[row["村名"]] if pos in code_of else ""
        if pos in code_of:
            row["村名"] = ""
    return rows


def test_a_household_named_into_a_village_whose_outline_it_is_not_in_is_left_out_as_a_coded_one(run, tmp_path):
    """A row giving a 村名 and no 村代码 went to whichever outline held its point: H001, named
    甲村 with its point in 乙村, was put in a cell of 乙村 without a word, though a row coding
    甲村 there is left out with an 'outside_village' note. Its name is now read as geogrid
    import reads it (geogrid.io.villagenames), to 甲村's code, and it is treated as the
    coded row is; the other rows named 甲村 or 乙村 go to their villages as before. The same
    with a 村代码 column empty in the named rows."""
    vfile = _villages(tmp_path / "v.gpkg")
    layers = {}
    for how, rows in (("named", _rows_by_name()), ("coded", _rows_by_name(code_of={1})),
                      ("named-empty-code", _rows_by_name(code_of=set()))):
        out = tmp_path / f"{how}.gpkg"
        code, _, err = run("--households", _csv(tmp_path / f"{how}.csv", rows), "--villages", vfile, "--out", out)
        assert code == 0, err
        assert "rejected" not in err, err
        hh = gpd.read_file(out, layer="households")
        notes = gpd.read_file(out, layer="notes")
        layers[how] = hh, notes
        left_out = notes[notes["kind"] == "outside_village"]
        assert left_out["household_no"].tolist() == ["H001"], (how, notes[["kind", "household_no"]])
        h001 = hh[hh["household_no"] == "H001"].iloc[0]
        assert pd.isna(h001["cell_id"]), (how, h001)
        rest = hh[hh["household_no"] != "H001"]
        assert rest["cell_id"].notna().all()
        assert (rest["cell_id"].str[:12] == rest["village_code"]).all()
        assert (rest["village_code"] == [(A, B)[int(no[1:]) % 2] for no in rest["household_no"]]).all()
    cols = ["household_no", "village_code", "microgrid_id", "cell_id"]
    for how in ("named", "named-empty-code"):
        pd.testing.assert_frame_equal(layers[how][0][cols], layers["coded"][0][cols])
        pd.testing.assert_frame_equal(layers[how][1][["kind", "household_no"]],
                                      layers["coded"][1][["kind", "household_no"]])


def test_a_household_naming_no_village_of_the_outlines_is_rejected_with_the_reason(run, tmp_path):
    """A 村名 no outline has (丙村), or one two outlines answer to, is rejected and named, as
    geogrid import rejects a name no loaded village has; before, the row went to the outline
    holding its point."""
    rows = _rows_by_name()
    rows[5]["村名"] = "丙村"  # file row 7
    vfile = tmp_path / "v.gpkg"
    gpd.GeoDataFrame({"村代码": list(OUTLINES) + ["431227100203"], "村名": ["甲村", "乙村", "乙村委会"]},
                     geometry=list(OUTLINES.values()) + [box(109.04, 27.0, 109.06, 27.02)], crs=4326).to_file(vfile)
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", rows), "--villages", vfile, "--out", out)
    assert code == 0, err
    err = " ".join(err.split())
    assert "19 of 40 household rows" in err  # 丙村 and the 18 rows of 乙村, which two villages answer to
    assert f"row 7 (household H005): 村名: no village of {vfile} is named '丙村'" in err
    assert (f"row 5 (household H003): 村名: 2 villages are named '乙村' (431227100202, "
            "431227100203 乙村委会); give the 12-digit village code in a 村代码 column") in err
    rejected = pd.read_csv(tmp_path / "plan.rejected.csv", dtype=str, encoding="utf-8-sig")
    assert "H005" in rejected["户编号"].tolist() and "H001" not in rejected["户编号"].tolist()
    hh = gpd.read_file(out, layer="households")
    assert set(hh["village_code"]) == {A} and len(hh) == 21  # H001 says 甲村


def test_outlines_without_names_say_that_named_households_are_placed_by_their_points(run, tmp_path):
    """With outlines that name no village, a 村名 cannot be read to a code: the rows go by their
    points as before, and a note says so."""
    vfile = tmp_path / "v.gpkg"
    gpd.GeoDataFrame({"村代码": list(OUTLINES)}, geometry=list(OUTLINES.values()), crs=4326).to_file(vfile)
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", _rows_by_name()), "--villages", vfile,
                       "--out", out)
    assert code == 0, err
    err = " ".join(err.split())
    assert (f"note: {vfile} names no village (no 名称 or 村名 column): the 40 households with a 村名 and no "
            "村代码 go to the village whose outline holds their point") in err
    assert hh_cells(out) == 40


def hh_cells(out):
    return int(gpd.read_file(out, layer="households")["cell_id"].notna().sum())


def test_without_villages_a_household_coding_and_naming_no_village_is_rejected(run, tmp_path):
    """The same for a row with neither 村代码 nor 村名 among coded ones: it went into no cell
    with only the engine's note, exit 0.  Rejected now, with what to give or pass; a file
    with no codes at all is still one village derived from its points."""
    rows = _rows()
    rows[3]["村代码"] = ""  # file row 5
    out = tmp_path / "plan.gpkg"
    code, stdout, err = run("--households", _csv(tmp_path / "hh.csv", rows), "--out", out)
    assert code == 0, err
    err = " ".join(err.split())
    assert f"row 5 (household {rows[3]['户编号']}): 村代码: the row gives no 村代码, while others do" in err
    assert "have no village code" not in err
    assert stdout.strip().endswith("; 1 of 40 household rows rejected (plan.rejected.csv)")
    assert hh_cells(out) == 39
    assert "no_village" not in set(gpd.read_file(out, layer="notes")["kind"])


def test_without_villages_a_household_naming_its_village_and_coding_none_is_rejected(run, tmp_path):
    """Without --villages a 村名 can be read to no village: such a row went into no cell with
    only an engine note ('have no village code and lie in no village outline') and the
    command said nothing of it among the rejected rows. It is rejected now, named with what
    to pass, counted in the summary and written to OUT.rejected.csv; the coded rows are
    partitioned as before. Every row so: no household could be read, exit 3."""
    rows = _rows()
    for pos, row in enumerate(rows):
        row["村名"] = ""
        if pos in (0, 7):  # file rows 2 and 9
            row["村名"], row["村代码"] = "甲村", ""
    out = tmp_path / "plan.gpkg"
    code, stdout, err = run("--households", _csv(tmp_path / "hh.csv", rows), "--out", out)
    assert code == 0, err
    err = " ".join(err.split())
    assert "2 of 40 household rows" in err
    assert ("row 9 (household H007): 村名: the row names its village (甲村) but gives no 村代码, and without "
            "--villages there is no village to read the name to") in err
    assert "pass --villages FILE" in err and "have no village code" not in err
    assert stdout.strip().endswith("; 2 of 40 household rows rejected (plan.rejected.csv)")
    rejected = pd.read_csv(tmp_path / "plan.rejected.csv", dtype=str, encoding="utf-8-sig")
    assert rejected["户编号"].tolist() == ["H000", "H007"] and rejected["reason"].str.contains("--villages").all()
    assert hh_cells(out) == 38
    assert "no_village" not in set(gpd.read_file(out, layer="notes")["kind"])

    code, _, err = run("--households", _csv(tmp_path / "named.csv", _rows_by_name()), "--out", tmp_path / "p2.gpkg")
    assert code == 3
    assert "all 40 rows were rejected" in err and "pass --villages FILE" in err
    assert not (tmp_path / "p2.gpkg").exists()


def _cell_colours(page):
    """The cells' fill colours in a page of explore(): of the ramp, or red (over the cap)."""
    from geogrid.viz import fill_colour

    return set(re.findall(r'"fillColor": "(#[0-9a-f]{6})"', page)) & {fill_colour(n, 6) for n in range(8)}


def test_the_plans_parameters_are_kept_in_its_geopackage_and_read_back(run, tmp_path):
    """Before: the GeoPackage kept no parameters, so a plan read back from it had none
    and explore() coloured its cells against a cap of 20 whatever it was drawn with: the
    full cells of a plan drawn with --max-households 5 looked a quarter full.  The file
    now has a non-spatial table 'parameters' (an attributes table of gpkg_contents, one
    row per parameter, its value as JSON), which geogrid.io.read_plan reads back into
    report['parameters'], every value as partition() gave it.  A file written before
    reads with partition()'s defaults and a warning saying so."""
    import sqlite3

    from geogrid.io.planfile import read_plan
    from geogrid.partition import partition
    from geogrid.viz import explore, fill_colour

    out = tmp_path / "plan.gpkg"
    # a block of 7 flats, over the cap of 5: a note the map marks at the block
    rows = _rows() + [{"户编号": f"F{i}", "户主": f"住户{i}", "村代码": A, "经度": "109.010000", "纬度": "27.010000"}
                      for i in range(7)]
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", rows), "--out", out, "--max-households", "5",
                       "--seed", "7")
    assert code == 0, err
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'parameters'").fetchall() == [
            ("attributes",)]
    plan = read_plan(out)
    params = plan.report["parameters"]
    assert params["max_households"] == 5 and params["seed"] == 7 and params["layout"] == "auto"
    assert params["microgrid_km2"] == 1.0 and isinstance(params["microgrid_km2"], float)
    assert params["metric_crs"].startswith("EPSG:") and params["derived_outlines"] is True
    (flats,) = [d for d in plan.diagnostics if d["kind"] == "oversize_building"]
    assert sorted(plan.households.loc[flats["households"], "household_no"]) == [f"F{i}" for i in range(7)]
    assert flats["village_code"] == A and "7 households" in flats["message"]
    assert sorted(d["kind"] for d in plan.diagnostics) == sorted(gpd.read_file(out, layer="notes")["kind"])
    assert len(plan.cells) and set(plan.cells["households"]) - {7} <= set(range(1, 6))
    page = explore(plan).get_root().render()
    assert "\\u6574\\u680b\\u8d85\\u8fc7\\u4e0a\\u9650\\uff081\\uff09" in page  # 整栋超过上限（1）: the note's layer
    by_cap = {cap: {fill_colour(n, cap) for n in plan.cells["households"]} for cap in (5, 20)}
    assert by_cap[5] != by_cap[20]
    assert _cell_colours(page) == by_cap[5]  # the flats' red too

    # a plan written before: the three layers alone
    old = tmp_path / "old.gpkg"
    for name in ("households", "microgrids", "cells"):
        gpd.read_file(out, layer=name).to_file(old, layer=name)
    with pytest.warns(UserWarning, match=r"keeps no parameters.*max_households=20.*cap of 20"):
        back = read_plan(old)
    assert back.report["parameters"]["max_households"] == 20 and len(back.cells) == len(plan.cells)
    assert _cell_colours(explore(back).get_root().render()) == by_cap[20]
    # what partition() returns, written and read, keeps its parameters exactly
    from geogrid.io.planfile import write_plan

    hh = gpd.read_file(out, layer="households")[["village_code", "geometry"]]
    result = partition(hh, None, max_households=7, seed=3)
    write_plan(result, tmp_path / "again.gpkg")
    assert read_plan(tmp_path / "again.gpkg").report["parameters"] == result.report["parameters"]

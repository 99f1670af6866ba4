"""The folium map and the ``geogrid partition`` command."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geogrid.partition import partition

from .synthetic import synthetic_county


@pytest.fixture(autouse=True)
def _no_basemap_configured(monkeypatch):
    """explore() with no tiles draws GEOGRID_BASEMAP: none here, unless a test sets it."""
    monkeypatch.delenv("GEOGRID_BASEMAP", raising=False)


@pytest.fixture(scope="module")
def small():
    return synthetic_county(seed=3, n_households=600)


def test_explore_has_layers_and_tooltips(small):
    import folium

    from geogrid.viz import explore, fill_colour

    r = partition(small.households, small.villages)
    m = explore(r, lang="en")
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    for name in ("cells", "micro-grids", "households"):
        assert name in html
    assert "households" in html and "tooltip" in html.lower()
    assert "L.control.layers" in html
    # no tile server, and no CDN: Leaflet is written into the page
    assert "L.tileLayer(" not in html
    assert not re.search(r"<(script|link)[^>]*(src|href)=[\"']?(https?:)?//", html)
    assert "cdn.jsdelivr" not in html and "jquery" not in html.lower()
    assert "Leaflet 1.9.4" in html  # Leaflet itself, the vendored copy
    assert fill_colour(25, 20) != fill_colour(20, 20) != fill_colour(2, 20)


def test_cli_writes_three_layers(small, tmp_path):
    pytest.importorskip("typer")
    from geogrid.cli import main

    hh = tmp_path / "hh.gpkg"
    vv = tmp_path / "v.gpkg"
    out = tmp_path / "plan.gpkg"
    small.households.to_file(hh)
    small.villages.to_file(vv)
    code = main(["partition", "--households", str(hh), "--villages", str(vv), "--out", str(out)])
    assert code == 0
    cells = gpd.read_file(out, layer="cells")
    mgs = gpd.read_file(out, layer="microgrids")
    h = gpd.read_file(out, layer="households")
    assert len(h) == len(small.households)
    assert h["cell_id"].isin(cells["cell_id"]).all()
    assert set(cells["microgrid_id"]) == set(mgs["microgrid_id"])
    assert main(["partition", "--households", str(hh), "--villages", str(vv), "--out", str(out),
                 "--quiet"]) == 0


def test_the_commands_progress_bar_follows_the_partition(small):
    """The bar ``geogrid partition`` draws (on a terminal) counts the households of the
    villages solved, and the assembling after them."""
    import io

    from rich.console import Console

    from geogrid.cli.progress import progress_bar

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100)
    seen = []
    with progress_bar(console=console) as progress:
        def spy(stage, done, total):
            seen.append((stage, done, total))
            progress(stage, done, total)

        partition(small.households, small.villages, engine="serial", progress=spy)
    out = buf.getvalue()
    n = len(small.households)
    assert f"{n}/{n}" in out and "households" in out and "assembling" in out
    assert seen[0] == ("households", 0, n) and seen[-1] == ("assembling", 1, 1)
    quiet = io.StringIO()
    with progress_bar(console=Console(file=quiet, force_terminal=True, quiet=True)) as progress:
        progress("households", 1, 2)
    assert quiet.getvalue() == ""


def test_cli_without_file_needs_out_or_db(tmp_path, monkeypatch):
    from geogrid.cli import main

    hh = tmp_path / "missing.gpkg"
    assert main(["partition", "--households", str(hh), "--out", str(tmp_path / "o.gpkg")]) == 4


def _tiny_register():
    """Two 0.02° villages side by side and 60 households, in the database's columns."""
    from shapely.geometry import Point, box

    villages = gpd.GeoDataFrame(
        {"code": ["431227100201", "431227100202"], "name": ["甲村", "乙村"],
         "parent_code": ["431227100000"] * 2, "vintage": [2023, 2023]},
        geometry=[box(109.0, 27.0, 109.02, 27.02), box(109.02, 27.0, 109.04, 27.02)], crs=4326)
    rows, pts = [], []
    for i in range(60):
        v = i % 2
        rows.append({"household_no": f"H{i:05d}", "head_name": f"户主{i}", "address": f"{i}号",
                     "village_code": villages["code"].iloc[v], "building": f"B{i}",
                     "hamlet": None, "care_level": "green", "source_crs": "wgs84"})
        pts.append(Point(109.001 + 0.02 * v + 0.0006 * (i // 2 % 30), 27.005 + 0.0003 * (i % 7)))
    return villages, gpd.GeoDataFrame(rows, geometry=pts, crs=4326)


def test_cli_without_file_partitions_the_register_into_a_draft_plan(db_url, capsys):
    """``geogrid partition`` with no file: the register in the database -> a draft plan."""
    from geogrid.cli import main
    from geogrid.db import areas, households as hh_repo, plans
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    try:
        # an empty register is refused, and nothing is written
        assert main(["partition", "--database-url", db_url]) == 3
        assert "import some first" in capsys.readouterr().err
        with session_scope(engine) as s:
            assert plans.list_plans(s) == []
        villages, households = _tiny_register()
        with session_scope(engine) as s:
            areas.upsert_areas(s, villages, "village")
            hh_repo.upsert_households(s, households)
        code = main(["partition", "--database-url", db_url, "--name", "cli draft"])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert "draft plan" in out.out
        with session_scope(engine) as s:
            saved = plans.list_plans(s)
            assert [(p.name, p.status) for p in saved] == [("cli draft", "draft")]
            loaded = plans.load_plan(s, saved[0].id)
        assert len(loaded.households) == 60
        assert loaded.households["cell_id"].notna().all()
        assert loaded.cells["households"].max() <= 20
        # --out belongs with a file; without one it is a mistake, not silently ignored
        assert main(["partition", "--database-url", db_url, "--out", "x.gpkg"]) == 2
        # --publish (what make demo runs): published at once, the plan before archived
        assert main(["partition", "--database-url", db_url, "--name", "p1", "--publish"]) == 0
        assert "published plan" in capsys.readouterr().out
        assert main(["partition", "--database-url", db_url, "--name", "p2", "--publish"]) == 0
        with session_scope(engine) as s:
            status = {p.name: p.status for p in plans.list_plans(s)}
        assert status == {"cli draft": "draft", "p1": "archived", "p2": "published"}
        assert main(["partition", "--households", "x.csv", "--out", "o.gpkg", "--publish"]) == 2
    finally:
        engine.dispose()


def test_explore_marks_each_diagnostic_where_it_is():
    """The map has a layer per kind of diagnostic, named with its count: a 45-household
    tower is marked at its own point with its message as the popup (its key, with
    HTML and JavaScript template characters in it, escaped once), and an empty village (which names no household) at its micro-grid;
    diagnostics=False leaves them out."""
    from shapely.geometry import box

    from geogrid.viz import diagnostic_layers, explore

    from .conftest import X0, Y0, households_gdf, village_gdf

    v = village_gdf({"A": box(X0, Y0, X0 + 1000, Y0 + 1000), "B": box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)})
    xy = [(X0 + 500, Y0 + 500)] * 45 + [(X0 + 100 + 25 * i, Y0 + 200) for i in range(30)]
    hh = households_gdf(xy, "A", building=["T&1`${7*6}"] * 45 + [None] * 30)
    r = partition(hh, v, min_microgrids=1)
    kinds = sorted(d["kind"] for d in r.diagnostics)
    assert kinds == ["empty_village", "oversize_building"]
    layers = {g.layer_name: g for g in diagnostic_layers(r, lang="en")}
    assert set(layers) == {"empty_village (1)", "oversize_building (1)"}
    tower = gpd.GeoSeries(hh.geometry.iloc[:1], crs=hh.crs).to_crs(4326).iloc[0]

    def points(layer):
        (gj,) = layer._children.values()
        return [f["geometry"]["coordinates"] for f in gj.data["features"]]

    assert points(layers["oversize_building (1)"]) == [pytest.approx([tower.x, tower.y], abs=1e-6)]
    ((ex, ey),) = points(layers["empty_village (1)"])
    b = r.microgrids[r.microgrids["village_code"] == "B"].to_crs(4326).geometry.iloc[0]
    assert b.contains(shapely.Point(ex, ey))
    page = explore(r, lang="en").get_root().render()
    assert "oversize_building (1)" in page and "45 households" in page
    # the key as text, escaped once (the popup sets it with innerHTML); it travels as
    # JSON data, never as script, so its backtick and ${ are inert (the browser test
    # tests/browser/test_folium_map.py shows it on the page as typed)
    assert "building T\\u0026amp;1`${7*6} in village A" in page and "amp;amp;" not in page
    assert "oversize_building (1)" not in explore(r, diagnostics=False, lang="en").get_root().render()


def test_explore_shows_ids_as_text_not_html():
    """Ids carry village codes, the user's text; folium's tooltips set them with
    innerHTML, so the map carries them escaped: a village coded <img onerror=...> shows
    as that text and adds no element to the page."""
    from shapely.geometry import box

    from geogrid.viz import explore

    from .conftest import X0, Y0, households_gdf, village_gdf

    code = "<img src=x onerror=alert(1)>"
    v = village_gdf({code: box(X0, Y0, X0 + 1000, Y0 + 1000)})
    hh = households_gdf([(X0 + 100 + 25 * i, Y0 + 200) for i in range(30)], code)
    r = partition(hh, v, min_microgrids=1)
    page = explore(r).get_root().render()
    assert "onerror" in page  # the code is there, as text
    assert "\\u003cimg" not in page and "<img" not in page
    assert "\\u0026lt;img" in page or "&lt;img" in page


def test_cli_reads_gcj02_households_and_outlines(small, tmp_path):
    """Households copied from AMap and outlines traced on it are GCJ-02, several hundred
    metres off WGS84, though a GeoJSON claims WGS84: with --crs gcj02 and
    --villages-crs gcj02 they are brought back (the plan's households sit where the
    WGS84 originals are, to the centimetre, and every one is in a cell); without, every
    point is off by hundreds of metres."""
    from geogrid.cli import main
    from geogrid.crs import geometry_from_wgs84

    hh84 = small.households.to_crs(4326)
    vv84 = small.villages.to_crs(4326)
    gcj = geometry_from_wgs84(hh84.geometry.to_numpy(), "gcj02")
    csv = tmp_path / "hh.csv"
    hh84.drop(columns="geometry").assign(lon=shapely.get_x(gcj), lat=shapely.get_y(gcj)).to_csv(csv, index=False)
    vfile = tmp_path / "v.geojson"
    vv84.set_geometry(geometry_from_wgs84(vv84.geometry.to_numpy(), "gcj02")).to_file(vfile)
    out = tmp_path / "plan.gpkg"
    assert main(["partition", "--households", str(csv), "--villages", str(vfile), "--out", str(out),
                 "--crs", "gcj02", "--villages-crs", "gcj02", "--quiet"]) == 0
    got = gpd.read_file(out, layer="households")
    assert got["cell_id"].notna().all() and len(got) == len(hh84)
    utm = "EPSG:32649"
    truth = small.households.geometry.to_crs(utm).reset_index(drop=True)
    d = gpd.GeoSeries(got.geometry.to_numpy(), crs=got.crs).to_crs(utm).distance(truth)
    assert d.max() < 0.01
    out2 = tmp_path / "plan2.gpkg"
    assert main(["partition", "--households", str(csv), "--villages", str(vfile), "--out", str(out2),
                 "--quiet"]) == 0
    raw = gpd.read_file(out2, layer="households")
    d2 = gpd.GeoSeries(raw.geometry.to_numpy(), crs=raw.crs).to_crs(utm).distance(truth)
    assert d2.min() > 100


def test_explore_puts_no_index_label_in_the_page_and_says_when_it_shows_only_some(small):
    """Before: the households' index labels were the points' feature ids in the page:
    a register indexed by ID number had every ID number in its HTML."""
    from geogrid.viz import explore

    hh = small.households.copy()
    hh.index = [f"43122719{i:06d}{i % 10}X" for i in range(len(hh))]  # ID-number-like labels
    r = partition(hh, small.villages, engine="serial")
    page = explore(r).get_root().render()
    assert not [label for label in hh.index if label in page]
    page = explore(r, max_points=100, lang="en").get_root().render()
    assert re.search(r"households: those of [0-9]+ of [0-9,]+ cells, spread over the map \([0-9]+ of "
                     f"{r.households['cell_id'].notna().sum():,}\\)", page)


def test_explore_beyond_max_points_draws_whole_cells_all_over_the_map():
    """Before: the map drew the first max_points households by row, which in a register
    in code order are the first villages': an analyst's county map had points in one
    town and none elsewhere, and cells with some of their households drawn."""
    from geogrid.viz import explore

    county = synthetic_county(seed=5, n_households=3000)
    r = partition(county.households, county.villages, engine="serial")
    hh = r.households.sort_values("village_code")  # a register in code order
    r.households = hh
    page = explore(r, max_points=600, lang="en").get_root().render()
    drawn = pd.Series(re.findall(r'"Point"}, "id": "[0-9]+", "properties": \{"cell_id": "([^"]+)"',
                                 page)).value_counts()
    sizes = hh["cell_id"].value_counts()
    assert 0 < drawn.sum() <= 600
    assert (drawn == sizes[drawn.index]).all()  # every cell drawn has all its households
    villages = hh.set_index("cell_id")["village_code"].groupby(level=0).first()
    assert villages[drawn.index].nunique() >= 0.5 * hh["village_code"].nunique()
    assert f"households: those of {len(drawn)} of {len(sizes):,} cells" in page


def test_a_web_map_folder_of_something_else_does_not_hide_geogrids_leaflet(tmp_path, monkeypatch):
    from geogrid import webassets

    (tmp_path / "web_map").mkdir()  # another project's, in the working directory
    monkeypatch.chdir(tmp_path)
    js, _ = webassets.leaflet_inline()
    assert "Leaflet 1.9.4" in js
    assert webassets.web_map_dir(holding="vendor/leaflet/leaflet.js") != tmp_path / "web_map"


def test_explore_draws_a_result_where_no_household_is_in_a_cell():
    """Before: when no household was in a cell (latitude and longitude swapped, the
    wrong village file, every point outside its village), the map was made but failed
    when drawn, in the notebook's display, with folium's AssertionError "The field
    cell_id is not available in the data": the map that would show what went wrong
    could not be shown.  It draws the villages' micro-grids and cells, the diagnostics'
    layers, and no households' layer."""
    from shapely.geometry import box

    from geogrid.viz import explore

    from .conftest import X0, Y0, households_gdf, village_gdf

    v = village_gdf({"A": box(X0, Y0, X0 + 1000, Y0 + 1000)})
    hh = households_gdf([(X0 + 100 + 25 * i, Y0 + 5000) for i in range(30)], "A")  # 4 km north
    r = partition(hh, v, min_microgrids=1)
    assert r.households["cell_id"].isna().all()
    page = explore(r, lang="en").get_root().render()
    overlays = re.findall(r'"([^"]+)" : feature_group_', page)
    assert overlays == ["cells", "micro-grids", "empty_village (1)", "outside_village (1)"]


def test_explore_marks_no_diagnostic_at_a_point_that_is_no_place():
    """Before: households with coordinates that are no place (infinite, a latitude of
    109: longitude and latitude swapped) were marked at their mean, [Infinity, Infinity]
    or beyond the poles, so the layer said "bad_point (1)" and ticking it showed
    nothing anywhere.  Such a diagnostic, of no village, is left to the report (as the
    docstring says of a diagnostic that names no household with a point)."""
    from shapely.geometry import Point, box

    from geogrid.viz import diagnostic_layers, explore

    from .conftest import X0, Y0, households_gdf, village_gdf

    v = village_gdf({"A": box(X0, Y0, X0 + 1000, Y0 + 1000)}).to_crs(4326)
    hh = households_gdf([(X0 + 100 + 25 * i, Y0 + 200) for i in range(30)], "A").to_crs(4326)
    hh.loc[[0, 1], "geometry"] = [Point(27.35, 109.2), Point(float("inf"), 27.3)]
    r = partition(hh, v, min_microgrids=1)
    assert [d["kind"] for d in r.diagnostics] == ["bad_point"]
    assert diagnostic_layers(r) == []
    page = explore(r).get_root().render()
    assert "Infinity" not in page and "bad_point" not in page


def test_explore_of_something_else_than_a_partition_says_what_to_pass(small, tmp_path):
    """Before: explore(result.cells), or a GeoDataFrame read back from the plan's
    GeoPackage, failed with AttributeError: 'GeoDataFrame' object has no attribute
    'report'.  An InputError now says what to pass, and a plan read back from the
    GeoPackage that ``geogrid partition --out`` writes is drawn."""
    from geogrid.errors import InputError
    from geogrid.partition import PartitionResult
    from geogrid.viz import explore

    r = partition(small.households, small.villages, engine="serial")
    for wrong in (r.cells, None, r.report):
        with pytest.raises(InputError, match=r"explore\(\) draws a partition.*PartitionResult"):
            explore(wrong)
    with pytest.raises(InputError, match=r"the cells of the partition have no 'households' column"):
        explore(PartitionResult(r.households, r.microgrids, r.cells.drop(columns="households")))
    out = tmp_path / "plan.gpkg"
    for name in ("households", "microgrids", "cells"):
        getattr(r, name).to_file(out, layer=name)
    back = PartitionResult(*(gpd.read_file(out, layer=name) for name in ("households", "microgrids", "cells")))
    assert "L.control.layers" in explore(back).get_root().render()


def test_explore_draws_households_whose_geometry_column_is_not_named_geometry(small):
    """Before: households read with geopandas.read_postgis (whose geometry column is
    ``geom``) partitioned well, but explore(result) failed with KeyError: "['geometry']
    not in index", as the map picked the column by that name."""
    from geogrid.viz import explore

    r = partition(small.households.rename_geometry("geom"), small.villages.rename_geometry("shape"),
                  engine="serial")
    assert r.households.geometry.name == "geom"
    page = explore(r).get_root().render()
    assert "households" in page and page.count('"type": "Point"') >= len(r.households)


def test_explore_takes_max_points_none_for_all_and_zero_for_none(small):
    """Before: max_points=0 made a map that failed when drawn (folium's AssertionError
    on the empty households layer) and max_points=None a TypeError ('<=' not supported
    between 'int' and 'NoneType')."""
    from geogrid.viz import explore

    r = partition(small.households, small.villages, engine="serial")
    every = explore(r, max_points=None, lang="en").get_root().render()
    assert '"households" : feature_group_' in every  # all of them: no "(the first ...)"
    assert every.count('"type": "Point"') >= len(r.households)
    none = explore(r, max_points=0, lang="en").get_root().render()
    assert re.findall(r'"([^"]+)" : feature_group_', none)[:2] == ["cells", "micro-grids"]
    assert "households (" not in none and '"households" : feature_group_' not in none


def test_explore_shows_a_micro_grids_area_to_the_thousandth_of_a_km2(small):
    """Before: the micro-grid's tooltip read its area as the float it is computed in
    (km² 2.7821136029467306)."""
    from geogrid.viz import explore

    r = partition(small.households, small.villages, engine="serial")
    page = explore(r).get_root().render()
    areas = [float(a) for a in re.findall(r'"area_km2": ([0-9.]+)', page)]
    assert len(areas) == len(r.microgrids)
    assert areas == pytest.approx(r.microgrids["area_km2"].tolist(), abs=5e-4)
    assert all(len(a.split(".")[-1]) <= 3 for a in re.findall(r'"area_km2": ([0-9.]+)', page))


def test_explore_writes_coordinates_to_a_tenth_of_a_metre(small):
    """Before: every vertex went into the page with sixteen digits, and a county's map
    was 16 MB of HTML (a notebook saves it with each display)."""
    from geogrid.viz import explore

    r = partition(small.households, small.villages, engine="serial")
    page = explore(r).get_root().render()
    coords = re.findall(r'"coordinates": (\[[^"]*?\]), "type"', page)
    numbers = [n for c in coords for n in re.findall(r"-?[0-9]+\.[0-9]+", c)]
    assert len(numbers) > 2 * len(r.households)
    assert max(len(n.split(".")[1]) for n in numbers) <= 6
    # the same map within a tenth of a metre: each household still in its cell's polygon
    x = [float(n) for n in numbers]
    assert min(x) > 0 and max(x) < 180


def _overlays(page):
    """The names of the layer control's overlays, as the page's script holds them."""
    import json

    return [json.loads(f'"{name}"') for name in re.findall(r'"([^"]+)" : feature_group_', page)]


def _decoded(page):
    """The page with its \\uXXXX escapes (how folium writes non-ASCII text) read."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page)


def test_explore_speaks_chinese_by_default_and_english_when_asked():
    """Before: the map's words were English only (cells, micro-grids, households, km²,
    oversize_building): a county analyst read a map in another language than the web
    map's.  By default it says what the web map says (网格（户团）, 微网格, 户数, and the
    web map's word for each diagnostic's kind, the kind beside it); lang="en" as before.
    Ids stay as they are, escaped (what the diagnostics say: the next test)."""
    from shapely.geometry import box

    from geogrid.errors import InputError
    from geogrid.viz import explore

    from .conftest import X0, Y0, households_gdf, village_gdf

    code = "<b>A</b>"
    v = village_gdf({code: box(X0, Y0, X0 + 1000, Y0 + 1000), "B": box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)})
    xy = [(X0 + 500, Y0 + 500)] * 45 + [(X0 + 100 + 25 * i, Y0 + 200) for i in range(30)]
    r = partition(households_gdf(xy, code), v, min_microgrids=1)
    page = explore(r).get_root().render()
    assert _overlays(page) == ["网格（户团）", "微网格", "住户", "空村（1）", "整栋超过上限（1）"]
    text = _decoded(page)
    for aliases in ('["网格", "户数"]', '["微网格", "户数", "面积（km²）"]', '["所属网格"]'):
        assert f"let aliases = {aliases};" in text
    assert '"kind": "整栋超过上限（oversize_building）"' in text
    assert "&lt;b&gt;A&lt;/b&gt;" in text and "<b>A</b>" not in text  # ids as text
    assert "45 households" not in text and "共 45 户" in text  # the note in the web map's words
    some = _overlays(explore(r, max_points=60).get_root().render())
    assert re.fullmatch(r"住户：[0-9]+ 个网格中 [0-9]+ 个的全部住户，分布于全图（[0-9]+/75 户）", some[2]), some
    en = explore(r, lang="en").get_root().render()
    assert _overlays(en) == ["cells", "micro-grids", "households", "empty_village (1)", "oversize_building (1)"]
    assert 'let aliases = ["micro-grid", "households", "km\\u00b2"];' in en
    assert '"kind": "oversize_building"' in en
    with pytest.raises(InputError, match=r"lang='fr'.*'zh' or 'en'"):
        explore(r, lang="fr")


def _popups(page):
    """The popup texts of the diagnostic markers, by the kind their tooltip names."""
    import json

    out = {}
    for data in re.findall(r'_add\((\{"features".*?\})\);', page, re.S):
        for f in json.loads(data)["features"]:
            if "message" in f["properties"]:
                out.setdefault(f["properties"]["kind"], []).append(f["properties"]["message"])
    return out


def test_explore_words_the_diagnostics_as_the_web_map_does():
    """Before: a map in Chinese (the default) popped up each diagnostic in the engine's
    English ('building T1 in village A has 45 households ...'), where the web map's
    planner words the same note in Chinese.  Each is worded now from the web map's
    template of its kind (web_map/strings/zh.js, engine.<kind>; no copy of it here),
    escaped once; a kind the web map has no words for keeps its English message;
    lang="en" keeps the engine's messages, as result.notes() gives them."""
    import html

    from shapely.geometry import box

    from geogrid import webassets
    from geogrid.viz import explore

    from .conftest import X0, Y0, households_gdf, village_gdf

    code = "<b>A</b>"
    v = village_gdf({code: box(X0, Y0, X0 + 1000, Y0 + 1000), "B": box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)})
    xy = [(X0 + 500, Y0 + 500)] * 45 + [(X0 + 100 + 25 * i, Y0 + 200) for i in range(30)]
    r = partition(households_gdf(xy, code, building=["T1"] * 45 + [None] * 30), v, min_microgrids=1)
    zh = webassets.web_strings("zh")
    tower = zh["engine.oversize_building"].replace("{village}", code).replace("{households}", "45")
    empty = zh["engine.empty_village"].replace("{village}", "B")
    popups = _popups(explore(r).get_root().render())
    assert popups == {"整栋超过上限（oversize_building）": [html.escape(tower)], "空村（empty_village）": [empty]}
    assert "&lt;b&gt;A&lt;/b&gt;" in popups["整栋超过上限（oversize_building）"][0]  # the code as text, escaped once
    en = _popups(explore(r, lang="en").get_root().render())
    assert en["oversize_building"] == [html.escape(d["message"]) for d in r.diagnostics
                                        if d["kind"] == "oversize_building"]
    r.report["diagnostics"].append({**r.diagnostics[0], "kind": "nonesuch", "message": "the engine's own & more"})
    assert _popups(explore(r).get_root().render())["nonesuch"] == [html.escape("the engine's own & more")]
    from geogrid.viz import note_text

    # as the web map fills them: lists of ids (8, then how many more), areas, optional phrases
    d = {"kind": "microgrid_in_pieces", "village_code": "431227103001", "message": "M",
         "microgrids": [f"m{i}" for i in range(10)], "params": {"pieces": 3}}
    assert note_text(d) == zh["engine.microgrid_in_pieces"].format(
        village="431227103001", microgrids="、".join(f"m{i}" for i in range(8)) + "，另有 2 个", pieces=3, torn="")
    assert "，在此之前网格 c1 也随之分成多块" in note_text({**d, "cells": ["c1"]})
    overlap = {"kind": "villages_overlap", "villages": ["a", "b"], "message": "M"}
    assert "1.250 平方公里" in note_text({**overlap, "params": {"area_m2": 1.25e6}})
    assert "重叠了 35 平方米" in note_text({**overlap, "params": {"area_m2": 34.5}})
    assert note_text(overlap) == "M"  # no area to fill the template with: the message
    assert note_text(d, "en").startswith("The new outline of village 431227103001 leaves micro-grid m0, m1, ")

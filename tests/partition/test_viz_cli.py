"""The folium map and the ``geogrid partition`` command."""

from __future__ import annotations

import geopandas as gpd
import pytest

from geogrid.partition import partition

from .synthetic import synthetic_county


@pytest.fixture(scope="module")
def small():
    return synthetic_county(seed=3, n_households=600)


def test_explore_has_layers_and_tooltips(small):
    folium = pytest.importorskip("folium")
    from geogrid.viz import explore, fill_colour

    r = partition(small.households, small.villages)
    m = explore(r)
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    for name in ("cells", "micro-grids", "households"):
        assert name in html
    assert "households" in html and "tooltip" in html.lower()
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


def test_cli_without_file_needs_out_or_db(tmp_path, monkeypatch):
    from geogrid.cli import main

    hh = tmp_path / "missing.gpkg"
    assert main(["partition", "--households", str(hh), "--out", str(tmp_path / "o.gpkg")]) == 4

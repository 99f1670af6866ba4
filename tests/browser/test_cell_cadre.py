"""A cadre of one cell (户团长, the most numerous users, on phones) opens the map on their
cell, not on the whole county at zoom 10 where their cell is a dot."""

from __future__ import annotations

import pytest

from conftest import login, new_page, shot


@pytest.mark.parametrize("viewport", [(1366, 768), (390, 844)])
def test_a_cell_cadre_opens_the_map_on_their_cell(browser, server, viewport):
    ctx, page = new_page(browser, server, viewport=viewport)
    try:
        login(page, "cellhead")
        cell_id, cell_key = server.register.handler_cell
        with server.api("admin") as api:
            cell = api.get(f"/cells/{cell_id}").json()
        xs, ys = [], []

        def walk(c):
            if isinstance(c[0], (int, float)):
                xs.append(c[0])
                ys.append(c[1])
            else:
                for x in c:
                    walk(x)

        walk(cell["geometry"]["coordinates"])
        view = page.evaluate("""() => { const b = geogrid.map.getBounds();
            return {zoom: geogrid.map.getZoom(), w: b.getWest(), e: b.getEast(), s: b.getSouth(), n: b.getNorth()}; }""")
        shot(page, f"cell-cadre-{viewport[0]}")
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        assert view["w"] < cx < view["e"] and view["s"] < cy < view["n"], (view, cell_key)
        assert view["zoom"] >= 14, view
        assert not page.log.problems, page.log.problems
    finally:
        ctx.close()

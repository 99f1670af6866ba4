"""The map's client-side GCJ-02 shift (web_map/js/gcj02.js) agrees with geogrid.crs.

With the AMap basemap the overlays are moved WGS84 -> GCJ-02 in the browser; a bug there
puts every house several hundred metres off its roof, so the JS is checked against the
Python implementation (itself checked against prcoords) on random points.
"""

import numpy as np
import pytest

from geogrid import crs

pytestmark = pytest.mark.browser


def test_js_shift_matches_python(page):
    page.goto(page.base_url + "/")
    rng = np.random.default_rng(7)
    lon = rng.uniform(74, 134, 300)
    lat = rng.uniform(18, 53, 300)
    pts = [[float(a), float(b)] for a, b in zip(lon, lat)]
    out = page.evaluate(
        """async (pts) => {
            const m = await import('/js/gcj02.js');
            return pts.map(([x, y]) => {
                const g = m.wgs84ToGcj02(x, y);
                const back = m.gcj02ToWgs84(g[0], g[1]);
                return [g[0], g[1], back[0], back[1]];
            });
        }""",
        pts,
    )
    out = np.asarray(out)
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    assert np.abs(out[:, 0] - glon).max() < 1e-9
    assert np.abs(out[:, 1] - glat).max() < 1e-9
    # the inverse used for clicks and edited vertices: better than a centimetre (1e-7 deg)
    assert np.abs(out[:, 2] - lon).max() < 1e-7
    assert np.abs(out[:, 3] - lat).max() < 1e-7

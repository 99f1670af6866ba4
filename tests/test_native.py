"""shapely/pyproj/pyogrio and mod_spatialite must share one GEOS and PROJ (geogrid.native)."""

import subprocess
import sys

from geogrid.native import bundled_native_libraries

SCRIPT = r"""
import sqlite3, numpy as np, shapely, pyproj, pyogrio
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension("mod_spatialite")
pts = shapely.points(np.random.default_rng(0).random((2000, 2)))
assert len(shapely.to_wkb(pts)) == 2000
assert shapely.union_all(shapely.buffer(pts, 0.01)).area > 0
t = pyproj.Transformer.from_crs(4326, 32649, always_xy=True)
x, y = t.transform(109.2, 27.3)
assert 300_000 < x < 330_000
print("ok")
"""


def test_no_wheel_bundles_geos_proj_or_gdal():
    assert bundled_native_libraries() == {}


def test_spatialite_and_shapely_coexist_in_one_process():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "ok"

"""An installed geogrid, with no checkout beside it, carries its web map: the API serves
it and the analysts' folium maps write its vendored Leaflet (setup.py copies
``web_map/`` into the package when a wheel is built)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ["index.html", "js/app.js", "vendor/leaflet/leaflet.js", "vendor/leaflet/LICENSE",
           "vendor/leaflet/images/layers.png", "vendor/leaflet-geoman-free/leaflet-geoman.min.js",
           "vendor/leaflet-geoman-free/LICENSE", "vendor/SHA256SUMS"]


def test_a_built_geogrid_carries_the_web_map_and_finds_it_away_from_any_checkout(tmp_path):
    lib = tmp_path / "lib"
    # the wheel's build step itself (a wheel holds what build_py leaves in build_lib)
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)],
                   cwd=REPO, check=True, capture_output=True)
    shipped = lib / "geogrid" / "web_map"
    for rel in SHIPPED:
        assert (shipped / rel).read_bytes() == (REPO / "web_map" / rel).read_bytes(), rel
    assert not (shipped / "node_modules").exists() and not (shipped / "package-lock.json").exists()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = ("import geogrid, geogrid.webassets as w\n"
             "print(geogrid.__file__)\n"
             "print(w.web_map_dir())\n"
             "js, css = w.leaflet_inline()\n"
             "print('Leaflet 1.9.4' in js, 'url(data:image/png;base64,' in css)\n")
    env = {**os.environ, "PYTHONPATH": str(lib)}
    out = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env, check=True,
                         capture_output=True, text=True).stdout.split("\n")
    # the built copy is the geogrid imported, not the checkout's editable install
    assert Path(out[0]).resolve().is_relative_to(lib.resolve())
    assert Path(out[1]).resolve() == shipped.resolve()
    assert out[2] == "True True"

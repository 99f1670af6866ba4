"""The one build step pyproject.toml cannot declare: the web map's files (``web_map/``,
outside the package) go into a wheel as ``geogrid/web_map/``, so that an installed
geogrid serves its map and writes its folium maps with the vendored Leaflet, with no
checkout beside it (``geogrid.webassets.web_map_dir`` looks there last).  An editable
install reads ``web_map/`` in the checkout itself."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: what of web_map/ is not shipped: npm's working files
SKIP = shutil.ignore_patterns("node_modules", "package-lock.json", ".*")


class BuildPyWithWebMap(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return
        dst = Path(self.build_lib) / "geogrid" / "web_map"
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(HERE / "web_map", dst, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithWebMap})

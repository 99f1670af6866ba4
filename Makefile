# geogrid: `make demo` and `make test` do all the set-up on a fresh Debian machine.
#
#   make demo   system packages, virtualenv, sample county, import, partition, serve :8000
#   make test   the same set-up plus PostgreSQL/PostGIS and Chromium, then the whole suite
#
# Python: Debian's /usr/bin/python3, whose sqlite3 module can load mod_spatialite
# (the pyenv build on these machines cannot).  Override with PYTHON=...

SHELL        := /bin/bash
PYTHON       ?= /usr/bin/python3
VENV         ?= .venv
BIN          := $(VENV)/bin
DEMO_DIR     ?= var/demo
DEMO_DB      ?= $(DEMO_DIR)/geogrid.sqlite
HOST         ?= 127.0.0.1
PORT         ?= 8000
PYTEST_ARGS  ?=
# make test runs the suite in one process by default. PYTEST_WORKERS=2 runs it on two
# pytest-xdist workers, whole files to a worker (module-scoped fixtures are built once):
# faster, but on a 2-core machine two browser tests at once (two chromiums, two servers)
# timed out now and then (3 of 4,189 tests in two fresh-clone runs), so not the default.
PYTEST_WORKERS ?= 0

SYSTEM_PKGS  := python3 python3-venv python3-dev build-essential pkg-config \
                libsqlite3-mod-spatialite libgeos-dev libproj-dev proj-bin libgdal-dev \
                fonts-noto-cjk
# Built from source against Debian's GEOS/PROJ/GDAL, the same libraries mod_spatialite
# loads; the copies inside the binary wheels clash with them in one process.
SOURCE_BUILDS := shapely,pyproj,pyogrio
TEST_PKGS    := chromium
# pip is pinned, and every package is held to the versions in scripts/constraints.txt
# (the set the suite last passed with), so a fresh clone installs what CI tested.
# pyproj 3.6.1 (the newest that builds against Debian's PROJ 9.1) needs Cython < 3.1,
# while shapely 2.2 needs Cython >= 3.1, so pyproj is built on its own, first, with the
# pin in scripts/build-constraints.txt; since pip 26.2 that pin has to go through
# --build-constraint, as PIP_CONSTRAINT no longer reaches isolated build environments.
PIP_VERSION  := 26.3
PIP_INSTALL  := $(BIN)/python -m pip install -q -c scripts/constraints.txt
PYPROJ_BUILD := $(PIP_INSTALL) --build-constraint scripts/build-constraints.txt --no-binary pyproj pyproj

.PHONY: demo test system venv demo-data serve postgis check-python clean lint bench

demo: system venv demo-data serve

test: system venv postgis
	dpkg-query -W chromium >/dev/null 2>&1 || scripts/system-packages.sh $(TEST_PKGS)
	GEOGRID_REQUIRE_POSTGIS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

system:
	@scripts/system-packages.sh $(SYSTEM_PKGS)

postgis:
	@scripts/ensure-postgis.sh

# The virtualenv is rebuilt when pyproject.toml changes.
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/constraints.txt scripts/build-constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "pip==$(PIP_VERSION)"
	@# a wheel cached from a build without the Cython pin would be reused silently
	-$(BIN)/python -m pip cache remove pyproj >/dev/null 2>&1
	$(PYPROJ_BUILD)
	$(PIP_INSTALL) --no-binary $(SOURCE_BUILDS) -e ".[test,dask,bench]"
	$(BIN)/python -m geogrid.native 2>/dev/null || { $(PYPROJ_BUILD) --force-reinstall --no-deps && \
	  $(PIP_INSTALL) --force-reinstall --no-deps --no-binary shapely,pyogrio shapely pyogrio; }
	$(BIN)/python -m geogrid.native
	@touch $@

demo-data: venv
	@mkdir -p $(DEMO_DIR)
	GEOGRID_DATABASE_URL=sqlite:///$(DEMO_DB) GEOGRID_DEMO=1 scripts/demo-load.sh $(DEMO_DIR)

serve: venv
	GEOGRID_DATABASE_URL=sqlite:///$(DEMO_DB) GEOGRID_DEMO=1 \
	  $(BIN)/geogrid serve --host $(HOST) --port $(PORT)

bench: venv postgis
	$(BIN)/python benchmarks/import_bench.py
	$(BIN)/python benchmarks/partition_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis test-artifacts

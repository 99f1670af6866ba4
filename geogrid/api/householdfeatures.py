"""Households as pre-serialised GeoJSON features, for the bbox and cell pages.

A page of 1,000 households used to cost more in Python than in the database: reading
each point's coordinates (``ST_X``/``ST_Y``), masking each head's name, and building a
dict per feature for :func:`~geogrid.api.geojson.dumps`.  None of that changes unless the
household does, so each household's feature is serialised once, up to its cell, and
kept as bytes with the version it was read at.  A page then runs one narrow query for the ids,
versions and cells of its rows (:func:`geogrid.api.queries.household_page`) and joins
bytes.

Why the key is enough
---------------------
``households.version`` goes up with every change of a household: the repositories
write it (:func:`geogrid.db.households.upsert_households` bumps it on every changed row,
and ORM edits through SQLAlchemy's ``version_id_col``), and new households get new ids.
The version is read in the same statement that decides which households are on the
page, so a cached feature can only be served for the very version the database holds:
an import or an edit in any worker process is seen on the next request, with nothing to
invalidate.  The cell (``cell_id``, ``cell_key``) depends on the plan, not the
household, and is never cached with it: it comes from the page query every time, so
plan edits and publishing take effect at once.  Which households are on the page (scope,
bbox, cell, village) is decided by SQL alone; the cache holds only what a household
looks like, which is the same for every caller allowed to list households (the head's
name is always masked).

Features missing from the cache are read in one more query by id and serialised with
the same code as before (:func:`feature_head` is :func:`geogrid.api.geojson.dumps` of
the old feature dict), so the bytes are those of the old path.  On PostGIS the two
statements may see different snapshots (READ COMMITTED, as the old rows and count
queries did): a household edited in between is served as its newer version, one deleted
in between is left out of the page.

The cache is per worker process and bounded (:data:`MAX_FEATURES`): when full it is
emptied and refilled on demand, so a county larger than the bound costs what the
uncached path did, never more.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from geogrid.api import queries
from geogrid.api.geojson import dumps
from geogrid.api.representation import household_properties

__all__ = ["HouseholdFeatures", "feature_head", "cell_tail", "feature_collection_bytes",
           "point", "MAX_FEATURES"]

#: Features kept per process (about 0.5 kB each with its key).
MAX_FEATURES = 200_000
#: The properties a feature ends with; they come from the plan, not the household.
_CELL_KEYS = ("cell_id", "cell_key")


def point(row) -> dict:
    """A household's GeoJSON point (7 decimals: about 1 cm)."""
    return {"type": "Point", "coordinates": [round(row.lon, 7), round(row.lat, 7)]}


def feature_head(row) -> bytes:
    """The feature of a household row, serialised up to (and without) its cell.

    ``dumps`` of the whole feature dict with its last two properties cut off and a comma
    left for them: ``feature_head(row) + cell_tail(cell_id, cell_key)`` is byte for byte
    ``dumps`` of the feature with them.
    """
    props = household_properties(row)
    for key in _CELL_KEYS:
        del props[key]
    body = dumps({"type": "Feature", "id": row.id, "geometry": point(row), "properties": props})
    if not body.endswith(b"}}"):  # pragma: no cover - dumps writes compact JSON
        raise AssertionError("a feature must end with its properties object")
    return body[:-2] + b","


def cell_tail(cell_id: str | None, cell_key: str | None) -> bytes:
    """The end of a feature: its cell properties and the closing braces."""
    return b'"cell_id":' + dumps(cell_id) + b',"cell_key":' + dumps(cell_key) + b"}}"


def feature_collection_bytes(features: list[bytes], meta: dict) -> bytes:
    """``dumps(feature_collection(features, **meta))`` from already serialised features."""
    tail = dumps(meta)
    return (b'{"type":"FeatureCollection","features":[' + b",".join(features) + b"]"
            + (b"," + tail[1:] if len(tail) > 2 else b"}"))


class HouseholdFeatures:
    """Serialised household features by id, each with the version it was read at; one
    per app (worker process).

    Thread-safe: lookups are plain dict reads, fills take a lock.  An edited household
    replaces its entry when it is next read, so old versions do not pile up.
    """

    def __init__(self, max_features: int = MAX_FEATURES):
        self.max_features = max_features
        self._lock = threading.Lock()
        #: a page row ``(id, version, cell_id, cell_key)`` -> the whole feature: a page
        #: whose rows are all here is one C-level pass of dict lookups and one join
        self._features: dict[tuple, bytes] = {}
        #: id -> (version, the feature up to its cell), for rows whose cell changed
        self._heads: dict[str, tuple[int, bytes]] = {}
        #: cell id -> (cell key, the features' tail); keyed by the id alone (a str, whose
        #: hash is cached), the key checked on use
        self._tails: dict[str | None, tuple[str | None, bytes]] = {}
        #: [features served from the cache, features read from the database]
        self.stats = [0, 0]

    def __len__(self) -> int:
        return len(self._heads)

    def clear(self) -> None:
        with self._lock:
            self._features.clear()
            self._heads.clear()
            self._tails.clear()

    def page(self, session: Session, rows) -> list[bytes]:
        """The features of ``rows`` (``(id, version, cell_id, cell_key)`` tuples, as
        :func:`geogrid.api.queries.household_page` returns them), in their order."""
        out = list(map(self._features.get, rows))
        if None not in out:
            with self._lock:
                self.stats[0] += len(rows)
            return out
        heads, tails = self._heads, self._tails
        built: dict[tuple, bytes] = {}
        missing: list = []  # (position in out, row, tail) of heads not cached at that version
        for i, row in enumerate(rows):
            if out[i] is not None:
                continue
            tail = tails.get(row[2])
            if tail is not None and tail[0] == row[3]:
                tail = tail[1]
            else:
                tail = self._tail(row[2], row[3])
            hit = heads.get(row[0])
            if hit is None or hit[0] != row[1]:
                missing.append((i, row, tail))
            else:
                out[i] = built[row] = hit[1] + tail
        with self._lock:
            self.stats[0] += len(rows) - len(missing)
            self.stats[1] += len(missing)
        if missing:
            fresh = {r.id: (r.version, feature_head(r))
                     for r in queries.household_feature_rows(session, [m[1][0] for m in missing])}
            with self._lock:
                if len(heads) + len(fresh) > self.max_features:
                    heads.clear()
                heads.update(fresh)
            for i, row, tail in missing:
                hit = fresh.get(row[0])
                if hit is not None and hit[0] == row[1]:
                    out[i] = built[row] = hit[1] + tail
                elif hit is not None:  # edited since the page was read (PostGIS)
                    out[i] = hit[1] + tail
                # else deleted since the page was read (PostGIS): left out
        with self._lock:
            if len(self._features) + len(built) > self.max_features:
                self._features.clear()
            self._features.update(built)
        return [f for f in out if f is not None]

    def _tail(self, cell_id, cell_key) -> bytes:
        tail = cell_tail(cell_id, cell_key)
        with self._lock:
            if len(self._tails) >= self.max_features:
                self._tails.clear()
            self._tails[cell_id] = (cell_key, tail)
        return tail

"""A partition plan as a GeoPackage, written by ``geogrid partition --out`` and read back.

The file holds a layer per frame of the :class:`~geogrid.partition.PartitionResult`
(``households``, ``microgrids``, ``cells``), the engine's notes as a layer ``notes``
where there are any (:meth:`~geogrid.partition.PartitionResult.notes`), and the
parameters the plan was drawn with (``max_households``, ``microgrid_km2``, ``seed``,
``metric_crs``, ...) as the GeoPackage's non-spatial table ``parameters`` (an
``attributes`` table of ``gpkg_contents``: a table QGIS and any SQLite client open),
one row per parameter: ``name`` and ``value``, written as JSON (``20``, ``1.0``,
``"auto"``).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geogrid.errors import GeogridError, InputError
from geogrid.io.export import temporary_beside

__all__ = ["PARAMETERS", "read_plan", "write_plan"]

#: the plan's frames, as layers of its GeoPackage
LAYERS = ("households", "microgrids", "cells")
#: the non-spatial table of the plan's parameters
PARAMETERS = "parameters"


def write_plan(result, out: str | os.PathLike) -> None:
    """The plan ``result`` into the GeoPackage ``out``: its three layers, a ``notes``
    layer of the engine's notes where it has any, and the table ``parameters`` of
    ``result.report["parameters"]``, all or nothing: they are written to a temporary
    file beside it, which replaces ``out`` only when complete, so a failure leaves a
    previous ``out`` as it was.

    Raises InputError, before anything is written, for a layer with two columns that
    differ only in case (a GeoPackage cannot tell them apart), and GeogridError when
    the file cannot be written.
    """
    out = Path(out)
    layers = {name: getattr(result, name) for name in LAYERS}
    if getattr(result, "diagnostics", None):
        layers["notes"] = result.notes()
    for layer, frame in layers.items():
        seen: dict[str, str] = {}
        for col in map(str, frame.columns):
            if col.lower() in seen:
                raise InputError(f"cannot write {out}: the {layer} layer has columns {seen[col.lower()]!r} and "
                                 f"{col!r}, which a GeoPackage cannot tell apart; rename one")
            seen[col.lower()] = col
    parameters = (getattr(result, "report", None) or {}).get("parameters") or {}
    table = pd.DataFrame({"name": [str(k) for k in parameters],
                          "value": [json.dumps(_plain(v), ensure_ascii=False) for v in parameters.values()]})
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with temporary_beside(out) as tmp:
            for layer, frame in layers.items():
                frame.to_file(tmp, layer=layer, driver="GPKG")
            if len(table):
                import pyogrio

                pyogrio.write_dataframe(table, tmp, layer=PARAMETERS, driver="GPKG")
            os.replace(tmp, out)
    except Exception as exc:  # pyogrio raises several kinds, the disk OSError
        kept = f"; {out} is as it was before" if out.exists() else ""
        raise GeogridError(f"cannot write {out}: {exc}{kept}") from None


def read_plan(path: str | os.PathLike):
    """The plan of the GeoPackage ``path`` that :func:`write_plan` (``geogrid partition
    --out``) wrote, as a :class:`~geogrid.partition.PartitionResult`: its three layers,
    its ``report["parameters"]`` from the table ``parameters``, so that
    :func:`geogrid.viz.explore` colours its cells against the ``max_households`` it was
    drawn with, and its ``report["diagnostics"]`` from the layer ``notes`` (without
    the numbers of their messages, which the layer does not keep), so that the map marks
    them.  The households come on a fresh index, in the file's order.

    A file written before geogrid kept the parameters (no table ``parameters``) still
    reads: its parameters are :func:`~geogrid.partition.partition`'s defaults (a cap of
    20 households), with a warning saying so.

    Raises InputError, saying what to pass, when the file lacks one of the three layers.
    """
    import pyogrio

    from geogrid.partition import PartitionResult
    from geogrid.partition.solve import PLAN_PARAMETERS

    path = Path(path)
    try:
        present = {str(name) for name, _ in pyogrio.list_layers(path)}
    except Exception as exc:  # pyogrio's DataSourceError, a missing file
        raise InputError(f"cannot read {path} as a plan's GeoPackage: {exc}; pass the FILE.gpkg that "
                         "`geogrid partition --out FILE.gpkg` wrote") from None
    missing = [name for name in LAYERS if name not in present]
    if missing:
        raise InputError(f"{path} has no layer {', '.join(map(repr, missing))}: a plan's GeoPackage, as "
                         "`geogrid partition --out` writes it, has the layers households, microgrids and "
                         f"cells (this one has {', '.join(sorted(present)) or 'none'})")
    frames = [gpd.read_file(path, layer=name) for name in LAYERS]
    if PARAMETERS in present:
        table = pyogrio.read_dataframe(path, layer=PARAMETERS, read_geometry=False)
        parameters = {str(k): _value(v) for k, v in zip(table["name"], table["value"])}
    else:
        parameters = dict(PLAN_PARAMETERS)
        warnings.warn(f"{path} keeps no parameters (no table {PARAMETERS!r}: it was written before geogrid "
                      "kept them), so the plan is read with partition()'s defaults "
                      f"({', '.join(f'{k}={v}' for k, v in PLAN_PARAMETERS.items())}): its cells are coloured "
                      f"against a cap of {PLAN_PARAMETERS['max_households']} households. Partition the file again with geogrid partition --out "
                      "to keep the parameters it is drawn with", stacklevel=2)
    report = {"parameters": parameters}
    if "notes" in present:
        report["diagnostics"] = _diagnostics(gpd.read_file(path, layer="notes"), frames[0])
    return PartitionResult(*frames, report=report)


def _diagnostics(notes, households) -> list[dict]:
    """The engine's diagnostics from the layer ``notes`` (:meth:`PartitionResult.notes`):
    kind, village, message, the micro-grids, cells and villages they name, and the
    households they name as labels of ``households`` read back, by their household
    numbers where these are the households' own (else by the labels the file names,
    the rows of a register read without numbers).  The numbers of a note's message
    (its ``params``) are not in the layer: :func:`geogrid.viz.note_text` words such a
    note in its message."""
    label: dict[str, object] = {}
    numbers = households.get("household_no")
    if numbers is not None and numbers.notna().all() and numbers.is_unique:
        label = {str(no): i for i, no in zip(households.index, numbers)}
    else:
        label = {str(i): i for i in households.index}
    out = []
    for note in notes.itertuples(index=False):
        d = {"kind": str(note.kind), "village_code": _text(getattr(note, "village_code", None)),
             "message": str(note.message or ""),
             "households": [label[t] for t in _split(getattr(note, "household_no", None)) if t in label]}
        for key in ("microgrids", "cells", "villages"):
            if ids := _split(getattr(note, key, None)):
                d[key] = ids
        out.append(d)
    return out


def _split(text) -> list[str]:
    text = _text(text)
    return [t for t in text.split(",") if t] if text else []


def _text(value):
    return None if value is None or value != value else str(value)


def _plain(value):
    """``value`` as JSON writes it (numpy scalars as Python's)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def _value(text):
    """A parameter's value from its JSON text; text that is no JSON as it is."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text

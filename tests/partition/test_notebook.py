"""The quickstart notebook runs from top to bottom."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_partition_quickstart.ipynb"


@pytest.mark.notebook
def test_quickstart_notebook_runs():
    # the test extra installs both (make test); missing, this fails rather than skips
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit the notebook without outputs"
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parents[1])}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
    # the map's output stands alone: Leaflet is in the page, and nothing is linked
    # from a CDN (offline, such a map is blank)
    maps = [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if "folium" in o.get("data", {}).get("text/html", "")]
    assert maps, "no folium map among the outputs"
    for page in maps:
        assert "Leaflet 1.9.4" in page
        assert "cdn.jsdelivr" not in page and "code.jquery.com" not in page and "cdnjs" not in page


@pytest.mark.notebook
def test_quickstart_notebook_runs_away_from_a_checkout(tmp_path):
    """Before: run from another directory, its fallback imported tests.partition, which
    is not part of the package (ModuleNotFoundError in the second cell)."""
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "geogrid.sample.generate_county" in text

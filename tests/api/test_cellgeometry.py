"""The API's cell geometry in metres: a stored polygon that is not valid (a bow-tie,
edges crossing) keeps all its land on the way into metres.  ``shapely.segmentize``,
which splits long edges before the change of CRS, keeps one lobe of a bow-tie: a
merge or a clip by such a polygon lost half of it."""

from __future__ import annotations

import shapely

from geogrid.api.cellgeometry import _Metric, clip_cell, merge_cells

#: edges crossing at (109.01, 27.01): two triangles of equal area
BOWTIE = shapely.Polygon([(109.0, 27.0), (109.02, 27.02), (109.02, 27.0), (109.0, 27.02)])


def test_a_bowtie_keeps_both_lobes_in_metres():
    assert not BOWTIE.is_valid
    m = _Metric(BOWTIE)
    whole = m.to_m(BOWTIE)
    # both triangles, about 2 km x 1 km each
    assert len(whole.geoms) == 2
    lobes = sorted(p.area for p in whole.geoms)
    assert abs(lobes[0] / lobes[1] - 1) < 0.01
    assert 1.5e6 < whole.area < 2.5e6


def test_a_cell_clipped_by_a_bowtie_boundary_keeps_both_lobes():
    cell = shapely.box(108.99, 26.99, 109.03, 27.03)
    got = clip_cell(cell, BOWTIE)
    assert abs(got.area / shapely.make_valid(BOWTIE).area - 1) < 1e-3


def test_merging_a_bowtie_cell_keeps_both_lobes():
    other = shapely.box(109.02, 27.0, 109.03, 27.02)
    got = merge_cells(BOWTIE, other)
    assert abs(got.area / (shapely.make_valid(BOWTIE).area + other.area) - 1) < 1e-3

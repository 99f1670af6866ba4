// WGS84 <-> GCJ-02 in the browser, and a Leaflet CRS that draws WGS84 data on GCJ-02 tiles.
//
// AMap tiles are drawn in GCJ-02, an obfuscated datum several hundred metres off WGS84.
// geogrid keeps every coordinate in WGS84, so with the AMap basemap the map uses
// `gcj02Crs`: its projection applies the forward formula before Web Mercator, so every
// overlay (houses, grids, Geoman edits) lands on its roof, while the map still speaks
// WGS84 to the rest of the client (clicks, bbox queries and edited vertices come back in
// WGS84 through the iterative inverse).  The formula is the public one, the same as
// geogrid/crs.py `wgs84_to_gcj02`; tests/browser/test_gcj02.py compares the two.

const A = 6378245.0;
const EE = 0.00669342162296594323;
const PI = Math.PI;

export function inChina(lon, lat) {
  return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}

function delta(lon, lat) {
  const x = lon - 105.0;
  const y = lat - 35.0;
  const common = ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
  let dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dlat += common;
  dlat += ((20.0 * Math.sin(y * PI) + 40.0 * Math.sin((y / 3.0) * PI)) * 2.0) / 3.0;
  dlat += ((160.0 * Math.sin((y / 12.0) * PI) + 320.0 * Math.sin((y * PI) / 30.0)) * 2.0) / 3.0;
  let dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dlon += common;
  dlon += ((20.0 * Math.sin(x * PI) + 40.0 * Math.sin((x / 3.0) * PI)) * 2.0) / 3.0;
  dlon += ((150.0 * Math.sin((x / 12.0) * PI) + 300.0 * Math.sin((x / 30.0) * PI)) * 2.0) / 3.0;
  const radlat = (lat / 180.0) * PI;
  const magic = 1.0 - EE * Math.sin(radlat) ** 2;
  const sqrtmagic = Math.sqrt(magic);
  dlat = (dlat * 180.0) / (((A * (1.0 - EE)) / (magic * sqrtmagic)) * PI);
  dlon = (dlon * 180.0) / ((A / sqrtmagic) * Math.cos(radlat) * PI);
  return [dlon, dlat];
}

/** WGS84 [lon, lat] to GCJ-02 [lon, lat].  Points outside China pass through unchanged. */
export function wgs84ToGcj02(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  const [dlon, dlat] = delta(lon, lat);
  return [lon + dlon, lat + dlat];
}

/** GCJ-02 [lon, lat] to WGS84, by fixed-point iteration to about 1e-9 degrees. */
export function gcj02ToWgs84(lon, lat) {
  let wlon = lon;
  let wlat = lat;
  for (let i = 0; i < 30; i++) {
    const [flon, flat] = wgs84ToGcj02(wlon, wlat);
    const elon = flon - lon;
    const elat = flat - lat;
    wlon -= elon;
    wlat -= elat;
    if (Math.abs(elon) < 1e-9 && Math.abs(elat) < 1e-9) break;
  }
  return [wlon, wlat];
}

/**
 * A Leaflet CRS for GCJ-02 tiles: Web Mercator of the GCJ-02-shifted coordinates.
 * `L` is passed in so this module stays importable (and testable) without Leaflet.
 */
export function gcj02Crs(L) {
  const merc = L.Projection.SphericalMercator;
  const projection = {
    bounds: merc.bounds,
    project(latlng) {
      const [lon, lat] = wgs84ToGcj02(latlng.lng, latlng.lat);
      return merc.project(L.latLng(lat, lon));
    },
    unproject(point) {
      const g = merc.unproject(point);
      const [lon, lat] = gcj02ToWgs84(g.lng, g.lat);
      return L.latLng(lat, lon);
    },
  };
  return L.extend({}, L.CRS.EPSG3857, { code: "GCJ02", projection });
}

// Fetch features by fixed "data tiles" so a pan only asks for what is new.
//
// The visible bounds are cut into Web Mercator tiles at one zoom (`dataZoom`); each tile's
// bbox is fetched once through every OGC `next` page and its features are kept by id.
// Stale results (the user moved on) are simply dropped; no request is aborted.

import { getAllFeatures } from "./api.js";

function lon2x(lon, z) {
  return Math.floor(((lon + 180) / 360) * 2 ** z);
}
function lat2y(lat, z) {
  const r = (lat * Math.PI) / 180;
  return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z);
}
function x2lon(x, z) {
  return (x / 2 ** z) * 360 - 180;
}
function y2lat(y, z) {
  const n = Math.PI - (2 * Math.PI * y) / 2 ** z;
  return (180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
}

export function tileBbox(x, y, z) {
  return [x2lon(x, z), y2lat(y + 1, z), x2lon(x + 1, z), y2lat(y, z)];
}

export function tilesFor(bounds, z) {
  const x0 = lon2x(bounds.getWest(), z);
  const x1 = lon2x(bounds.getEast(), z);
  const y0 = lat2y(bounds.getNorth(), z);
  const y1 = lat2y(bounds.getSouth(), z);
  const out = [];
  for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) out.push([x, y]);
  return out;
}

export function fmtBbox(b) {
  return b.map((v) => v.toFixed(6)).join(",");
}

export class TiledFeatureSource {
  /**
   * @param {string} path      API path, e.g. "households"
   * @param {object} opts      {dataZoom, params: () => extra query params, limit, onFeatures}
   */
  constructor(path, { dataZoom = 14, params = () => ({}), limit = 5000, onFeatures }) {
    this.path = path;
    this.dataZoom = dataZoom;
    this.params = params;
    this.limit = limit;
    this.onFeatures = onFeatures;
    this.reset();
  }

  reset() {
    this.generation = (this.generation || 0) + 1;
    this.loaded = new Set();
    this.byId = new Map();
  }

  /** Load every tile covering `bounds` not loaded yet.  Resolves when all are in. */
  async load(bounds) {
    const gen = this.generation;
    const jobs = [];
    for (const [x, y] of tilesFor(bounds, this.dataZoom)) {
      const key = `${x}/${y}`;
      if (this.loaded.has(key)) continue;
      this.loaded.add(key);
      const bbox = fmtBbox(tileBbox(x, y, this.dataZoom));
      jobs.push(
        getAllFeatures(this.path, { ...this.params(), bbox, limit: this.limit }, {
          isStale: () => gen !== this.generation,
          onPage: (features) => {
            if (gen !== this.generation) return;
            const fresh = [];
            for (const f of features) {
              if (this.byId.has(f.id)) continue;
              this.byId.set(f.id, f);
              fresh.push(f);
            }
            if (fresh.length && this.onFeatures) this.onFeatures(fresh);
          },
        }).catch((err) => {
          this.loaded.delete(key);
          throw err;
        }),
      );
    }
    await Promise.all(jobs);
    return gen === this.generation;
  }
}

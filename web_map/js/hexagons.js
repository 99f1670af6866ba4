// The H3 hexagons of the households' aggregate (GET /households/aggregate) on the cadre's
// and the analyst's map: the resolution for a zoom, the bbox to ask for, the household-
// count classes and their colours, and the legend's swatch.

import { fmtBbox } from "./tiles.js";

/** H3 resolution for a map zoom: about a dozen pixels or more per hexagon edge. */
export function hexResolution(zoom) {
  if (zoom <= 9) return 6;
  if (zoom <= 11) return 7;
  if (zoom <= 13) return 8;
  return 9;
}

/** Average edge of an H3 hexagon (metres) by resolution, 4 to 10 (h3.average_hexagon_edge_length). */
const HEX_EDGE_M = [26072, 9854, 3725, 1406, 531, 201, 76];

/**
 * The bbox to ask for the hexagons of `resolution` over `bounds`: padded by `pad` of its
 * size, and by at least a hexagon's radius, since the API gives the hexagons whose centre
 * the bbox holds (at high zoom a coarse hexagon's centre may lie well outside the view).
 */
export function hexBbox(bounds, resolution, pad) {
  const b = bounds.pad(pad);
  const r = 1.25 * HEX_EDGE_M[Math.min(10, Math.max(4, resolution)) - 4];
  const dLat = r / 111320;
  const dLon = r / (111320 * Math.max(0.01, Math.cos((bounds.getCenter().lat * Math.PI) / 180)));
  return fmtBbox([
    Math.max(-180, Math.min(b.getWest(), bounds.getWest() - dLon)),
    Math.max(-90, Math.min(b.getSouth(), bounds.getSouth() - dLat)),
    Math.min(180, Math.max(b.getEast(), bounds.getEast() + dLon)),
    Math.min(90, Math.max(b.getNorth(), bounds.getNorth() + dLat)),
  ]);
}

const HEX_RAMP = ["#e8f1fb", "#c6dbf2", "#9cc2e8", "#6aa3da", "#3f80c4", "#245f9e", "#153f6e"];
/** Outline of a hexagon holding at least one 连心户 (red-care household). */
export const HEX_RED_OUTLINE = "#b23a30";
export const HEX_FILL_OPACITY = 0.72;

/** The smallest "round" number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k) at or above x. */
function niceCeil(x) {
  if (x <= 10) return Math.max(1, Math.ceil(x));
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/**
 * Household-count classes of the hexagons in view: up to five classes on a square-root
 * scale up to the fullest hexagon, with round bounds.  [{lo, hi, colour}], lowest first;
 * the legend and the drawing both use these, so they cannot disagree.
 */
export function hexClasses(max) {
  max = Math.max(1, Math.ceil(max));
  const K = 5;
  const his = [];
  for (let i = 1; i <= K; i++) {
    const hi = i === K ? max : Math.min(max, niceCeil(max * (i / K) ** 2));
    if (!his.length || hi > his[his.length - 1]) his.push(hi);
  }
  return his.map((hi, j) => ({
    lo: j === 0 ? 1 : his[j - 1] + 1,
    hi,
    colour: HEX_RAMP[his.length === 1 ? HEX_RAMP.length - 1 : Math.round(1 + (j * (HEX_RAMP.length - 2)) / (his.length - 1))],
  }));
}

export function hexClassOf(classes, n) {
  return classes.find((c) => n <= c.hi) || classes[classes.length - 1];
}

/** A small hexagon for the legend, coloured like the map's. */
export function hexSwatch(fill, stroke, width) {
  return `<svg class="hex-swatch" viewBox="0 0 20 18" aria-hidden="true"><path d="M5.5 1h9l4.5 8-4.5 8h-9L1 9z" fill="${fill}" fill-opacity="${HEX_FILL_OPACITY}" stroke="${stroke}" stroke-width="${width}"/></svg>`;
}

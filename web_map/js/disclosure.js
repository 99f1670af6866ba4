// Hexagons the API withholds, drawn as withheld: never as a count of zero.
//
// A caller who may not read households or issues (an analyst) is answered from H3
// hexagons of `disclosure.resolution`, and one holding fewer than `disclosure.minBin` of
// them gives them as `suppressed`, not by care level, status or category
// (geogrid/api/disclosure.py).  A coarser hexagon is the sum of whole such hexagons, so
// it may be counted in part.  Both hexagon layers (households, issue hotspots) draw and
// explain them alike.

/**
 * The API's limits, as GET /api/v1/config publishes them (`disclosure`): the map keeps no
 * copy of its own, so they cannot drift.  `minBin` is the fewest records a hexagon of
 * `resolution` holds to be counted by attribute (geogrid.api.disclosure.MIN_BIN);
 * `resolution` the finest H3 resolution a caller who may not read the records is answered
 * at (SUPPRESSION_RESOLUTION).  null until the configuration is read.
 */
export const disclosure = { minBin: null, resolution: null };

/** Take the limits from the API's configuration; whether it had them. */
export function setDisclosure(config) {
  const d = (config && config.disclosure) || {};
  if (!Number.isInteger(d.min_bin) || !Number.isInteger(d.suppression_resolution)) return false;
  disclosure.minBin = d.min_bin;
  disclosure.resolution = d.suppression_resolution;
  return true;
}

/** The H3 resolution to ask for: `wanted`, or the finest the API answers a caller who may not read the records. */
export function answeredResolution(wanted, canRead) {
  return canRead || disclosure.resolution === null ? wanted : Math.min(wanted, disclosure.resolution);
}

/** Outline of a hexagon withheld in whole or in part (dashed). */
export const WITHHELD_OUTLINE = "#495057";
export const WITHHELD_DASH = "5 4";
const HATCH_BACK = "#dedede";
const HATCH_LINE = "#7b7b7b";

/**
 * "all" when every record a hexagon holds is withheld, "part" when some of them are (a
 * coarse hexagon holding small fine ones), null when none is.
 */
export function withheld(suppressed, counted) {
  if (!(suppressed > 0)) return null;
  return counted > 0 ? "part" : "all";
}

let hatch = null;

/** The canvas fill of a hexagon withheld in whole: grey, hatched. */
export function hatchPattern() {
  if (hatch) return hatch;
  const tile = document.createElement("canvas");
  tile.width = tile.height = 8;
  const ctx = tile.getContext("2d");
  ctx.fillStyle = HATCH_BACK;
  ctx.fillRect(0, 0, 8, 8);
  ctx.strokeStyle = HATCH_LINE;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (const o of [-8, 0, 8]) {
    ctx.moveTo(o, 8);
    ctx.lineTo(o + 8, 0);
  }
  ctx.stroke();
  hatch = ctx.createPattern(tile, "repeat");
  return hatch;
}

/**
 * The path style of a hexagon: `base` (its style as counted) if nothing is withheld;
 * else with a dashed outline (in `outline`, e.g. the red of a hexagon holding red-care
 * households), and the grey hatch for one withheld in whole.  `withheld` is kept in the
 * layer's options, so tests (and anyone) can see it.
 */
export function withheldStyle(state, base, outline = WITHHELD_OUTLINE) {
  if (!state) return { ...base, withheld: null };
  const style = { ...base, color: outline, weight: Math.max(base.weight || 0, 1.4), dashArray: WITHHELD_DASH, withheld: state };
  if (state === "all") style.fillColor = hatchPattern();
  return style;
}

/**
 * A small hexagon for a legend, as the map draws a withheld one: hatched and dashed
 * (`state` "all") or in `fill` with a dashed outline ("part").  `id` names its SVG
 * pattern, unique in the page.
 */
export function withheldSwatch(state, id, fill = "#ffffff") {
  const pattern = `<defs><pattern id="${id}" patternUnits="userSpaceOnUse" width="4" height="4" patternTransform="rotate(45)">` +
    `<rect width="4" height="4" fill="${HATCH_BACK}"/><line x1="0" y1="0" x2="0" y2="4" stroke="${HATCH_LINE}" stroke-width="1.4"/></pattern></defs>`;
  const paint = state === "all" ? `url(#${id})` : fill;
  return `<svg class="hex-swatch" viewBox="0 0 20 18" aria-hidden="true">${state === "all" ? pattern : ""}` +
    `<path d="M5.5 1h9l4.5 8-4.5 8h-9L1 9z" fill="${paint}" stroke="${WITHHELD_OUTLINE}" stroke-width="1.4" stroke-dasharray="2.5 2"/></svg>`;
}

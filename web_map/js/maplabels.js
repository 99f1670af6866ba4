// Where the cadre's map puts the labels of villages, micro-grids and cells, what a label
// shows of a key, and how a label lets a click through to the house under it (used by
// CadreLayers.updateLabels, layers.js).

const L = window.L;

/**
 * Where a polygon's label goes: its own middle if that is in the free view; else (a big cell
 * seen at high zoom) a point of its part in the free view, in the upper third so that it does
 * not sit on the house the map is centred on, if that point lies inside it; else nowhere.
 */
export function labelPoint(layer, free) {
  const b = layer.getBounds();
  const own = b.getCenter();
  if (free.contains(own)) return own;
  if (!b.intersects(free)) return null;
  const s = Math.max(b.getSouth(), free.getSouth());
  const n = Math.min(b.getNorth(), free.getNorth());
  const w = Math.max(b.getWest(), free.getWest());
  const e = Math.min(b.getEast(), free.getEast());
  const c = L.latLng(s + (n - s) * 0.7, (w + e) / 2);
  return inside(layer.getLatLngs(), c) ? c : null;
}

/** Even-odd point-in-polygon over every ring of a (multi)polygon's nested latlngs. */
function inside(latlngs, p) {
  let odd = false;
  const ring = (pts) => {
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const a = pts[i], b = pts[j];
      if (a.lat > p.lat !== b.lat > p.lat && p.lng < ((b.lng - a.lng) * (p.lat - a.lat)) / (b.lat - a.lat) + a.lng) odd = !odd;
    }
  };
  const walk = (x) => (x.length && x[0] instanceof L.LatLng ? ring(x) : x.forEach(walk));
  walk(latlngs);
  return odd;
}

/** "431227103001-M04-C02" -> "M04-C02": the village code is the same for everything in view. */
export function shortKey(key) {
  return String(key ?? "").replace(/^\d{9,}-/, "");
}

/**
 * A map label shows its full key on hover, so it takes the pointer; a click on it goes on to
 * whatever is drawn below (a house on the canvas), as if the label were not there.  Below
 * means below every label at that point: the click went nowhere when it was handed to a
 * second label under the first.
 */
export function passClicksThrough(el) {
  el.addEventListener("click", (e) => {
    if (!e.isTrusted) return;
    L.DomEvent.stop(e);
    const under = document.elementsFromPoint(e.clientX, e.clientY).find((x) => !x.closest(".map-label"));
    if (under) {
      under.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, view: window,
        clientX: e.clientX, clientY: e.clientY, screenX: e.screenX, screenY: e.screenY, button: e.button }));
    }
  });
}

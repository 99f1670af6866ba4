// Freehand lasso selection: drag a loop on the map, get the points inside it.

const L = window.L;

/** Ray-casting point-in-polygon on screen coordinates. */
export function pointInPolygon(x, y, poly) {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export class Lasso {
  /** `onDone(latlngs)` gets the loop in map coordinates. */
  constructor(map, onDone) {
    this.map = map;
    this.onDone = onDone;
    this.enabled = false;
    this.down = (e) => this.start(e);
    this.move = (e) => this.extend(e);
    this.up = () => this.finish();
  }

  enable() {
    if (this.enabled) return;
    this.enabled = true;
    this.map.dragging.disable();
    this.map.getContainer().style.cursor = "crosshair";
    this.map.on("mousedown", this.down);
  }

  disable() {
    if (!this.enabled) return;
    this.enabled = false;
    this.map.dragging.enable();
    this.map.getContainer().style.cursor = "";
    this.map.off("mousedown", this.down);
    this.map.off("mousemove", this.move);
    this.map.off("mouseup", this.up);
    if (this.path) this.map.removeLayer(this.path);
    this.path = null;
  }

  start(e) {
    this.points = [e.latlng];
    this.path = L.polyline(this.points, { color: "#1d4e89", weight: 2, dashArray: "5 4", interactive: false, className: "lasso-path" }).addTo(this.map);
    this.map.on("mousemove", this.move);
    this.map.on("mouseup", this.up);
  }

  extend(e) {
    this.points.push(e.latlng);
    this.path.addLatLng(e.latlng);
  }

  finish() {
    this.map.off("mousemove", this.move);
    this.map.off("mouseup", this.up);
    if (this.path) this.map.removeLayer(this.path);
    this.path = null;
    if (this.points && this.points.length > 2) this.onDone(this.points);
    this.points = null;
  }
}

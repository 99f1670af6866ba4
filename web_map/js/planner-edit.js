// The planner's local, undoable edits: selecting households (click or lasso), assigning
// them to a cell or a new one, locking cells and dragging the micro-grid boundary.
// Mixed into Planner (planner.js).

import { pointInPolygon } from "./lasso.js";
import { toast } from "./dialog.js";
import { PALETTE } from "./planner-api.js";
import { t } from "../i18n.js";

const L = window.L;
const $ = (id) => document.getElementById(id);

export class PlannerEdit {
  // ---- selection -------------------------------------------------------------------------
  onHouseClick(feature) {
    if (!this.mg || this.tool !== "select") return;
    const h = this.houses.get(feature.id);
    if (!h) return;
    if (this.selected.has(h.id)) this.selected.delete(h.id);
    else this.selected.add(h.id);
    this.styleHouse(h);
    this.renderSelection();
  }

  lassoSelect(latlngs) {
    const poly = latlngs.map((ll) => {
      const p = this.map.latLngToContainerPoint(ll);
      return [p.x, p.y];
    });
    for (const h of this.houses.values()) {
      const p = this.map.latLngToContainerPoint(h.marker.getLatLng());
      if (pointInPolygon(p.x, p.y, poly)) {
        this.selected.add(h.id);
        this.styleHouse(h);
      }
    }
    this.renderSelection();
  }

  clearSelection() {
    const was = [...this.selected];
    this.selected.clear();
    for (const id of was) this.styleHouse(this.houses.get(id));
    this.renderSelection();
  }

  setTool(tool) {
    if (tool !== "select" && (!this.mg || !this.editable)) tool = "select";
    if (this.tool === "boundary" && tool !== "boundary") this.finishBoundary();
    this.tool = tool;
    for (const b of $("tool-seg").querySelectorAll("button")) b.classList.toggle("active", b.dataset.tool === tool);
    if (tool === "lasso") this.lasso.enable();
    else this.lasso.disable();
    if (tool === "boundary") this.startBoundary();
  }

  // ---- local edits (undoable) ----------------------------------------------------------------
  assignSelected() {
    if (!this.editable || !this.selected.size) return;
    let target = $("assign-target").value;
    if (!target) return;
    let created = null;
    if (target === "__new__") {
      target = `new:${++this.newCellSeq}`;
      const colour = PALETTE[this.cells.size % PALETTE.length];
      created = { id: target, key: `${t("planner.assign.new")} ${this.newCellSeq}`, locked: false, colour, isNew: true };
    }
    const moves = [...this.selected].map((id) => [id, this.houses.get(id).cellId]).filter(([, from]) => from !== target);
    if (!moves.length) return;
    const to = target;
    this.history.do({
      kind: "assign",
      apply: () => {
        if (created) this.cells.set(created.id, created);
        for (const [id] of moves) this.houses.get(id).cellId = to;
        this.afterAssign();
      },
      revert: () => {
        for (const [id, from] of moves) this.houses.get(id).cellId = from;
        if (created) this.cells.delete(created.id);
        this.afterAssign();
      },
    });
    this.clearSelection();
  }

  afterAssign() {
    for (const h of this.houses.values()) this.styleHouse(h);
    this.cellLayer.setStyle((f) => this.cellStyle(f));
  }

  toggleLock() {
    const id = this.picked[0];
    const c = this.cells.get(id);
    if (!this.editable || !c || c.isNew) return toast(t("planner.cell.pick"));
    const to = !c.locked;
    this.history.do({
      kind: "lock",
      apply: () => ((c.locked = to), this.afterAssign()),
      revert: () => ((c.locked = !to), this.afterAssign()),
    });
  }

  startBoundary() {
    const layer = this.mg && this.mg.layer;
    if (!layer || !layer.pm) return;
    this.boundaryBefore = layer.toGeoJSON().geometry;
    // Snap to the neighbours' vertices and edges; refuse self-intersections.
    this.map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
    layer.pm.enable({ snappable: true, snapDistance: 15, allowSelfIntersection: false, draggable: false });
    layer.off("pm:edit");
    layer.on("pm:edit", () => {
      if (layer.pm.hasSelfIntersection && layer.pm.hasSelfIntersection()) return toast(t("planner.boundary.invalid"), { error: true });
      const before = this.boundaryBefore;
      const after = layer.toGeoJSON().geometry;
      this.boundaryBefore = after;
      this.history.record({
        kind: "boundary",
        geometry: after,
        apply: () => this.setBoundary(after),
        revert: () => this.setBoundary(before),
      });
    });
    layer.on("pm:intersect", () => toast(t("planner.boundary.invalid"), { error: true }));
  }

  setBoundary(geometry) {
    const layer = this.mg.layer;
    const editing = layer.pm && layer.pm.enabled();
    if (editing) layer.pm.disable();
    layer.setLatLngs(L.GeoJSON.coordsToLatLngs(geometry.coordinates, geometry.type === "Polygon" ? 1 : 2));
    this.boundaryBefore = geometry;
    if (editing) layer.pm.enable({ snappable: true, snapDistance: 15, allowSelfIntersection: false, draggable: false });
  }

  finishBoundary() {
    const layer = this.mg && this.mg.layer;
    if (layer && layer.pm) layer.pm.disable();
  }

}

// The planner's view: pick a plan, edit one micro-grid at a time, watch the balance.
//
// Edits are local first (households re-assigned, cells locked, the micro-grid boundary
// dragged), each one undoable; Save sends them with the plan's ETag in If-Match.  A 412
// means someone else saved first: the conflict dialog explains and offers a reload.
// Split, merge and re-run are computed by the server, so they save pending edits first.

import { get, request, getAllFeatures } from "./api.js";
import { History } from "./history.js";
import { Lasso, pointInPolygon } from "./lasso.js";
import { openDialog, toast, errorMessage } from "./dialog.js";
import { escapeHtml, householdCount, CAP, HOUSE_ZOOM } from "./layers.js";
import { t } from "../i18n.js";

const L = window.L;
const $ = (id) => document.getElementById(id);

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
  "#393b79", "#ad494a", "#637939", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1"];

/** Everything the planner asks of the API, in one place. */
export const planApi = {
  listPlans: () => get("plans"),
  getPlan: (id) => get(`plans/${id}`),
  createDraft: (fromId, name) => request("POST", "plans", { json: { from_plan: fromId, name } }),
  microgrids: (planId, bbox) => getAllFeatures("microgrids", { plan: planId, bbox, limit: 5000 }),
  microgrid: (id) => get(`microgrids/${id}`),
  cell: (id) => get(`cells/${id}`),
  cells: (planId, microgridId) => getAllFeatures("cells", { plan: planId, microgrid: microgridId, limit: 5000 }),
  households: (planId, cellId) => getAllFeatures("households", { plan: planId, cell: cellId, limit: 5000 }),
  /** moves: [{household_id, cell_id}] between existing cells */
  assign: (planId, etag, moves) => request("PATCH", `plans/${planId}/assignments`, { ifMatch: etag, json: { moves } }),
  lock: (planId, etag, cellId, locked) =>
    request("POST", `plans/${planId}/cells/${cellId}/${locked ? "lock" : "unlock"}`, { ifMatch: etag }),
  boundary: (planId, etag, microgridId, geometry) =>
    request("PUT", `plans/${planId}/microgrids/${microgridId}/geometry`, { ifMatch: etag, json: { geometry } }),
  /** the listed households of one cell become a new cell */
  split: (planId, etag, cellId, householdIds) =>
    request("POST", `plans/${planId}/cells/${cellId}/split`, { ifMatch: etag, json: { household_ids: householdIds } }),
  merge: (planId, etag, a, b) => request("POST", `plans/${planId}/cells/merge`, { ifMatch: etag, json: { cells: [a, b] } }),
  rerun: (planId, etag, microgridId) =>
    request("POST", `plans/${planId}/repartition`, { ifMatch: etag, json: { microgrids: [microgridId] } }),
  validate: (planId, microgridId) => get(`plans/${planId}/validation`, microgridId ? { microgrid: microgridId } : {}),
  publish: (planId, etag) => request("POST", `plans/${planId}/publish`, { ifMatch: etag }),
};

function planFromResponse(res) {
  const p = res.data.properties ? { id: res.data.id, ...res.data.properties } : res.data;
  const etag = res.headers.get("ETag") || p.etag;
  return { ...p, etag };
}

export class Planner {
  constructor({ map, layers, user }) {
    this.map = map;
    this.layers = layers;
    this.user = user;
    this.active = false;
    this.plan = null;
    this.plans = [];
    this.mg = null; // {id, feature, layer}
    this.cells = new Map(); // id -> {id, key, locked, layer, colour, isNew}
    this.houses = new Map(); // id -> {feature, cellId, baseCellId, marker}
    this.selected = new Set();
    this.picked = []; // cell ids picked in the balance table
    this.tool = "select";
    this.newCellSeq = 0;
    this.history = new History(() => this.renderAll());
    map.createPane("gg-plan-grid").style.zIndex = 420;
    map.createPane("gg-plan-houses").style.zIndex = 460;
    this.renderer = L.canvas({ pane: "gg-plan-houses", padding: 0.3, tolerance: 5 });
    this.gridRenderer = L.canvas({ pane: "gg-plan-grid", padding: 0.3 });
    this.mgLayer = L.geoJSON(null, {
      pane: "gg-plan-grid",
      renderer: this.gridRenderer,
      style: (f) => ({ color: "#1d4e89", weight: 1.6, fillColor: "#1d4e89", fillOpacity: 0.04 }),
      onEachFeature: (f, layer) => {
        layer.on("click", (e) => {
          if (this.tool === "lasso" || this.tool === "boundary") return;
          if (!this.mg || this.mg.id !== f.id) this.openMicrogrid(f, layer);
        });
        layer.bindTooltip(() => `${escapeHtml(f.properties.microgrid_key || "")} · ${t("count.households", { n: householdCount(f.properties) })}`, { sticky: true, className: "tip" });
      },
    });
    this.cellLayer = L.geoJSON(null, { pane: "gg-plan-grid", renderer: this.gridRenderer, interactive: false, style: (f) => this.cellStyle(f) });
    this.houseLayer = L.layerGroup();
    this.lasso = new Lasso(map, (pts) => this.lassoSelect(pts));
    this.bind();
  }

  get planId() {
    return this.plan ? this.plan.id : null;
  }
  get editable() {
    return this.plan && this.plan.status === "draft";
  }

  bind() {
    $("plan-select").addEventListener("change", (e) => this.choosePlan(e.target.value));
    $("plan-new-draft").addEventListener("click", () => this.newDraft());
    for (const b of $("tool-seg").querySelectorAll("button")) b.addEventListener("click", () => this.setTool(b.dataset.tool));
    $("sel-clear").addEventListener("click", () => this.clearSelection());
    $("assign-do").addEventListener("click", () => this.assignSelected());
    $("cell-lock").addEventListener("click", () => this.toggleLock());
    $("cell-split").addEventListener("click", () => this.serverOp("split"));
    $("cell-merge").addEventListener("click", () => this.serverOp("merge"));
    $("mg-rerun").addEventListener("click", () => this.serverOp("rerun"));
    $("validate-do").addEventListener("click", () => this.validate());
    $("undo").addEventListener("click", () => this.history.undo());
    $("redo").addEventListener("click", () => this.history.redo());
    $("save").addEventListener("click", () => this.save());
    $("publish").addEventListener("click", () => this.publish());
    document.addEventListener("keydown", (e) => {
      if (!this.active || !(e.ctrlKey || e.metaKey) || e.target.matches("input, textarea")) return;
      if (e.key === "z" && !e.shiftKey) (e.preventDefault(), this.history.undo());
      else if (e.key === "y" || (e.key === "z" && e.shiftKey)) (e.preventDefault(), this.history.redo());
    });
    window.addEventListener("beforeunload", (e) => {
      if (this.history.pending) e.preventDefault();
    });
  }

  // ---- entering and leaving ---------------------------------------------------------
  async enter() {
    this.active = true;
    for (const name of ["houses", "cell", "microgrid", "labels"]) this.layers.setVisible(name, false);
    this.mgLayer.addTo(this.map);
    this.cellLayer.addTo(this.map);
    this.houseLayer.addTo(this.map);
    this.map.on("moveend", this.onMove || (this.onMove = () => this.loadMicrogrids()));
    await this.loadPlans();
  }

  leave() {
    this.active = false;
    this.setTool("select");
    this.map.off("moveend", this.onMove);
    for (const l of [this.mgLayer, this.cellLayer, this.houseLayer]) this.map.removeLayer(l);
    for (const name of ["houses", "cell", "microgrid", "labels"]) this.layers.setVisible(name, $(`lyr-${name}`).checked);
  }

  canLeave() {
    if (!this.history.pending) return true;
    toast(t("planner.microgrid.unsaved"), { error: true });
    return false;
  }

  // ---- plans -------------------------------------------------------------------------
  async loadPlans(selectId) {
    try {
      const { data } = await planApi.listPlans();
      const list = Array.isArray(data) ? data : data.plans || data.items || data.features || [];
      this.plans = list.map((p) => (p.properties ? { id: p.id, ...p.properties } : p));
    } catch (err) {
      toast(errorMessage(err), { error: true });
      return;
    }
    const sel = $("plan-select");
    sel.innerHTML = `<option value="">${escapeHtml(t("planner.plan.pick"))}</option>` +
      this.plans
        .filter((p) => p.status !== "archived")
        .map((p) => `<option value="${escapeHtml(p.id)}">${escapeHtml(p.name)}（${escapeHtml(t(`planner.status.${p.status}`))}）</option>`)
        .join("");
    const want = selectId || (this.plan && this.plan.id) || (this.plans.find((p) => p.status === "draft") || this.plans.find((p) => p.status === "published") || {}).id;
    if (want) {
      sel.value = want;
      await this.choosePlan(want);
    }
  }

  async choosePlan(id) {
    if (!id || this.choosing === id || (this.plan && this.plan.id === id && this.mgLoaded && this.mgLoaded.size)) return;
    if (this.history.pending && this.plan && id !== this.plan.id) {
      $("plan-select").value = this.plan.id;
      return toast(t("planner.microgrid.unsaved"), { error: true });
    }
    this.choosing = id;
    try {
      this.plan = planFromResponse(await planApi.getPlan(id));
    } catch (err) {
      return toast(errorMessage(err), { error: true });
    } finally {
      this.choosing = null;
    }
    $("plan-select").value = id;
    this.closeMicrogrid();
    this.mgLayer.clearLayers();
    this.mgLoaded = new Set();
    this.mgGen = (this.mgGen || 0) + 1;
    await this.loadMicrogrids();
    this.renderAll();
  }

  async newDraft() {
    const published = this.plans.find((p) => p.status === "published");
    if (!published) return;
    try {
      const res = await planApi.createDraft(published.id, t("planner.draft.name", { date: new Date().toLocaleString() }));
      const plan = planFromResponse(res);
      await this.loadPlans(plan.id);
    } catch (err) {
      toast(errorMessage(err), { error: true });
    }
  }

  async loadMicrogrids() {
    if (!this.active || !this.plan) return;
    const b = this.map.getBounds().pad(0.2);
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
    const planId = this.plan.id;
    const gen = this.mgGen;
    try {
      const fc = await planApi.microgrids(planId, bbox);
      if (!this.plan || this.plan.id !== planId || gen !== this.mgGen) return;
      const fresh = fc.features.filter((f) => !this.mgLoaded.has(f.id));
      for (const f of fresh) this.mgLoaded.add(f.id);
      this.mgLayer.addData(fresh);
    } catch (err) {
      toast(errorMessage(err), { error: true });
    }
  }

  // ---- one micro-grid ------------------------------------------------------------------
  closeMicrogrid() {
    this.setTool("select");
    this.mg = null;
    this.cells.clear();
    this.houses.clear();
    this.selected.clear();
    this.picked = [];
    this.cellLayer.clearLayers();
    this.houseLayer.clearLayers();
    this.validationIssues = null;
    this.history.clear();
  }

  async openMicrogrid(feature, layer) {
    if (this.history.pending) return toast(t("planner.microgrid.unsaved"), { error: true });
    this.closeMicrogrid();
    this.mg = { id: feature.id, feature, layer };
    this.mgLayer.eachLayer((l) => l.setStyle({ weight: l === layer ? 3 : 1.2, fillOpacity: l === layer ? 0 : 0.1, color: l === layer ? "#0b2f5c" : "#6b7f99" }));
    this.map.fitBounds(layer.getBounds(), { animate: false, padding: [30, 30], maxZoom: 18 });
    if (this.map.getZoom() < HOUSE_ZOOM) this.map.setZoom(HOUSE_ZOOM, { animate: false });
    await this.loadMicrogridContents();
  }

  async loadMicrogridContents() {
    const planId = this.plan.id;
    const mgId = this.mg.id;
    this.cells.clear();
    this.houses.clear();
    this.cellLayer.clearLayers();
    this.houseLayer.clearLayers();
    this.selected.clear();
    let cellsFc;
    try {
      cellsFc = await planApi.cells(planId, mgId);
    } catch (err) {
      return toast(errorMessage(err), { error: true });
    }
    cellsFc.features.sort((a, b) => String(a.properties.cell_key).localeCompare(String(b.properties.cell_key), "zh", { numeric: true }));
    cellsFc.features.forEach((f, i) => {
      this.cells.set(f.id, { id: f.id, key: f.properties.cell_key, locked: Boolean(f.properties.locked), baseLocked: Boolean(f.properties.locked), colour: PALETTE[i % PALETTE.length], feature: f });
    });
    this.cellLayer.addData(cellsFc.features);
    const results = await Promise.all(
      cellsFc.features.map((f) => planApi.households(planId, f.id).then((fc) => [f.id, fc]).catch((err) => [f.id, null, err])),
    );
    for (const [cellId, fc, err] of results) {
      if (err) toast(errorMessage(err), { error: true });
      if (!fc) continue;
      for (const h of fc.features) this.addHouse(h, cellId);
    }
    this.renderAll();
    this.loadedAt = Date.now();
  }

  addHouse(feature, cellId) {
    const [lon, lat] = feature.geometry.coordinates;
    const marker = L.circleMarker([lat, lon], { renderer: this.renderer, radius: 5.5, weight: 1.2, color: "#fff", fillOpacity: 0.95 });
    marker.on("click", () => this.onHouseClick(feature));
    const h = { id: feature.id, feature, cellId, baseCellId: cellId, marker };
    this.houses.set(feature.id, h);
    this.houseLayer.addLayer(marker);
    this.styleHouse(h);
  }

  cellColour(cellId) {
    const c = this.cells.get(cellId);
    return c ? c.colour : "#999";
  }

  styleHouse(h) {
    const sel = this.selected.has(h.id);
    h.marker.setStyle({
      fillColor: this.cellColour(h.cellId),
      color: sel ? "#111" : "#fff",
      weight: sel ? 3 : 1.2,
    });
    h.marker.setRadius(sel ? 7 : 5.5);
  }

  cellStyle(f) {
    const c = this.cells.get(f.id);
    const n = this.countOf(f.id);
    return { color: n > CAP ? "#d43c2f" : (c && c.colour) || "#4a7fb5", weight: n > CAP ? 2.5 : 1.5, dashArray: c && c.locked ? null : "5 4", fillColor: (c && c.colour) || "#4a7fb5", fillOpacity: 0.08 };
  }

  countOf(cellId) {
    let n = 0;
    for (const h of this.houses.values()) if (h.cellId === cellId) n++;
    return n;
  }

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

  // ---- saving ------------------------------------------------------------------------------------
  /** The net change since the last load: moves, new cells, locks and the boundary. */
  pendingChanges() {
    const moves = [];
    const newCells = new Map(); // "new:N" -> [household ids]
    for (const h of this.houses.values()) {
      if (h.cellId === h.baseCellId) continue;
      if (h.cellId.startsWith("new:")) {
        if (!newCells.has(h.cellId)) newCells.set(h.cellId, []);
        newCells.get(h.cellId).push(h);
      } else {
        moves.push({ household_id: h.id, cell_id: h.cellId });
      }
    }
    const locks = [...this.cells.values()].filter((c) => !c.isNew && c.locked !== c.baseLocked);
    const boundary = [...this.history.done].reverse().find((e) => e.kind === "boundary");
    return { moves, newCells, locks, boundary: boundary ? boundary.geometry : null };
  }

  /**
   * Send the pending edits, each its own transaction carrying the ETag of the one before:
   * unlocks, boundary, moves, new cells (gathered into one source cell, then split off),
   * locks.  The first request carries the ETag the plan was loaded with, so a plan saved
   * by someone else meanwhile fails at once with 412 and nothing is written.
   */
  async save() {
    if (!this.editable || !this.history.pending) return true;
    const { moves, newCells, locks, boundary } = this.pendingChanges();
    const btn = $("save");
    btn.disabled = true;
    btn.textContent = t("planner.saving");
    let etag = this.plan.etag;
    const track = (res) => {
      const e = res.headers.get("ETag");
      if (e) etag = e;
      return res;
    };
    const planId = this.plan.id;
    try {
      for (const c of locks.filter((c) => !c.locked)) track(await planApi.lock(planId, etag, c.id, false));
      if (boundary) track(await planApi.boundary(planId, etag, this.mg.id, boundary));
      if (moves.length) track(await planApi.assign(planId, etag, moves));
      for (const members of newCells.values()) {
        const source = members[0].baseCellId;
        const gather = members.filter((h) => h.baseCellId !== source).map((h) => ({ household_id: h.id, cell_id: source }));
        if (gather.length) track(await planApi.assign(planId, etag, gather));
        track(await planApi.split(planId, etag, source, members.map((h) => h.id)));
      }
      for (const c of locks.filter((c) => c.locked)) track(await planApi.lock(planId, etag, c.id, true));
      this.plan.etag = etag;
      this.history.clear();
      toast(t("planner.saved"));
      await this.reloadMicrogrid();
      return true;
    } catch (err) {
      this.plan.etag = etag;
      if (err.status === 412) this.conflict();
      else toast(errorMessage(err), { error: true });
      return false;
    } finally {
      btn.disabled = false;
      btn.textContent = t("planner.save");
      this.renderAll();
    }
  }

  async conflict() {
    const ok = await openDialog({
      title: t("planner.conflict.title"),
      body: `<p id="conflict-text">${escapeHtml(t("planner.conflict.body"))}</p>`,
      ok: t("planner.conflict.reload"),
      cancel: t("planner.conflict.keep"),
      className: "conflict",
    });
    if (ok) {
      this.history.clear();
      await this.reloadMicrogrid();
    }
  }

  async reloadMicrogrid() {
    const planId = this.plan.id;
    this.plan = planFromResponse(await planApi.getPlan(planId));
    const mgId = this.mg && this.mg.id;
    this.mgLayer.clearLayers();
    this.mgLoaded = new Set();
    this.mgGen = (this.mgGen || 0) + 1;
    await this.loadMicrogrids();
    if (mgId) {
      let found = null;
      this.mgLayer.eachLayer((l) => {
        if (l.feature.id === mgId) found = l;
      });
      if (found) {
        this.mg = { id: mgId, feature: found.feature, layer: found };
        this.mgLayer.eachLayer((l) => l.setStyle({ weight: l === found ? 3 : 1.2, fillOpacity: l === found ? 0 : 0.1, color: l === found ? "#0b2f5c" : "#6b7f99" }));
        await this.loadMicrogridContents();
      } else {
        this.closeMicrogrid();
      }
    }
    this.renderAll();
  }

  async serverOp(kind) {
    if (!this.editable || !this.mg) return;
    const splitOff = kind === "split" ? [...this.selected].filter((id) => this.houses.get(id).cellId === this.picked[0]) : [];
    if (kind === "split" && (!this.picked[0] || !splitOff.length)) return toast(t("planner.cell.split.pick"));
    if (kind === "merge" && this.picked.length !== 2) return toast(t("planner.cell.merge.pick"));
    if (kind === "rerun" && !(await openDialog({ title: t("planner.rerun"), body: `<p>${escapeHtml(t("planner.rerun.confirm"))}</p>` }))) return;
    if (this.history.pending && !(await this.save())) return;
    try {
      let res;
      if (kind === "split") res = await planApi.split(this.plan.id, this.plan.etag, this.picked[0], splitOff);
      else if (kind === "merge") res = await planApi.merge(this.plan.id, this.plan.etag, this.picked[0], this.picked[1]);
      else res = await planApi.rerun(this.plan.id, this.plan.etag, this.mg.id);
      const e = res.headers.get("ETag");
      if (e) this.plan.etag = e;
      this.picked = [];
      toast(t("planner.done"));
      await this.reloadMicrogrid();
    } catch (err) {
      if (err.status === 412) this.conflict();
      else toast(errorMessage(err), { error: true });
    }
  }

  async validate() {
    if (!this.plan) return;
    try {
      const { data } = await planApi.validate(this.plan.id, this.mg ? this.mg.id : null);
      this.validationIssues = data.problems || [];
    } catch (err) {
      return toast(errorMessage(err), { error: true });
    }
    this.renderValidation();
  }

  /** Fit the map to the objects a problem names, fetching those not on the map. */
  async zoomToIssue(issue) {
    const bounds = L.latLngBounds([]);
    for (const o of issue.objects || []) {
      let layer = null;
      if (o.type === "cell") layer = this.findCellLayer(o.id);
      if (o.type === "microgrid") this.mgLayer.eachLayer((l) => l.feature.id === o.id && (layer = l));
      if (layer) {
        bounds.extend(layer.getBounds());
        continue;
      }
      try {
        const res = o.type === "cell" ? await planApi.cell(o.id) : o.type === "microgrid" ? await planApi.microgrid(o.id) : null;
        if (res && res.data.geometry) bounds.extend(L.geoJSON(res.data).getBounds());
      } catch {
        /* an object that no longer exists: nothing to show */
      }
    }
    if (bounds.isValid()) this.map.fitBounds(bounds, { maxZoom: 18, padding: [60, 60], animate: false });
    this.flashIssue = issue;
  }

  async publish() {
    if (!this.editable) return;
    if (this.history.pending && !(await this.save())) return;
    if (!(await openDialog({ title: t("planner.publish"), body: `<p>${escapeHtml(t("planner.publish.confirm"))}</p>` }))) return;
    try {
      await planApi.publish(this.plan.id, this.plan.etag);
      toast(t("planner.published"));
      await this.loadPlans(this.plan.id);
      this.layers.reloadPlan();
    } catch (err) {
      if (err.status === 412) this.conflict();
      else toast(errorMessage(err), { error: true });
    }
  }

  // ---- rendering -------------------------------------------------------------------------------------
  renderAll() {
    if (!$("planner-panel")) return;
    const editable = this.editable;
    $("plan-new-draft").hidden = !this.plans.some((p) => p.status === "published");
    $("plan-readonly").hidden = !this.plan || editable;
    const mgBox = $("mg-current");
    if (this.mg) {
      const p = this.mg.feature.properties;
      mgBox.innerHTML = `<strong>${escapeHtml(p.microgrid_key || "")}</strong><span class="badge">${escapeHtml(t("count.households", { n: this.houses.size }))}</span>`;
    } else {
      mgBox.innerHTML = `<span class="hint">${escapeHtml(t("planner.microgrid.pick"))}</span>`;
    }
    $("pp-edit").hidden = !this.mg || !editable;
    $("pp-balance").hidden = !this.mg;
    $("pp-validation").hidden = !this.plan;
    $("pp-actions").hidden = !this.plan || !editable;
    this.renderSelection();
    this.renderBalance();
    this.renderValidation();
    $("undo").disabled = !this.history.canUndo;
    $("redo").disabled = !this.history.canRedo;
    const dirty = $("dirty");
    dirty.textContent = this.history.pending ? t("planner.unsaved", { n: this.history.pending }) : "";
    dirty.classList.toggle("has", this.history.pending > 0);
    $("save").disabled = !this.history.pending;
    $("cell-lock").textContent = this.cells.get(this.picked[0])?.locked ? t("planner.cell.unlock") : t("planner.cell.lock");
  }

  renderSelection() {
    $("sel-count").textContent = t("planner.selected", { n: this.selected.size });
    const sel = $("assign-target");
    const cur = sel.value;
    sel.innerHTML = `<option value="">${escapeHtml(t("planner.assign.pick"))}</option>` +
      [...this.cells.values()].map((c) => `<option value="${escapeHtml(c.id)}">${escapeHtml(c.key)}</option>`).join("") +
      `<option value="__new__">＋ ${escapeHtml(t("planner.assign.new"))}</option>`;
    sel.value = [...sel.options].some((o) => o.value === cur) ? cur : "";
    $("assign-do").disabled = !this.selected.size;
  }

  renderBalance() {
    $("balance-title").textContent = t("planner.balance", { cap: CAP });
    const ol = $("balance");
    const rows = [...this.cells.values()].map((c) => {
      const n = this.countOf(c.id);
      const pct = Math.min(100, (n / (CAP * 1.5)) * 100);
      const capPct = (CAP / (CAP * 1.5)) * 100;
      const cls = [n > CAP ? "over" : "", n === 0 ? "empty" : "", this.picked.includes(c.id) ? "picked" : ""].join(" ");
      const short = String(c.key).split("-").pop();
      return `<li class="${cls}" data-cell="${escapeHtml(c.id)}" data-count="${n}" title="${escapeHtml(c.key)}${n > CAP ? " · " + escapeHtml(t("count.over", { cap: CAP })) : ""}">
        <span class="name"><span class="dot" style="background:${c.colour}"></span> ${escapeHtml(short)}</span>
        <span class="bar"><i style="width:${pct}%"></i><b style="left:${capPct}%"></b></span>
        <span class="n">${n}</span><span class="lock">${c.locked ? "🔒" : ""}</span></li>`;
    });
    ol.innerHTML = rows.join("");
    for (const li of ol.querySelectorAll("li")) {
      li.addEventListener("click", () => {
        const id = li.dataset.cell;
        if (this.picked.includes(id)) this.picked = this.picked.filter((x) => x !== id);
        else this.picked = [...this.picked.slice(-1), id];
        const layer = this.findCellLayer(id);
        if (layer) this.map.fitBounds(layer.getBounds(), { maxZoom: this.map.getZoom(), padding: [80, 80] });
        this.renderAll();
      });
    }
  }

  findCellLayer(id) {
    let found = null;
    this.cellLayer.eachLayer((l) => l.feature.id === id && (found = l));
    return found;
  }

  renderValidation() {
    const ul = $("validation");
    if (!this.validationIssues) {
      ul.innerHTML = "";
      return;
    }
    if (!this.validationIssues.length) {
      ul.innerHTML = `<li class="ok">✓ ${escapeHtml(t("planner.validation.ok"))}</li>`;
      return;
    }
    ul.innerHTML = this.validationIssues
      .map((v, i) => {
        const rule = v.rule || v.code || "unknown";
        const label = t(`rule.${rule}`) === `rule.${rule}` ? rule : t(`rule.${rule}`);
        const what = (v.objects || []).map((o) => o.key || o.code || o.id).join("、");
        return `<li data-i="${i}" title="${escapeHtml(v.message || "")}"><span class="rule">${escapeHtml(label)}</span><span>${escapeHtml(what)}</span></li>`;
      })
      .join("");
    for (const li of ul.querySelectorAll("li[data-i]")) li.addEventListener("click", () => this.zoomToIssue(this.validationIssues[+li.dataset.i]));
  }
}

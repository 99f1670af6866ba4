// The planner's view: pick a plan, edit one micro-grid at a time, watch the balance.
//
// Edits are local first (households re-assigned, cells locked, the micro-grid boundary
// dragged), each one undoable; Save sends them with the plan's ETag in If-Match.  A 412
// means someone else saved first: the conflict dialog explains and offers a reload.
// Split, merge and re-run are computed by the server, so they save pending edits first.

import { History } from "./history.js";
import { Lasso } from "./lasso.js";
import { toast, errorMessage } from "./dialog.js";
import { escapeHtml, householdCount, CAP, HOUSE_ZOOM } from "./layers.js";
import { t } from "../i18n.js";
import { PlannerEdit } from "./planner-edit.js";
import { PlannerSave, setVillageNames } from "./planner-save.js";
import { PlannerBalance } from "./planner-balance.js";
import { PlannerNotes } from "./planner-notes.js";
import { PlannerQuality } from "./planner-quality.js";
import { planApi, planFromResponse, PALETTE } from "./planner-api.js";

export { planApi };

const L = window.L;
const $ = (id) => document.getElementById(id);

/** Copy the methods of a mixin class onto Planner.prototype (the planner is split by concept). */
function mixin(target, source) {
  for (const name of Object.getOwnPropertyNames(source.prototype)) {
    if (name !== "constructor") Object.defineProperty(target.prototype, name, Object.getOwnPropertyDescriptor(source.prototype, name));
  }
}

export class Planner {
  constructor({ map, layers, user }) {
    this.map = map;
    this.layers = layers;
    // the engine's notes name villages by code: the name goes after it
    setVillageNames((code) => (layers.villageFeatures || []).find((f) => f.properties.code === code)?.properties.name || null);
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
    // (a phone's sheet, app.css: folded to its handle and the Save row, or open)
    $("pp-toggle").addEventListener("click", () => {
      const fold = $("pp-toggle").getAttribute("aria-expanded") === "true";
      $("planner-panel").classList.toggle("folded", fold);
      $("pp-toggle").setAttribute("aria-expanded", String(!fold));
    });
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
    $("notes-kind").addEventListener("change", (e) => {
      this.notesKind = e.target.value;
      this.renderNotes();
    });
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

  /**
   * Show plan `id`.  Choosing the plan already on its way waits for it rather than
   * starting again (which closed a micro-grid opened meanwhile); of two plans chosen in
   * quick succession, the later wins whichever answer comes back first.
   */
  async choosePlan(id) {
    if (!id) return;
    if (this.choosing && this.choosing.id === id) return this.choosing.done;
    if (!this.choosing && this.plan && this.plan.id === id && this.mgLoaded && this.mgLoaded.size) return;
    if (this.history.pending && this.plan && id !== this.plan.id) {
      $("plan-select").value = this.plan.id;
      return toast(t("planner.microgrid.unsaved"), { error: true });
    }
    const seq = (this.chooseSeq = (this.chooseSeq || 0) + 1);
    const done = (async () => {
      let plan;
      try {
        plan = planFromResponse(await planApi.getPlan(id));
      } catch (err) {
        if (seq === this.chooseSeq) toast(errorMessage(err), { error: true });
        return;
      }
      if (seq !== this.chooseSeq) return; // a later choice
      this.plan = plan;
      $("plan-select").value = id;
      this.closeMicrogrid();
      this.mgLayer.clearLayers();
      this.mgLoaded = new Set();
      this.mgGen = (this.mgGen || 0) + 1;
      this.planNotes = null;
      this.registerChanges = null;
      this.notesKind = "";
      this.renderNotes(); // the plan before's list off at once, not until this one's notes come
      this.quality = null;
      this.loadQuality(); // (renders itself when it comes: the whole plan can take a second)
      await Promise.all([this.loadMicrogrids(), this.loadNotes()]);
      this.renderAll();
    })();
    this.choosing = { id, done };
    try {
      await done;
    } finally {
      if (this.choosing && this.choosing.done === done) this.choosing = null;
    }
  }

  async newDraft() {
    // the published plan of the county shown (the plan list holds every county's)
    const county = this.plan && this.plan.county_code;
    const published = (county && this.plans.find((p) => p.status === "published" && p.county_code === county))
      || this.plans.find((p) => p.status === "published");
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
    this.qualityForMicrogrid();
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

}

for (const part of [PlannerEdit, PlannerSave, PlannerBalance, PlannerNotes, PlannerQuality]) mixin(Planner, part);

// The planner's panel: the balance table (every cell against the cap), the validation list
// that zooms to each problem, publishing, and rendering the panel.  Mixed into Planner.

import { openDialog, toast, errorMessage } from "./dialog.js";
import { actionRow, renderRows } from "./actionrow.js";
import { escapeHtml, CAP } from "./layers.js";
import { planApi, planFromResponse } from "./planner-api.js";
import { get } from "./api.js";
import { showRegisterLine } from "./planner-notes.js";
import { t } from "../i18n.js";

const L = window.L;
const $ = (id) => document.getElementById(id);

export class PlannerBalance {
  async validate() {
    if (!this.plan) return;
    try {
      const { data } = await planApi.validate(this.plan.id, this.mg ? this.mg.id : null);
      this.validationIssues = data.problems || [];
      this.validationRegister = data.register_changes ?? null;
      this.clearIssueHighlight();
    } catch (err) {
      return toast(errorMessage(err), { error: true });
    }
    this.renderValidation();
  }

  /** Padding that keeps a fitted object clear of the planner panel on the left. */
  fitPadding(px = 40) {
    const panel = $("planner-panel");
    const mapBox = this.map.getContainer().getBoundingClientRect();
    const left = panel && !panel.hidden ? Math.max(0, panel.getBoundingClientRect().right - mapBox.left) : 0;
    return { paddingTopLeft: [left + px, px], paddingBottomRight: [px, px] };
  }

  /** The outline of the problem's objects on the planner's map (lives and goes with mgLayer). */
  issueHighlight() {
    if (!this.issueLayer) {
      this.issueLayer = L.geoJSON(null, {
        pane: "gg-plan-grid",
        renderer: this.gridRenderer,
        interactive: false,
        // the cell or micro-grid at fault filled red; a village it is measured against only outlined
        style: (f) => (f.properties && f.properties.issue_object === "area"
          ? { color: "#d43c2f", weight: 2, opacity: 0.8, dashArray: "6 4", fill: false }
          : { color: "#d43c2f", weight: 4, opacity: 0.9, dashArray: null, fillColor: "#d43c2f", fillOpacity: 0.12 }),
        // a household at fault: a red ring round its dot
        pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 11, renderer: this.gridRenderer }),
      });
      this.mgLayer.on("add", () => this.issueLayer.addTo(this.map));
      this.mgLayer.on("remove", () => this.map.removeLayer(this.issueLayer));
      if (this.map.hasLayer(this.mgLayer)) this.issueLayer.addTo(this.map);
    }
    return this.issueLayer;
  }

  /** GeoJSON of one object a problem names: from the map if it is there, else from the API. */
  async issueObject(o) {
    if (o.type === "cell") {
      const layer = this.findCellLayer(o.id);
      if (layer) return layer.toGeoJSON();
    }
    if (o.type === "microgrid") {
      let layer = null;
      this.mgLayer.eachLayer((l) => l.feature.id === o.id && (layer = l));
      if (layer) return layer.toGeoJSON();
    }
    if (o.type === "household") {
      const h = this.houses.get(o.id);
      if (h) return h.feature;
      try {
        return (await get(`households/${o.id}`)).data;
      } catch {
        return null;
      }
    }
    if (o.type === "area" || o.type === "village") {
      const code = o.code || o.id;
      return (this.layers.villageFeatures || []).find((f) => f.properties.code === code) || null;
    }
    try {
      const res = o.type === "cell" ? await planApi.cell(o.id) : o.type === "microgrid" ? await planApi.microgrid(o.id) : null;
      return res && res.data.geometry ? res.data : null;
    } catch {
      return null; // an object that no longer exists: nothing to show
    }
  }

  /** Fit the map to the objects a problem names and outline them; its row stays marked. */
  async zoomToIssue(issue) {
    this.flashIssue = issue;
    this.renderValidation();
    this.renderNotes();
    const objects = issue.objects || [];
    const found = await Promise.all(objects.map((o) => this.issueObject(o)));
    const features = found
      .map((f, i) => f && { ...f, properties: { ...(f.properties || {}), issue_object: objects[i].type } })
      .filter(Boolean)
      .reverse(); // the first-named object (the one at fault) drawn last, on top
    if (this.flashIssue !== issue) return; // another row was clicked meanwhile
    const hl = this.issueHighlight();
    hl.clearLayers();
    for (const f of features) hl.addData(f);
    const bounds = hl.getBounds();
    if (bounds.isValid()) this.map.fitBounds(bounds, { maxZoom: 18, animate: false, ...this.fitPadding(60) });
  }

  clearIssueHighlight() {
    this.flashIssue = null;
    if (this.issueLayer) this.issueLayer.clearLayers();
  }

  async publish() {
    if (!this.editable) return;
    if (this.history.pending && !(await this.save())) return;
    // the engine's notes are what a planner should have read before publishing
    const notes = Array.isArray(this.planNotes) ? this.planNotes.filter((n) => !n.acknowledged).length : 0;
    const body = `<p>${escapeHtml(t("planner.publish.confirm"))}</p>` +
      (notes ? `<p class="hint">${escapeHtml(t("planner.publish.notes", { n: notes }))}</p>` : "");
    if (!(await openDialog({ title: t("planner.publish"), body }))) return;
    try {
      await planApi.publish(this.plan.id, this.plan.etag);
      toast(t("planner.published"));
      // the plan as it is now (published, its new ETag): choosePlan() keeps the plan it
      // already shows, so the panel kept a draft's tools on a plan no longer a draft
      this.plan = await planApi.getPlan(this.plan.id).then(planFromResponse, () => ({ ...this.plan, status: "published" }));
      this.renderAll();
      await this.loadPlans(this.plan.id);
      this.renderAll();
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
    this.renderNotes();
    this.renderQuality();
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
    // each row picks its cell (or lets it go), by a click or, on the row, Enter or Space
    renderRows(ol, rows.join(""), "data-cell", () => {
      for (const li of ol.querySelectorAll("li")) {
        actionRow(li, () => {
          const id = li.dataset.cell;
          if (this.picked.includes(id)) this.picked = this.picked.filter((x) => x !== id);
          else this.picked = [...this.picked.slice(-1), id];
          const layer = this.findCellLayer(id);
          if (layer) this.map.fitBounds(layer.getBounds(), { maxZoom: this.map.getZoom(), ...this.fitPadding(80) });
          this.renderAll();
        }, { pressed: this.picked.includes(li.dataset.cell) });
      }
    });
  }

  findCellLayer(id) {
    let found = null;
    this.cellLayer.eachLayer((l) => l.feature.id === id && (found = l));
    return found;
  }

  /** A short name for an object a problem names ("M01-C06", a village's name, a house's number);
   *  the full keys stay in the row's tooltip. */
  objectLabel(o) {
    if (o.type === "area" || o.type === "village") {
      const code = o.code || o.id;
      const v = (this.layers.villageFeatures || []).find((f) => f.properties.code === code);
      return (v && v.properties.name) || code;
    }
    if (o.type === "household") {
      const p = this.houses.get(o.id)?.feature.properties || {};
      const no = p.household_no || "";
      return t("planner.validation.house", { no: no ? no.split("-").pop() : String(o.id).slice(0, 8) });
    }
    return shortKey(o.key || o.code || o.id);
  }

  renderValidation() {
    const ul = $("validation");
    // the register changed since the plan read it: the rules were checked on a plan of
    // the register as it was (the API's register_changes of this validation)
    showRegisterLine("validation", this.validationIssues ? this.validationRegister : null);
    if (!this.validationIssues) {
      ul.innerHTML = "";
      // (a note of the engine's that the planner clicked stays outlined: only a
      // validation problem's outline goes with the list)
      if (!this.flashIssue || this.flashIssue.rule !== undefined) this.clearIssueHighlight();
      return;
    }
    if (!this.validationIssues.length) {
      ul.innerHTML = `<li class="ok">✓ ${escapeHtml(t("planner.validation.ok"))}</li>`;
      return;
    }
    const html = this.validationIssues
      .map((v, i) => {
        const rule = v.rule || v.code || "unknown";
        const label = t(`rule.${rule}`) === `rule.${rule}` ? rule : t(`rule.${rule}`);
        const what = (v.objects || []).map((o) => this.objectLabel(o)).join("、");
        const full = (v.objects || []).map((o) => o.key || o.code || o.id).join("、");
        const active = this.flashIssue === v ? ' class="active"' : "";
        // what to do, where the API says (an empty cell's "fix"), in the planner's language
        const fixKey = `rule.${rule}.fix.${v.fix}`;
        const fix = v.fix && t(fixKey) !== fixKey ? `<span class="fix">${escapeHtml(t(fixKey))}</span>` : "";
        return `<li data-i="${i}"${active} title="${escapeHtml([v.message, full].filter(Boolean).join("\n"))}"><span class="rule">${escapeHtml(label)}</span><span>${escapeHtml(what)}</span>${fix}</li>`;
      })
      .join("");
    // a problem's row zooms to it: a click, or on the row Enter or Space
    renderRows(ul, html, "data-i", () => {
      for (const li of ul.querySelectorAll("li[data-i]")) actionRow(li, () => this.zoomToIssue(this.validationIssues[+li.dataset.i]));
    });
  }
}

/** "431227103001-M04-C02" -> "M04-C02": the village code is the same for everything in view. */
export function shortKey(key) {
  return String(key ?? "").replace(/^\d{9,}-/, "");
}

// The planner's panel: the balance table (every cell against the cap), the validation list
// that zooms to each problem, publishing, and rendering the panel.  Mixed into Planner.

import { openDialog, toast, errorMessage } from "./dialog.js";
import { escapeHtml, CAP } from "./layers.js";
import { planApi } from "./planner-api.js";
import { t } from "../i18n.js";

const L = window.L;
const $ = (id) => document.getElementById(id);

export class PlannerBalance {
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

// 上报问题: click the map to report an issue.  The form (in the side panel) takes the
// category from the catalogue, a description, an optional photo; it shows possible
// duplicates nearby as soon as a category is picked, and after sending, the automatic
// routing (village / micro-grid / cell, the "near a boundary" flag) and the duplicates.

import { get, request } from "./api.js";
import { escapeHtml } from "./layers.js";
import { categoryName, issuePane } from "./issue-layer.js";
import { statusChip, fmtTime } from "./issue-panel.js";
import { uploadPhoto } from "./issue-photos.js";
import { errorMessage, toast } from "./dialog.js";
import { actionRow } from "./actionrow.js";
import { t, onLangChange } from "../i18n.js";

/** A phone as the API takes it: a mobile, or a landline with its area code, (0743)1234567. */
const PHONE = /^\+?[0-9 ()-]{3,20}$/;

const L = window.L;
const $ = (id) => document.getElementById(id);

export class IssueReporter {
  constructor({ map, panel, issues, layer, catalogue, villageName, onReported }) {
    this.map = map;
    this.panel = panel; // SidePanel
    this.issues = issues; // IssuePanel
    this.layer = layer; // IssueLayer
    this.catalogue = catalogue;
    this.villageName = villageName || ((c) => c);
    this.onReported = onReported || (() => {});
    this.active = false;
    this.point = null;
    this.marker = null;
    this.onClick = (e) => this.pick(e.latlng);
    this.onKey = (e) => e.key === "Escape" && this.active && !document.querySelector("dialog[open]") && this.stop();
    $("iss-report").addEventListener("click", () => (this.active ? this.stop() : this.start()));
    // (on a phone there is no Esc, and the report button is behind the cards' toggle)
    $("report-hint-cancel").addEventListener("click", () => this.stop());
    onLangChange(() => this.relabel());
  }

  /** After a language switch (which gave the button its idle label back): the button
   * and an open form in the new language, with what was typed and picked kept. */
  relabel() {
    if (this.active) $("iss-report").textContent = t("issues.report.cancel");
    const form = $("report-form");
    if (!this.formOpen || !form) return;
    const kept = ["category", "description", "priority", "address", "contact_name", "contact_phone"].map((n) => [n, form.elements[n].value]);
    const photos = form.elements.photo.files;
    this.renderForm();
    const again = $("report-form");
    for (const [n, v] of kept) again.elements[n].value = v;
    if (photos && photos.length) again.elements.photo.files = photos;
    this.checkDuplicates();
  }

  start() {
    this.active = true;
    document.body.classList.add("reporting");
    $("iss-report").classList.add("active");
    $("iss-report").textContent = t("issues.report.cancel");
    $("report-hint").hidden = false;
    this.map.on("click", this.onClick);
    document.addEventListener("keydown", this.onKey);
  }

  /** Leave report mode; `keepPanel` leaves the side panel as it is (the result view). */
  stop({ keepPanel = false } = {}) {
    if (!this.active && !this.marker) return;
    this.active = false;
    document.body.classList.remove("reporting");
    $("iss-report").classList.remove("active");
    $("iss-report").textContent = t("issues.report");
    $("report-hint").hidden = true;
    this.map.off("click", this.onClick);
    document.removeEventListener("keydown", this.onKey);
    if (this.marker) this.map.removeLayer(this.marker);
    this.marker = null;
    this.point = null;
    if (!keepPanel && this.formOpen) {
      this.formOpen = false;
      this.panel.close();
    }
  }

  pick(latlng) {
    this.point = latlng;
    const icon = L.divIcon({ className: "issue-icon", html: '<div class="im new"><span class="im-ring"></span><span class="im-pin"></span></div>', iconSize: [28, 34], iconAnchor: [14, 32] });
    if (this.marker) this.marker.setLatLng(latlng);
    else this.marker = L.marker(latlng, { icon, pane: issuePane(this.map), interactive: false, zIndexOffset: 2000 }).addTo(this.map);
    if (this.formOpen && $("report-form")) {
      $("report-point").textContent = fmtPoint(latlng);
      this.checkDuplicates();
    } else {
      this.renderForm();
    }
  }

  renderForm() {
    this.formOpen = true;
    this.panel.stack = [];
    const cats = this.catalogue.categories || [];
    this.panel.show(
      t("report.title"),
      `<form id="report-form" class="report-form" novalidate>
        <label><span>${escapeHtml(t("report.point"))}</span>
          <span class="pt"><b id="report-point">${escapeHtml(fmtPoint(this.point))}</b><em>${escapeHtml(t("report.point.hint"))}</em></span></label>
        <label><span>${escapeHtml(t("report.category"))}</span>
          <select name="category" id="report-category" required>
            <option value="">${escapeHtml(t("report.category.pick"))}</option>
            ${cats.map((c) => `<option value="${escapeHtml(c.code)}">${escapeHtml(t("report.category.opt", { name: categoryName(c), days: c.deadline_days, level: t(`level.${c.level}`) }))}</option>`).join("")}
          </select></label>
        <label><span>${escapeHtml(t("report.description"))}</span>
          <textarea name="description" id="report-description" maxlength="4000" rows="4" placeholder="${escapeHtml(t("report.description.placeholder"))}"></textarea></label>
        <div class="two">
          <label><span>${escapeHtml(t("report.priority"))}</span>
            <select name="priority" id="report-priority">
              ${["normal", "high", "urgent", "low"].map((p) => `<option value="${p}">${escapeHtml(t(`priority.${p}`))}</option>`).join("")}
            </select></label>
          <label><span>${escapeHtml(t("report.address"))}</span><input name="address" id="report-address" maxlength="500"></label>
        </div>
        <div class="two">
          <label><span>${escapeHtml(t("report.contact_name"))}</span><input name="contact_name" id="report-contact-name" maxlength="100" autocomplete="off"></label>
          <label><span>${escapeHtml(t("report.contact_phone"))}</span><input name="contact_phone" id="report-contact-phone" type="tel" maxlength="20" autocomplete="off"></label>
        </div>
        <p class="hint">${escapeHtml(t("report.contact.hint"))}</p>
        <label><span>${escapeHtml(t("report.photo"))}</span><input type="file" name="photo" id="report-photo" accept="image/*"></label>
        <div class="dups" id="report-dups" hidden></div>
        <p class="error" id="report-error" role="alert" hidden></p>
        <div class="row"><button type="submit" class="btn wide" id="report-submit">${escapeHtml(t("report.submit"))}</button></div>
      </form>`,
    );
    $("report-category").addEventListener("change", () => this.checkDuplicates());
    $("report-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
  }

  async checkDuplicates() {
    const box = $("report-dups");
    const category = $("report-category") && $("report-category").value;
    if (!box || !category || !this.point) {
      if (box) box.hidden = true;
      return;
    }
    const at = this.point;
    let found;
    try {
      ({ data: found } = await get("issues/duplicates", { category, lon: at.lng.toFixed(7), lat: at.lat.toFixed(7) }));
    } catch {
      return;
    }
    if (this.point !== at || !$("report-dups")) return;
    this.renderDuplicates(box, found);
  }

  renderDuplicates(box, found) {
    box.hidden = false;
    box.innerHTML = `<div class="section-title">${escapeHtml(t("report.duplicates"))}</div>` +
      (found.length
        ? `<ul class="dup-list">${found.map((d) => `<li data-issue="${escapeHtml(d.issue_id)}">${statusChip(d.status)}<span>#${escapeHtml(String(d.issue_id).slice(-6))}</span><span class="sub">${escapeHtml(t("report.duplicate.item", { m: Math.round(d.distance_m), date: fmtTime(d.reported_at, { date: true }) }))}</span></li>`).join("")}</ul>`
        : `<p class="hint">${escapeHtml(t("report.duplicates.none"))}</p>`);
    for (const li of box.querySelectorAll("[data-issue]")) actionRow(li, () => this.issues.openIssue(li.dataset.issue, { push: true }));
  }

  async submit() {
    const form = $("report-form");
    const v = Object.fromEntries(new FormData(form).entries());
    const err = $("report-error");
    const fail = (msg) => {
      err.textContent = msg;
      err.hidden = false;
    };
    err.hidden = true;
    if (!v.category) return fail(t("report.need.category"));
    if (!(v.description || "").trim()) return fail(t("report.need.description"));
    const phone = (v.contact_phone || "").trim();
    if (phone && !PHONE.test(phone)) return fail(t("report.need.phone"));
    const btn = $("report-submit");
    btn.disabled = true;
    btn.textContent = t("report.busy");
    const body = { category: v.category, lon: +this.point.lng.toFixed(7), lat: +this.point.lat.toFixed(7), description: v.description.trim(), priority: v.priority || "normal" };
    if ((v.address || "").trim()) body.address = v.address.trim();
    // the resident who raised it: the answer goes to them, and their phone (masked to
    // others) is whom the issue is of in the statistics
    if ((v.contact_name || "").trim()) body.contact_name = v.contact_name.trim();
    if (phone) body.contact_phone = phone;
    let f;
    try {
      ({ data: f } = await request("POST", "issues", { json: body }));
    } catch (ex) {
      btn.disabled = false;
      btn.textContent = t("report.submit");
      // 403: the point is outside the reporter's part of the grid (the API says so in
      // English only, naming the village by code)
      if (ex.status === 403) {
        const m = ex.body && ex.body.message;
        const code = m && m.key === "issue.report_outside_scope" && m.params && m.params.village
          ? [null, String(m.params.village)] : /village (\d{6,})/.exec(ex.detail || "");
        return fail(code ? t("report.outside.village", { village: this.villageName(code[1]) }) : t("report.outside"));
      }
      return fail(errorMessage(ex));
    }
    let photoError = null;
    if (v.photo && v.photo.size) {
      try {
        await uploadPhoto(f.id, v.photo, "report");
      } catch (ex) {
        photoError = ex;
      }
    }
    this.formOpen = false;
    this.stop({ keepPanel: true });
    this.layer.upsert(f);
    this.layer.select(f.id);
    this.renderResult(f, photoError);
    toast(t("report.done"));
    this.onReported(f);
  }

  renderResult(f, photoError) {
    const p = f.properties;
    const cat = (this.catalogue.categories || []).find((c) => c.code === p.category);
    this.panel.stack = [() => this.renderResult(f, photoError)];
    this.panel.show(
      t("report.title"),
      `<p class="notice ok" id="report-done">✓ ${escapeHtml(t("report.done"))}</p>
       ${photoError ? `<p class="error">${escapeHtml(t("report.photo.failed", { msg: errorMessage(photoError) }))}</p>` : ""}
       <div class="iss-head">${statusChip(p.status)}<b>${escapeHtml(categoryName(cat) || p.category_name)}</b><span class="iss-id">#${escapeHtml(String(f.id).slice(-6))}</span></div>
       <div class="section-title">${escapeHtml(t("report.routing"))}</div>
       <div class="routing" id="report-routing" data-cell="${escapeHtml(p.cell_key || "")}" data-near="${p.near_boundary ? "1" : "0"}">
         <div><span>${escapeHtml(t("issue.village"))}</span><b>${escapeHtml(this.villageName(p.village_code) || "—")}</b></div>
         <div><span>${escapeHtml(t("issue.microgrid"))}</span><b>${escapeHtml(p.microgrid_key || "—")}</b></div>
         <div><span>${escapeHtml(t("issue.cell"))}</span><b>${escapeHtml(p.cell_key || "—")}</b></div>
         <div><span>${escapeHtml(t("issue.level"))}</span><b>${escapeHtml(t(`level.${p.level}`))}</b></div>
         <div><span>${escapeHtml(t("issue.due"))}</span><b>${escapeHtml(fmtTime(p.due_at))}</b></div>
       </div>
       ${p.near_boundary ? `<p class="notice warn" id="report-near-boundary">⚠ ${escapeHtml(t("issue.near_boundary", { m: Math.round(p.boundary_distance_m ?? 0) }))}${(p.alternatives || []).length ? "<br>" + escapeHtml(t("issue.alternatives", { keys: p.alternatives.join("、") })) : ""}</p>` : ""}
       <div class="dups" id="report-result-dups"></div>
       <div class="row"><button type="button" class="btn wide" id="report-open">${escapeHtml(t("report.open"))}</button></div>`,
    );
    this.renderDuplicates($("report-result-dups"), p.possible_duplicates || []);
    $("report-open").addEventListener("click", () => this.issues.openIssue(f.id, { push: true }));
  }
}

function fmtPoint(ll) {
  return ll ? `${ll.lng.toFixed(6)}, ${ll.lat.toFixed(6)}` : "—";
}

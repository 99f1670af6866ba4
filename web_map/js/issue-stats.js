// Issue statistics and the CSV export, for those who read issues (cadres at every level,
// admins): the summary of their scope (totals, open, overdue, the on-time share, the
// median time to close) and the counts by village, category and status
// (GET /issues/stats, exact for them), and the export of their issues as a CSV that
// Excel opens (GET /issues/export.csv, audited; no contact in it).  Opened from the
// issue card's 统计与导出 button into the side panel.

import { get, getBlob } from "./api.js";
import { toast, errorMessage } from "./dialog.js";
import { escapeHtml } from "./layers.js";
import { categoryName } from "./issue-layer.js";
import { statusChip } from "./issue-panel.js";
import { t } from "../i18n.js";

const $ = (id) => document.getElementById(id);

/** Today's date in China (the export's file name). */
function chinaToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

export class IssueStats {
  /** `panel` the SidePanel; `catalogue` /issues/catalogue; `villageName(code)` a display name. */
  constructor({ panel, catalogue, villageName }) {
    this.panel = panel;
    this.catalogue = catalogue || { categories: [] };
    this.villageName = villageName || ((c) => c);
  }

  async open() {
    this.panel.stack = [() => this.open()];
    this.panel.loading(t("stats.title"));
    let answers;
    try {
      answers = await Promise.all(["village_code", "category", "status"].map((by) => get("issues/stats", { by })));
    } catch (err) {
      this.panel.show(t("stats.title"), `<p class="error">${escapeHtml(errorMessage(err))}</p>`);
      return;
    }
    const [byVillage, byCategory, byStatus] = answers.map((a) => a.data);
    const s = byStatus.summary || {};
    const num = (v) => (v === null || v === undefined ? "—" : String(v));
    const share = s.on_time_share === null || s.on_time_share === undefined ? "—" : `${Math.round(s.on_time_share * 1000) / 10}%`;
    const median = s.median_hours_to_close === null || s.median_hours_to_close === undefined
      ? "—" : t("stats.median.value", { h: Math.round(s.median_hours_to_close * 10) / 10 });
    const cat = (code) => categoryName((this.catalogue.categories || []).find((c) => c.code === code)) || code;
    const rows = (data, key, name) => (data.counts || [])
      .slice()
      .sort((a, b) => b.count - a.count)
      .map((r) => `<tr data-${key.replace("_", "-")}="${escapeHtml(r[key])}"><td>${name(r[key])}</td><td class="n">${escapeHtml(String(r.count))}</td></tr>`)
      .join("");
    const table = (id, title, body) => `<div class="section-title">${escapeHtml(title)}</div>
      <table class="stats" id="${id}"><tbody>${body || `<tr><td colspan="2" class="hint">—</td></tr>`}</tbody></table>`;
    const html = `
      <dl class="fields" id="stats-summary">
        <dt>${escapeHtml(t("stats.total"))}</dt><dd data-k="total">${num(s.total)}</dd>
        <dt>${escapeHtml(t("stats.open"))}</dt><dd data-k="open">${num(s.open)}</dd>
        <dt>${escapeHtml(t("stats.overdue"))}</dt><dd data-k="overdue" class="${s.overdue ? "late" : ""}">${num(s.overdue)}</dd>
        <dt>${escapeHtml(t("stats.closed"))}</dt><dd data-k="closed">${num(s.closed)}</dd>
        <dt>${escapeHtml(t("stats.on_time"))}</dt><dd data-k="on_time_share">${escapeHtml(share)}</dd>
        <dt>${escapeHtml(t("stats.median"))}</dt><dd data-k="median_hours_to_close">${escapeHtml(median)}</dd>
      </dl>
      ${table("stats-by-village", t("stats.by.village"), rows(byVillage, "village_code", (c) => escapeHtml(c ? this.villageName(c) : "—")))}
      ${table("stats-by-category", t("stats.by.category"), rows(byCategory, "category", (c) => escapeHtml(cat(c))))}
      ${table("stats-by-status", t("stats.by.status"), rows(byStatus, "status", (c) => statusChip(c)))}
      <button type="button" class="btn wide" id="stats-export">${escapeHtml(t("stats.export"))}</button>
      <p class="hint">${escapeHtml(t("stats.export.hint"))}</p>`;
    this.panel.show(t("stats.title"), html);
    $("stats-export").addEventListener("click", () => this.exportCsv());
  }

  /** Download the scope's issues as CSV (UTF-8 with BOM, for Excel), as the API gives it. */
  async exportCsv() {
    const button = $("stats-export");
    if (button) button.disabled = true;
    try {
      const blob = await getBlob("issues/export.csv");
      const name = `issues-${chinaToday()}.csv`;
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
      toast(t("stats.export.done", { file: name }));
    } catch (err) {
      toast(errorMessage(err), { error: true });
    } finally {
      if (button) button.disabled = false;
    }
  }
}

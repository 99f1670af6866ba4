// Issue statistics and the CSV export, opened from the issue card's 统计与导出 button
// into the side panel: the summary of the caller's scope (totals, open, overdue, the
// on-time share, the median time to close), the counts by village, category and status,
// and the trend by day, week or month (GET /issues/stats), for a period of report time
// in China time: all, this or last week, this or last month, the last 30 days, this
// year, or days of one's choosing.
//
// Cadres (every level) and admins read the issues they count: their figures are exact,
// and they may export the period's issues as a CSV that Excel opens (GET
// /issues/export.csv, audited; no contact in it).
//
// Analysts read no issue (geogrid/api/issuestats.py): their figures come rounded to a
// multiple of `rounded_to` (said 约 N), a row of fewer than five households or people
// is not given but summed as `withheld` (said as withheld, never as 0), issues of small
// places are `suppressed` (by place, of every period), time is told by week at the
// finest (no day trend) and the period is widened to whole weeks, which the panel says
// as the API applied it.  No export.

import { get, getBlob } from "./api.js";
import { toast, errorMessage } from "./dialog.js";
import { escapeHtml } from "./layers.js";
import { categoryName } from "./issue-layer.js";
import { statusChip } from "./issue-panel.js";
import { disclosure } from "./disclosure.js";
import { t } from "../i18n.js";

const $ = (id) => document.getElementById(id);

/** The periods offered, in the order of the menu. */
export const PRESETS = ["all", "this_week", "last_week", "this_month", "last_month", "last_30", "this_year", "custom"];
/** The trend's steps; analysts are told weeks at the finest. */
const STEPS = ["day", "week", "month"];
/** The most steps the trend lists (the latest ones). */
const MAX_STEPS = 120;

// --- calendar days as "YYYY-MM-DD" text (China's days; arithmetic in UTC, where a day is 24 h)
const DAY_MS = 86_400_000;
const toMs = (d) => Date.UTC(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10));
const fromMs = (ms) => new Date(ms).toISOString().slice(0, 10);
const addDays = (d, n) => fromMs(toMs(d) + n * DAY_MS);
const monday = (d) => addDays(d, -((new Date(toMs(d)).getUTCDay() + 6) % 7));
const monthStart = (d) => `${d.slice(0, 8)}01`;
function addMonths(d, n) {
  const x = new Date(toMs(monthStart(d)));
  x.setUTCMonth(x.getUTCMonth() + n);
  return fromMs(x.getTime());
}

/** Today's date in China (the periods' and the export's days). */
export function chinaToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

/**
 * `{since, until}` of a preset (`until` the day after the last, as the API takes it),
 * China's days around `today`; both null for "all".
 */
export function presetRange(preset, today = chinaToday()) {
  switch (preset) {
    case "this_week": return { since: monday(today), until: addDays(monday(today), 7) };
    case "last_week": return { since: addDays(monday(today), -7), until: monday(today) };
    case "this_month": return { since: monthStart(today), until: addMonths(today, 1) };
    case "last_month": return { since: addMonths(today, -1), until: monthStart(today) };
    case "last_30": return { since: addDays(today, -29), until: addDays(today, 1) };
    case "this_year": return { since: `${today.slice(0, 4)}-01-01`, until: `${+today.slice(0, 4) + 1}-01-01` };
    default: return { since: null, until: null };
  }
}

/** The first day of the step (day, week, month) holding `d`, as the API labels it. */
const stepStart = (step, d) => (step === "week" ? monday(d) : step === "month" ? monthStart(d) : d);
const nextStep = (step, d) => (step === "week" ? addDays(d, 7) : step === "month" ? addMonths(d, 1) : addDays(d, 1));

export class IssueStats {
  /**
   * `panel` the SidePanel; `catalogue` /issues/catalogue; `villageName(code)` a display
   * name; `exact` whether the user reads issues (cadres, admins: exact figures and the
   * export) or not (analysts: rounded and withheld figures, no export).
   */
  constructor({ panel, catalogue, villageName, exact = true }) {
    this.panel = panel;
    this.catalogue = catalogue || { categories: [] };
    this.villageName = villageName || ((c) => c);
    this.exact = exact;
    this.preset = "all";
    this.custom = { from: "", to: "" };
    this.step = "week";
    this.applied = { since: null, until: null };
    this.seq = 0;
  }

  /** `{since, until}` asked for (`until` exclusive), or null when the custom days are not valid. */
  requested() {
    if (this.preset !== "custom") return presetRange(this.preset);
    const { from, to } = this.custom;
    if (!from || !to || from > to) return null;
    return { since: from, until: addDays(to, 1) };
  }

  async open() {
    this.panel.stack = [() => this.open()];
    const today = chinaToday();
    const option = (value, label, selected) =>
      `<option value="${value}"${selected ? " selected" : ""}>${escapeHtml(label)}</option>`;
    const presets = PRESETS.map((p) => option(p, t(`stats.period.${p}`), p === this.preset)).join("");
    const html = `
      <div class="stats-controls">
        <label><span>${escapeHtml(t("stats.period"))}</span><select id="stats-preset">${presets}</select></label>
        <div class="stats-custom" id="stats-custom"${this.preset === "custom" ? "" : " hidden"}>
          <label><span>${escapeHtml(t("stats.from"))}</span><input type="date" id="stats-from" max="${today}" value="${escapeHtml(this.custom.from)}"></label>
          <label><span>${escapeHtml(t("stats.to"))}</span><input type="date" id="stats-to" max="${today}" value="${escapeHtml(this.custom.to)}"></label>
          <button type="button" class="btn small" id="stats-apply">${escapeHtml(t("stats.apply"))}</button>
        </div>
      </div>
      <div id="stats-body"><p class="hint">${escapeHtml(t("panel.loading"))}</p></div>
      ${this.exact ? `<button type="button" class="btn wide" id="stats-export">${escapeHtml(t("stats.export"))}</button>
      <p class="hint" id="stats-export-hint">${escapeHtml(t("stats.export.hint"))}</p>` : ""}`;
    this.panel.show(t("stats.title"), html);
    $("stats-preset").addEventListener("change", (e) => {
      this.preset = e.target.value;
      $("stats-custom").hidden = this.preset !== "custom";
      if (this.preset === "custom") {
        // start from the period shown, so that a cadre adjusts it rather than types it
        if (!this.custom.from || !this.custom.to) {
          const shown = this.applied.since ? this.applied : presetRange("this_month");
          this.custom = { from: shown.since, to: addDays(shown.until, -1) > today ? today : addDays(shown.until, -1) };
          $("stats-from").value = this.custom.from;
          $("stats-to").value = this.custom.to;
        }
        $("stats-from").focus();
      }
      // the figures (and the export) are always those of the period the menu says
      this.load();
    });
    $("stats-apply").addEventListener("click", () => {
      this.custom = { from: $("stats-from").value, to: $("stats-to").value };
      this.load();
    });
    if (this.exact) $("stats-export").addEventListener("click", () => this.exportCsv());
    await this.load();
  }

  /** Ask the API for the period's figures and draw them in #stats-body. */
  async load() {
    const body = $("stats-body");
    if (!body) return;
    const range = this.requested();
    if (!range) {
      body.innerHTML = `<p class="error" id="stats-bad-range">${escapeHtml(t("stats.custom.invalid"))}</p>`;
      return;
    }
    const seq = ++this.seq;
    body.innerHTML = `<p class="hint">${escapeHtml(t("panel.loading"))}</p>`;
    const params = {};
    if (range.since) params.since = range.since;
    if (range.until) params.until = range.until;
    let answers;
    try {
      answers = await Promise.all([
        ...["village_code", "category", "status"].map((by) => get("issues/stats", { ...params, by })),
        // by nothing, per step: the trend of all issues (an empty `by` in the path, as
        // get() leaves empty parameters out and the API's default is by status)
        get("issues/stats?by=", { ...params, period: this.step }),
      ]);
    } catch (err) {
      if (seq === this.seq && $("stats-body")) {
        $("stats-body").innerHTML = `<p class="error">${escapeHtml(errorMessage(err))}</p>`;
      }
      return;
    }
    if (seq !== this.seq || !$("stats-body")) return; // another period was asked for since
    const [byVillage, byCategory, byStatus, trend] = answers.map((a) => a.data);
    // the days the API counted: an analyst's period is widened to whole weeks
    this.applied = { since: byStatus.since || null, until: byStatus.until || null };
    $("stats-body").innerHTML = this.render(range, byVillage, byCategory, byStatus, trend);
    const step = $("stats-step");
    if (step) step.addEventListener("change", (e) => {
      this.step = e.target.value;
      this.load();
    });
  }

  /** The period's words: the days counted, and for an analyst how they were widened. */
  rangeText(range) {
    const { since, until } = this.applied;
    if (!since && !until) return escapeHtml(t("stats.range.all"));
    const last = until ? addDays(until, -1) : null;
    let text = since && last ? t("stats.range", { since, until: last })
      : since ? t("stats.range.since", { since }) : t("stats.range.until", { until: last });
    text = escapeHtml(text);
    if (!this.exact && (since !== range.since || until !== range.until)) {
      text += `<br><span id="stats-widened">${escapeHtml(t("stats.range.widened"))}</span>`;
    }
    return text;
  }

  /** A count as the user is told it: exact, or 约 N for a rounded one. */
  num(v) {
    if (v === null || v === undefined) return "—";
    return this.exact ? String(v) : t("stats.about", { n: v });
  }

  render(range, byVillage, byCategory, byStatus, trend) {
    const exact = this.exact;
    const k = disclosure.minBin || 5;
    const s = byStatus.summary || {};
    // an analyst's summary: all of it withheld, or the figures the API names
    const summaryWithheld = !exact && s.total === null;
    const held = new Set(exact ? [] : summaryWithheld ? Object.keys(s) : byStatus.summary_withheld || []);
    const withheldWord = escapeHtml(t("stats.withheld.value"));
    const count = (key) => (held.has(key) ? withheldWord : escapeHtml(this.num(s[key])));
    const share = held.has("on_time_share") ? withheldWord : s.on_time_share === null || s.on_time_share === undefined
      ? "—" : escapeHtml(`${Math.round(s.on_time_share * 1000) / 10}%`);
    const median = held.has("median_hours_to_close") ? withheldWord
      : s.median_hours_to_close === null || s.median_hours_to_close === undefined
        ? "—" : escapeHtml(t("stats.median.value", { h: Math.round(s.median_hours_to_close * 10) / 10 }));
    const cat = (code) => categoryName((this.catalogue.categories || []).find((c) => c.code === code)) || code;
    const village = (c) => escapeHtml(c ? this.villageName(c) : t("stats.no_village"));
    const table = (id, title, data, key, name) => {
      const attr = `data-${key.replace("_", "-")}`;
      const rows = (data.counts || []).slice().sort((a, b) => b.count - a.count)
        .map((r) => `<tr ${attr}="${escapeHtml(r[key] ?? "")}"><td>${name(r[key])}</td><td class="n">${escapeHtml(this.num(r.count))}</td></tr>`);
      // an analyst's rows of too few households or people, summed by place: withheld, not 0
      for (const w of data.withheld || []) {
        const label = key === "village_code"
          ? t("stats.withheld.village", { name: (w.village_code && this.villageName(w.village_code)) || t("stats.no_village"), k })
          : t("stats.withheld.rows", { k });
        rows.push(`<tr class="withheld" data-withheld="${escapeHtml(w.village_code ?? "")}"><td>${escapeHtml(label)}</td><td class="n">${escapeHtml(this.num(w.count))}</td></tr>`);
      }
      const body = rows.join("") || `<tr><td colspan="2" class="hint">${escapeHtml(t(exact ? "stats.none" : "stats.none.analyst", { k }))}</td></tr>`;
      return `<div class="section-title">${escapeHtml(title)}</div><table class="stats" id="${id}"><tbody>${body}</tbody></table>`;
    };
    // issues of small places (an analyst's), by village: of every period, exact
    const suppressed = exact ? [] : byVillage.suppressed || [];
    const suppressedTotal = suppressed.reduce((n, r) => n + r.count, 0);
    const suppressedNote = suppressedTotal
      ? `<p class="hint withheld-note" id="stats-suppressed">${escapeHtml(t("stats.suppressed", {
        n: suppressedTotal, k,
        where: suppressed.map((r) => `${(r.village_code && this.villageName(r.village_code)) || t("stats.no_village")} ${r.count}`).join(t("stats.list.sep")),
      }))}</p>` : "";
    return `
      <p class="hint stats-range" id="stats-range">${this.rangeText(range)}</p>
      ${exact ? "" : `<p class="hint" id="stats-rounded">${escapeHtml(t("stats.rounded", { r: byStatus.rounded_to || 5, k }))}</p>`}
      <dl class="fields" id="stats-summary" data-withheld="${summaryWithheld ? "1" : ""}">
        <dt>${escapeHtml(t("stats.total"))}</dt><dd data-k="total">${count("total")}</dd>
        <dt>${escapeHtml(t("stats.open"))}</dt><dd data-k="open">${count("open")}</dd>
        <dt>${escapeHtml(t("stats.overdue"))}</dt><dd data-k="overdue" class="${s.overdue && !held.has("overdue") ? "late" : ""}">${count("overdue")}</dd>
        <dt>${escapeHtml(t("stats.closed"))}</dt><dd data-k="closed">${count("closed")}</dd>
        <dt>${escapeHtml(t("stats.on_time"))}</dt><dd data-k="on_time_share">${share}</dd>
        <dt>${escapeHtml(t("stats.median"))}</dt><dd data-k="median_hours_to_close">${median}</dd>
      </dl>
      ${summaryWithheld ? `<p class="hint withheld-note" id="stats-summary-withheld">${escapeHtml(t("stats.summary.withheld", { k }))}</p>`
        : held.size ? `<p class="hint withheld-note" id="stats-summary-some-withheld">${escapeHtml(t("stats.summary.some_withheld", { k }))}</p>` : ""}
      ${this.renderTrend(trend)}
      ${table("stats-by-village", t("stats.by.village"), byVillage, "village_code", village)}
      ${table("stats-by-category", t("stats.by.category"), byCategory, "category", (c) => escapeHtml(cat(c)))}
      ${table("stats-by-status", t("stats.by.status"), byStatus, "status", (c) => statusChip(c))}
      ${suppressedNote}`;
  }

  /** The trend: one row per day, week or month of the period, with a bar. */
  renderTrend(trend) {
    const exact = this.exact;
    const step = trend.period || this.step;
    const k = disclosure.minBin || 5;
    const given = new Map((trend.counts || []).map((r) => [r.period, r.count]));
    const labels = [...given.keys()].sort();
    const today = chinaToday();
    // from the period's first day (else the first issue's) to its last day, today at the latest
    const first = this.applied.since || labels[0];
    let last = this.applied.until ? addDays(this.applied.until, -1) : labels[labels.length - 1];
    if (last && last > today) last = today;
    const steps = [];
    if (first && last && first <= last) {
      for (let d = stepStart(step, first); d <= last; d = nextStep(step, d)) steps.push(d);
    }
    const cut = steps.length > MAX_STEPS;
    const shown = cut ? steps.slice(-MAX_STEPS) : steps;
    const max = Math.max(1, ...given.values());
    const label = (d) => {
      // the days of the step inside the period (a week cut by the month's first day says so)
      const a = first && d < first ? first : d;
      let b = addDays(nextStep(step, d), -1);
      if (last && b > last) b = last;
      if (step === "month" && a === d && b === addDays(nextStep(step, d), -1)) return d.slice(0, 7);
      if (step === "day" || a === b) return a.slice(5);
      return `${a.slice(5)}–${b.slice(5)}`;
    };
    const rows = shown.map((d) => {
      const n = given.get(d);
      const has = n !== undefined;
      // an analyst's step not given is withheld or empty: never drawn as 0
      const value = has ? this.num(n) : exact ? "0" : "—";
      const width = has ? Math.max(2, Math.round((n / max) * 100)) : 0;
      return `<tr data-period="${d}"${!has && !exact ? ' class="withheld"' : ""}><td class="p">${escapeHtml(label(d))}</td>` +
        `<td class="bar"><span style="width:${width}%"></span></td><td class="n">${escapeHtml(value)}</td></tr>`;
    }).join("");
    const withheld = (trend.withheld || []).reduce((n, r) => n + r.count, 0);
    const options = STEPS.filter((x) => exact || x !== "day")
      .map((x) => `<option value="${x}"${x === step ? " selected" : ""}>${escapeHtml(t(`stats.step.${x}`))}</option>`).join("");
    const none = t(exact ? "stats.none" : "stats.none.analyst", { k });
    return `<div class="section-title row stats-trend-title"><span>${escapeHtml(t("stats.trend"))}</span>
        <select id="stats-step" aria-label="${escapeHtml(t("stats.trend.step"))}">${options}</select></div>
      <table class="stats trend" id="stats-trend"><tbody>${rows || `<tr><td colspan="3" class="hint">${escapeHtml(none)}</td></tr>`}</tbody></table>
      ${cut ? `<p class="hint">${escapeHtml(t("stats.trend.cut", { n: MAX_STEPS }))}</p>` : ""}
      ${!exact && rows ? `<p class="hint" id="stats-trend-note">${escapeHtml(t("stats.trend.withheld", { k }))}${withheld ? ` ${escapeHtml(t("stats.trend.withheld.sum", { n: this.num(withheld) }))}` : ""}</p>` : ""}`;
  }

  /** Download the period's issues as CSV (UTF-8 with BOM, for Excel), as the API gives it. */
  async exportCsv() {
    const button = $("stats-export");
    const range = this.requested();
    if (!range) {
      toast(t("stats.custom.invalid"), { error: true });
      return;
    }
    if (button) button.disabled = true;
    try {
      const params = {};
      if (range.since) params.since = range.since;
      if (range.until) params.until = range.until;
      const blob = await getBlob("issues/export.csv", params);
      const name = range.since && range.until
        ? `issues-${range.since}_${addDays(range.until, -1)}.csv` : `issues-${chinaToday()}.csv`;
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

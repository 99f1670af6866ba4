// The plan's quality figures (GET plans/{id}/quality), measured on the plan as it is
// now: hand edits included.  Against the targets (met or not), and in a draft against
// the published plan (what the edits did: better or worse).  The whole plan within the
// planner's scope, or the open micro-grid's village.  Refreshed when a plan is chosen,
// a micro-grid opened or closed, and after every save.  Mixed into Planner.

import { escapeHtml } from "./layers.js";
import { get } from "./api.js";
import { village as villageLabel } from "./planner-save.js";
import { t } from "../i18n.js";

const $ = (id) => document.getElementById(id);

/** The figures shown, in order: [figure, format, which way is better]. */
export const QUALITY_ROWS = [
  ["households_assigned", "int", 0],
  ["microgrids", "int", 0],
  ["cells", "int", 0],
  ["mean_fill", "pct", 1],
  ["microgrids_within_min_plus_one", "pct", 1],
  ["polsby_popper_median", "dec", 1],
  ["within_cell_msd_m2", "rms", -1],
  ["small_hamlets_unsplit", "pct", 1],
  ["microgrid_area_within_25pct", "pct", 1],
  ["oversize_cells", "int", -1],
];

/** A figure as the panel shows it ("—" for none). */
export function formatFigure(value, format) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (format === "pct") return `${(100 * value).toFixed(1)}%`;
  if (format === "dec") return value.toFixed(3);
  if (format === "rms") return `${Math.sqrt(value).toFixed(1)} m`; // the root of the mean squared distance
  return String(Math.round(value));
}

/** A target as the panel shows it: "≥ 90.0%". */
function targetText(target, format) {
  if (!target) return "";
  return `${target.op === ">=" ? "≥" : "≤"} ${formatFigure(target.value, format)}`;
}

/** The published plan a draft is measured beside: the one it was made from, else its
 *  county's.  (The plans listed are every county's, newest first: the first published
 *  one may be another county's, which holds none of the draft's villages.) */
export function publishedBeside(plan, plans) {
  if (!plan || plan.status !== "draft") return null;
  const published = (plans || []).filter((p) => p.status === "published");
  return published.find((p) => p.id === plan.parent_plan_id)
    || published.find((p) => plan.county_code && p.county_code === plan.county_code)
    || (plan.county_code ? null : published[0])
    || null;
}

export class PlannerQuality {
  /** The figures of the plan (or of the open micro-grid's village) and, in a draft, of
   *  the published plan on the same villages. */
  async loadQuality() {
    const plan = this.plan;
    if (!plan) return;
    const village = this.mg ? String(this.mg.feature.properties.village_code || "") : "";
    const published = publishedBeside(plan, this.plans);
    const params = {};
    if (village) params.village = village;
    if (published) params.compare = published.id;
    const seq = (this.qualitySeq = (this.qualitySeq || 0) + 1);
    this.quality = { loading: true, village };
    this.renderQuality();
    let data = null;
    let error = null;
    try {
      data = (await get(`plans/${plan.id}/quality`, params)).data;
    } catch (err) {
      error = err;
    }
    if (seq !== this.qualitySeq || this.plan !== plan) return; // a later plan, micro-grid or edit
    this.quality = { data, error, village };
    this.renderQuality();
  }

  /** The open micro-grid's village's figures, unless they are those shown. */
  qualityForMicrogrid() {
    const village = this.mg ? String(this.mg.feature.properties.village_code || "") : "";
    if (!this.quality || this.quality.village !== village || this.quality.error) this.loadQuality();
  }

  renderQuality() {
    const box = $("pp-quality");
    if (!box) return;
    box.hidden = !this.plan || !this.quality;
    if (box.hidden) return;
    const { data, error, loading, village } = this.quality;
    $("quality-title").textContent = village
      ? t("planner.quality.village", { village: villageLabel(village) })
      : t("planner.quality.plan");
    const body = $("quality");
    if (loading) {
      body.innerHTML = `<p class="hint">${escapeHtml(t("planner.quality.loading"))}</p>`;
      return;
    }
    if (error || !data) {
      body.innerHTML = `<p class="hint">${escapeHtml(t("planner.quality.failed"))}</p>`;
      return;
    }
    const cmp = data.compare && data.compare.figures && Object.keys(data.compare.figures).length ? data.compare : null;
    const head = `<tr><th></th><th>${escapeHtml(t("planner.quality.this"))}</th>`
      + (cmp ? `<th>${escapeHtml(t("planner.quality.published"))}</th>` : "")
      + `<th>${escapeHtml(t("planner.quality.target"))}</th></tr>`;
    // the plan's own cap, which the labels name ("small hamlets of at most 20")
    const cap = Number((this.plan && this.plan.params && this.plan.params.max_households) || 20);
    const rows = QUALITY_ROWS.filter(([k]) => k in data.figures).map(([k, format, better]) => {
      const v = data.figures[k];
      const target = data.targets[k];
      const met = target ? target.met : null;
      let change = "";
      if (cmp && k in cmp.figures && v !== null && cmp.figures[k] !== null && v !== cmp.figures[k]) {
        const up = v > cmp.figures[k];
        const good = better === 0 ? null : (up === (better > 0));
        change = ` <span class="delta ${good === null ? "" : good ? "better" : "worse"}"`
          + ` title="${escapeHtml(t(good === null ? "planner.quality.changed" : good ? "planner.quality.better" : "planner.quality.worse"))}">`
          + `${up ? "▲" : "▼"}</span>`;
      }
      const mark = met === null ? "" : `<span class="${met ? "met" : "unmet"}" title="${escapeHtml(t(met ? "planner.quality.met" : "planner.quality.unmet"))}">${met ? "✓" : "✗"}</span> `;
      return `<tr data-figure="${escapeHtml(k)}"${met === false ? ' class="unmet"' : ""}>`
        + `<th scope="row">${escapeHtml(t(`planner.quality.figure.${k}`, { cap }))}</th>`
        + `<td>${mark}${escapeHtml(formatFigure(v, format))}${change}</td>`
        + (cmp ? `<td>${escapeHtml(formatFigure(cmp.figures[k], format))}</td>` : "")
        + `<td class="target">${escapeHtml(targetText(target, format))}</td></tr>`;
    });
    const partial = data.whole_villages ? "" : `<p class="hint">${escapeHtml(t("planner.quality.partial"))}</p>`;
    body.innerHTML = `<table class="quality">${head}${rows.join("")}</table>${partial}`;
  }
}

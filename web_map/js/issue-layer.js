// The issue layer: a pin per issue coloured by status, overdue issues ringed in red and
// supervised ones (督办) badged; filters by status, category, overdue and supervised;
// an H3 hotspot layer from /issues/hotspots.  The card #issue-card holds the controls.
// An analyst's hotspots withhold hexagons of fewer than five issues (`suppressed`): they
// are drawn hatched and say so (disclosure.js), never as hexagons of no issue.

import { get } from "./api.js";
import { escapeHtml } from "./layers.js";
import { hexBbox } from "./hexagons.js";
import { fmtBbox } from "./tiles.js";
import { t } from "../i18n.js";
import { disclosure, answeredResolution, withheld, withheldStyle, withheldSwatch } from "./disclosure.js";

const L = window.L;
const $ = (id) => document.getElementById(id);

/**
 * The pane of issue pins: above the area labels (Leaflet's tooltip pane, 650), so that a
 * cell's name never covers a pin or takes the click meant for it; below popups (700).
 */
export function issuePane(map) {
  if (!map.getPane("gg-issues")) map.createPane("gg-issues").style.zIndex = 660;
  return "gg-issues";
}

/** Workflow order, with the colour of each state (legend, pins, chips). */
export const STATUS_COLOURS = {
  reported: "#f08c00",
  accepted: "#1c7ed6",
  dispatched: "#5f3dc4",
  in_progress: "#ae3ec9",
  resolved: "#0ca678",
  verified: "#2b8a3e",
  closed: "#495057",
  rated: "#868e96",
  rejected: "#adb5bd",
};
export const STATUSES = Object.keys(STATUS_COLOURS);
export const FINISHED = new Set(["closed", "rated", "rejected"]);

/** Issues shown per view; beyond it the hint asks to zoom in (hotspots show the rest). */
const PAGE = 1000;

/** H3 resolution of the hotspot layer for a map zoom. */
export function hotspotResolution(zoom) {
  if (zoom <= 9) return 6;
  if (zoom <= 11) return 7;
  if (zoom <= 13) return 8;
  if (zoom <= 15) return 9;
  return 10;
}

const HOT_RAMP = ["#fff3bf", "#ffd8a8", "#ffa94d", "#fd7e14", "#e8590c", "#c92a2a"];
const OVERDUE_OUTLINE = "#c92a2a";

/**
 * Whether a hotspot's issues are withheld: "all", "part" or null (disclosure.js): those of
 * parts of too few households (`suppressed`) and those the filter matches of too few
 * (`withheld`), both issues of fewer than `disclosure.minBin` households or residents.
 */
export function hotWithheld(props) {
  return withheld((props.suppressed ?? 0) + (props.withheld ?? 0), props.issues || 0);
}

/**
 * A hotspot's tooltip.  At the resolution the API withholds (`finest`), a hexagon withheld
 * whole holds fewer than `disclosure.minBin` issues of every status and category; a
 * coarser one holds such parts, and maybe bigger ones none of whose issues matches the
 * filter.
 */
export function hotTooltip(p, finest) {
  const vars = { issues: p.issues ?? 0, open: p.open ?? 0, overdue: p.overdue ?? 0, k: disclosure.minBin };
  const state = hotWithheld(p);
  if (state === "all") return t(finest ? "issues.hotspot.withheld" : "issues.hotspot.withheld.parts", vars);
  return t(state === "part" ? "issues.hotspot.partly" : "issues.hotspot.tip", vars);
}

function debounce(fn, ms) {
  let id;
  return (...a) => {
    clearTimeout(id);
    id = setTimeout(() => fn(...a), ms);
  };
}

/** The pin's HTML: data-* attributes let tests (and CSS) see its state. */
export function pinHtml(p, id, selected = false) {
  const cls = ["im", p.overdue ? "overdue" : "", p.supervised ? "supervised" : "", FINISHED.has(p.status) ? "finished" : "", selected ? "selected" : ""]
    .filter(Boolean)
    .join(" ");
  const badge = p.supervised ? `<b class="im-badge">${escapeHtml(t("issues.badge.supervised"))}</b>` : "";
  return `<div class="${cls}" data-id="${escapeHtml(id)}" data-status="${escapeHtml(p.status)}" style="--c:${STATUS_COLOURS[p.status] || "#868e96"}"><span class="im-ring"></span><span class="im-pin"></span>${badge}</div>`;
}

export class IssueLayer {
  constructor(map, { onClick, onError, canRead = true, canStats = true }) {
    this.map = map;
    this.onClick = onClick;
    this.onError = onError || console.warn;
    this.canRead = canRead;
    this.canStats = canStats;
    this.filters = { statuses: new Set(STATUSES), category: "", overdue: false, supervised: false };
    this.visible = canRead;
    this.hotOn = false;
    /** the resolution the hotspots in view were answered at, and which withheld states they show */
    this.hotResolution = null;
    this.hotWithheld = new Set();
    this.byId = new Map(); // id -> L.Marker
    this.selectedId = null;
    this.gen = 0;
    this.hotGen = 0;
    map.createPane("gg-hot").style.zIndex = 395;
    issuePane(map);
    this.markers = L.layerGroup().addTo(map);
    this.hot = L.geoJSON(null, {
      pane: "gg-hot",
      style: (f) => this.hotStyle(f),
      onEachFeature: (f, layer) =>
        layer.bindTooltip(() => hotTooltip(f.properties, this.hotResolution >= disclosure.resolution), { sticky: true, className: "tip" }),
    });
    this.refresh = debounce(() => this.reload(), 150);
    map.on("moveend", this.refresh);
  }

  // ---- the card ---------------------------------------------------------------------
  /** Fill the status legend/filter and the category list; wire the controls. */
  initCard(catalogue) {
    this.catalogue = catalogue;
    this.renderCard();
    $("iss-show").addEventListener("change", (e) => this.setVisible(e.target.checked));
    $("iss-hot").addEventListener("change", (e) => this.setHotspots(e.target.checked));
    $("iss-category").addEventListener("change", (e) => {
      this.filters.category = e.target.value;
      this.reload();
    });
    $("iss-overdue").addEventListener("change", (e) => {
      this.filters.overdue = e.target.checked;
      this.reload();
    });
    $("iss-supervised").addEventListener("change", (e) => {
      this.filters.supervised = e.target.checked;
      this.reload();
    });
    $("iss-status-all").addEventListener("click", () => {
      const all = this.filters.statuses.size === STATUSES.length;
      this.filters.statuses = new Set(all ? [] : STATUSES);
      this.renderCard();
      this.reload();
    });
  }

  renderCard() {
    const ul = $("iss-status");
    ul.innerHTML = STATUSES.map((s) => {
      const on = this.filters.statuses.has(s);
      return `<li><button type="button" class="chip${on ? " on" : ""}" data-status="${s}" aria-pressed="${on}">
        <span class="dot" style="background:${STATUS_COLOURS[s]}"></span>${escapeHtml(t(`status.${s}`))}</button></li>`;
    }).join("");
    for (const b of ul.querySelectorAll("button")) {
      b.addEventListener("click", () => {
        const s = b.dataset.status;
        if (this.filters.statuses.has(s)) this.filters.statuses.delete(s);
        else this.filters.statuses.add(s);
        this.renderCard();
        this.reload();
      });
    }
    $("iss-status-all").textContent = t("issues.filter.all");
    const sel = $("iss-category");
    const cats = (this.catalogue && this.catalogue.categories) || [];
    sel.innerHTML = `<option value="">${escapeHtml(t("issues.filter.allcategories"))}</option>` +
      cats.map((c) => `<option value="${escapeHtml(c.code)}">${escapeHtml(categoryName(c))}</option>`).join("");
    sel.value = this.filters.category;
    this.renderCount();
    this.renderHotLegend();
  }

  /** What a hatched or dashed hotspot means, while the hotspots in view show one. */
  renderHotLegend() {
    const ul = $("hot-legend");
    if (!ul) return;
    const states = this.hotOn ? this.hotWithheld : new Set();
    ul.hidden = states.size === 0;
    ul.innerHTML =
      (states.has("all") ? `<li class="withheld">${withheldSwatch("all", "gg-hatch-hot")}<span>${escapeHtml(t("issues.legend.withheld", { k: disclosure.minBin }))}</span></li>` : "") +
      (states.has("part") ? `<li class="partly">${withheldSwatch("part", "gg-hatch-hot-part", HOT_RAMP[2])}<span>${escapeHtml(t("issues.legend.partly", { k: disclosure.minBin }))}</span></li>` : "");
  }

  renderCount() {
    const el = $("iss-count");
    if (!el) return;
    if (!this.canRead || !this.visible || this.matched === undefined) {
      el.textContent = "";
      return;
    }
    el.textContent = this.matched > this.byId.size
      ? t("issues.count.more", { n: this.byId.size, total: this.matched })
      : t("issues.count", { n: this.byId.size });
  }

  // ---- visibility -----------------------------------------------------------------------
  setVisible(on) {
    this.visible = on && this.canRead;
    if (this.visible) {
      this.markers.addTo(this.map);
      this.reload();
    } else {
      this.map.removeLayer(this.markers);
      this.renderCount();
    }
  }

  setHotspots(on) {
    this.hotOn = on && this.canStats;
    if (this.hotOn) {
      this.hot.addTo(this.map);
      this.updateHotspots();
    } else {
      this.map.removeLayer(this.hot);
    }
    this.renderHotLegend();
  }

  /** Hide everything (the planner's view) or show what the card says. */
  suspend(off) {
    if (off) {
      this.map.removeLayer(this.markers);
      this.map.removeLayer(this.hot);
    } else {
      if (this.visible) this.markers.addTo(this.map);
      if (this.hotOn) this.hot.addTo(this.map);
      this.reload();
    }
    this.suspended = off;
  }

  // ---- data -----------------------------------------------------------------------------
  params() {
    const f = this.filters;
    const b = this.map.getBounds().pad(0.3);
    const p = { bbox: fmtBbox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]), limit: PAGE };
    if (f.statuses.size < STATUSES.length) p.status = [...f.statuses].join(",");
    if (f.category) p.category = f.category;
    if (f.overdue) p.overdue = "true";
    if (f.supervised) p.supervised = "true";
    return p;
  }

  reload() {
    return Promise.all([this.update(), this.updateHotspots()]);
  }

  async update() {
    if (!this.canRead || !this.visible || this.suspended) return;
    const gen = ++this.gen;
    if (this.filters.statuses.size === 0) {
      this.setFeatures([], 0);
      return;
    }
    try {
      const { data } = await get("issues", this.params());
      if (gen !== this.gen) return;
      this.setFeatures(data.features || [], data.numberMatched ?? (data.features || []).length);
    } catch (err) {
      this.onError(err);
    }
  }

  setFeatures(features, matched) {
    const keep = new Set(features.map((f) => f.id));
    for (const [id, m] of this.byId) {
      if (!keep.has(id)) {
        this.markers.removeLayer(m);
        this.byId.delete(id);
      }
    }
    for (const f of features) this.upsert(f);
    this.matched = matched;
    this.renderCount();
  }

  /** Add or restyle one issue's pin (after a report or an action). */
  upsert(f) {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const icon = L.divIcon({ className: "issue-icon", html: pinHtml(p, f.id, f.id === this.selectedId), iconSize: [28, 34], iconAnchor: [14, 32] });
    let m = this.byId.get(f.id);
    // a list fetched before an action may arrive after it: never go back a version
    if (m && m.feature && (m.feature.properties.version || 0) > (p.version || 0)) return;
    if (m) {
      m.setLatLng([lat, lon]);
      m.setIcon(icon);
    } else {
      m = L.marker([lat, lon], { icon, pane: issuePane(this.map), keyboard: true, riseOnHover: true, title: `${p.category_name || p.category} · ${t(`status.${p.status}`)}` });
      m.on("click", () => this.onClick(f.id));
      this.byId.set(f.id, m);
      if (this.passes(p)) this.markers.addLayer(m);
      if (this.matched !== undefined && this.byId.size > this.matched) this.matched = this.byId.size;
      this.renderCount();
    }
    m.feature = f;
    m.options.title = `${p.category_name || p.category} · ${t(`status.${p.status}`)}`;
    if (m._icon) m._icon.title = m.options.title;
    if (!this.passes(p)) {
      this.markers.removeLayer(m);
    } else if (!this.markers.hasLayer(m)) {
      this.markers.addLayer(m);
    }
    m.setZIndexOffset(f.id === this.selectedId ? 1000 : p.overdue || p.supervised ? 500 : 0);
  }

  /** Whether an issue's properties pass the current filters (for local updates). */
  passes(p) {
    const f = this.filters;
    if (!f.statuses.has(p.status)) return false;
    if (f.category && p.category !== f.category) return false;
    if (f.overdue && !p.overdue) return false;
    if (f.supervised && !p.supervised) return false;
    return true;
  }

  select(id) {
    const was = this.selectedId;
    this.selectedId = id;
    for (const x of [was, id]) {
      const m = x && this.byId.get(x);
      if (m) this.upsert(m.feature);
    }
  }

  // ---- hotspots ---------------------------------------------------------------------------
  /**
   * The ramp's colour of a hotspot's issue count, outlined red where one is overdue; a
   * hexagon withheld whole is hatched grey with a dashed outline (not the colour of no
   * issue), one withheld in part keeps its colour, dashed.
   */
  hotStyle(f) {
    const n = f.properties.issues || 0;
    const max = this.hotMax || 1;
    const i = Math.min(HOT_RAMP.length - 1, Math.floor((Math.sqrt(n) / Math.sqrt(max)) * (HOT_RAMP.length - 1)));
    const overdue = (f.properties.overdue || 0) > 0;
    const base = { color: overdue ? OVERDUE_OUTLINE : "#ffffff", weight: overdue ? 1.6 : 0.8, fillColor: HOT_RAMP[i], fillOpacity: 0.62 };
    return withheldStyle(hotWithheld(f.properties), base, overdue ? OVERDUE_OUTLINE : undefined);
  }

  async updateHotspots() {
    if (!this.hotOn || this.suspended) return;
    const gen = ++this.hotGen;
    // the view's box, padded so hexagons cut by its edge still count their issues outside
    // it; a user who may not read issues is answered at the API's finest resolution for them
    const resolution = answeredResolution(hotspotResolution(this.map.getZoom()), this.canRead);
    const p = { resolution, bbox: hexBbox(this.map.getBounds(), resolution, 0.5) };
    const st = this.filters.statuses;
    if (st.size && st.size < STATUSES.length) p.status = [...st].join(",");
    if (this.filters.category) p.category = this.filters.category;
    try {
      const { data } = await get("issues/hotspots", p);
      if (gen !== this.hotGen) return;
      const feats = st.size ? data.features || [] : [];
      this.hotMax = feats.reduce((m, f) => Math.max(m, f.properties.issues || 0), 1);
      this.hotResolution = data.resolution ?? p.resolution;
      this.hotWithheld = new Set(feats.map((f) => hotWithheld(f.properties)).filter(Boolean));
      this.hot.clearLayers();
      // withheld hexagons' dashed outlines last, so their neighbours' outlines do not cover them
      this.hot.addData([...feats].sort((a, b) => (hotWithheld(a.properties) ? 1 : 0) - (hotWithheld(b.properties) ? 1 : 0)));
      this.renderHotLegend();
    } catch (err) {
      this.onError(err);
    }
  }
}

/** A category's name in the interface language. */
export function categoryName(c) {
  if (!c) return "";
  return (document.documentElement.lang === "en" && c.name_en) || c.name || c.code;
}

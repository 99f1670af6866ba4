// The cadre's map: villages, micro-grids and cells with labels and counts; H3 hexagons
// at low zoom, houses coloured by care level at high zoom, all drawn on one canvas.
// A user who may not read households (an analyst) is shown the hexagons at every zoom,
// at the finest resolution the API answers them (disclosure.js), and never a house.

import { get } from "./api.js";
import { TiledFeatureSource } from "./tiles.js";
import { HEX_FILL_OPACITY, HEX_RED_OUTLINE, hexBbox, hexClassOf, hexClasses, hexResolution, hexSwatch } from "./hexagons.js";
import { labelPoint, passClicksThrough, shortKey } from "./maplabels.js";
import { t } from "../i18n.js";
import { disclosure, answeredResolution, withheld, withheldStyle, withheldSwatch } from "./disclosure.js";

const L = window.L;

/** Houses are drawn from this zoom on (for users who may read them); below it the H3 aggregate is shown. */
export const HOUSE_ZOOM = 15;
export const CELL_ZOOM = 15;
export const MICROGRID_ZOOM = 12;
export const CAP = 20;

export const CARE_COLOURS = { green: "#2e9d4f", yellow: "#e0a800", red: "#d43c2f" };
const CARE_UNKNOWN = "#8a96a3";

export function householdCount(props) {
  return props.households ?? props.household_count ?? props.count ?? props.total ?? 0;
}

/** Whether a hexagon's care levels are withheld: "all", "part" or null (disclosure.js). */
export function hexWithheld(props) {
  const suppressed = props.suppressed ?? 0;
  return withheld(suppressed, householdCount(props) - suppressed);
}

/** A hexagon's tooltip: its households by care level, and those whose levels are withheld. */
export function hexTooltip(p) {
  const total = householdCount(p);
  const k = disclosure.minBin;
  const vars = { total, green: p.green ?? 0, yellow: p.yellow ?? 0, red: p.red ?? 0, suppressed: p.suppressed ?? 0, k };
  const state = hexWithheld(p);
  if (state === "all") return t(total < k ? "hex.tooltip.withheld" : "hex.tooltip.withheld.parts", vars);
  return t(state === "part" ? "hex.tooltip.partly" : "hex.tooltip", vars);
}

function debounce(fn, ms) {
  let id;
  return (...a) => {
    clearTimeout(id);
    id = setTimeout(() => fn(...a), ms);
  };
}

export class CadreLayers {
  /**
   * `canReadHouses`: whether the user may read households (the `read_households`
   * permission of GET /auth/me).  Without it the houses are never asked for.
   */
  constructor(map, { onHouseClick, onError, planId = () => null, canReadHouses = true }) {
    this.map = map;
    this.onHouseClick = onHouseClick;
    this.canReadHouses = canReadHouses;
    this.onError = onError || console.warn;
    this.planId = planId;
    this.renderer = L.canvas({ padding: 0.3, tolerance: 4 });
    // no cells for one who may not read households: an outline counting a few households
    // each says what the hexagons withhold (and the layer card offers none: app.js)
    this.show = { village: true, microgrid: true, cell: canReadHouses, houses: true, labels: true };

    map.createPane("gg-hex").style.zIndex = 390;
    map.createPane("gg-grid").style.zIndex = 400;
    // grid outlines are not interactive: let clicks and hovers through to what is below
    map.getPane("gg-grid").style.pointerEvents = "none";
    map.createPane("gg-houses").style.zIndex = 450;
    this.hexRenderer = L.canvas({ pane: "gg-hex", padding: 0.3 });
    this.gridRenderer = L.canvas({ pane: "gg-grid", padding: 0.3 });
    this.houseRenderer = L.canvas({ pane: "gg-houses", padding: 0.3, tolerance: 5 });

    this.villages = L.geoJSON(null, {
      renderer: this.gridRenderer,
      interactive: false,
      style: { color: "#5b4b8a", weight: 2.5, fillColor: "#5b4b8a", fillOpacity: 0.03 },
    }).addTo(map);
    this.microgrids = L.geoJSON(null, {
      renderer: this.gridRenderer,
      interactive: false,
      style: { color: "#1d4e89", weight: 1.8, fill: false },
    }).addTo(map);
    this.cells = L.geoJSON(null, {
      renderer: this.gridRenderer,
      interactive: false,
      style: (f) => ({
        color: householdCount(f.properties) > CAP ? "#d43c2f" : "#4a7fb5",
        weight: 1,
        dashArray: "4 3",
        fillColor: "#4a7fb5",
        fillOpacity: 0.02,
      }),
    }).addTo(map);
    this.hex = L.geoJSON(null, {
      renderer: this.hexRenderer,
      style: (f) => this.hexStyle(f),
      onEachFeature: (f, layer) => {
        layer.bindTooltip(() => hexTooltip(f.properties), { sticky: true, className: "tip" });
      },
    }).addTo(map);
    this.houses = L.layerGroup().addTo(map);
    this.houseById = new Map();
    this.labels = L.layerGroup().addTo(map);

    this.villageFeatures = [];
    this.microgridSource = new TiledFeatureSource("microgrids", {
      dataZoom: 11,
      params: () => ({ plan: this.planId() || undefined }),
      onFeatures: (fs) => this.microgrids.addData(fs),
    });
    this.cellSource = new TiledFeatureSource("cells", {
      dataZoom: 13,
      params: () => ({ plan: this.planId() || undefined }),
      onFeatures: (fs) => this.cells.addData(fs),
    });
    this.houseSource = new TiledFeatureSource("households", {
      dataZoom: 14,
      onFeatures: (fs) => this.addHouses(fs),
    });
    this.hexGen = 0;
    this.hexClasses = hexClasses(1);
    /** which withheld states ("all", "part") the hexagons in view show, for the legend */
    this.hexWithheld = new Set();

    this.refresh = debounce(() => this.update(), 120);
    map.on("moveend", this.refresh);
    this.ready = null;
  }

  /**
   * A hexagon's fill is the class of its household count and its outline red where it
   * holds a red-care household; one whose care levels are withheld (an analyst's hexagon
   * of fewer than `disclosure.minBin` households) is hatched grey with a dashed outline,
   * not coloured as if its levels were known, and one withheld in part keeps its fill,
   * dashed.
   */
  hexStyle(f) {
    const n = householdCount(f.properties);
    const { colour } = hexClassOf(this.hexClasses, n);
    const red = (f.properties.red ?? 0) > 0;
    const base = { color: red ? HEX_RED_OUTLINE : "#ffffff", weight: red ? 2 : 0.8, fillColor: colour, fillOpacity: HEX_FILL_OPACITY };
    return withheldStyle(hexWithheld(f.properties), base, red ? HEX_RED_OUTLINE : undefined);
  }

  /** Does the map show houses (rather than hexagons) at `zoom`?  Never to a user who may not read them. */
  housesAt(zoom) {
    return this.canReadHouses && this.show.houses && zoom >= HOUSE_ZOOM;
  }

  /** Is the hexagon aggregate what the map shows now (rather than the houses)? */
  get hexShown() {
    return this.show.houses && this.map.hasLayer(this.hex) && !this.housesAt(this.map.getZoom());
  }

  /** The legend follows the map: hexagon classes at low zoom, care levels of houses at high zoom. */
  renderLegend() {
    const hexBox = document.getElementById("hex-legend");
    const careBox = document.getElementById("care-legend");
    if (!hexBox || !careBox) return;
    const hex = this.hexShown;
    hexBox.hidden = !hex;
    careBox.hidden = hex || !this.canReadHouses;
    const hint = document.getElementById("zoom-hint");
    if (hint) hint.hidden = !hex || !this.canReadHouses; // zooming in shows no house to them
    const ul = document.getElementById("hex-classes");
    ul.innerHTML =
      this.hexClasses
        .map((c) => `<li data-lo="${c.lo}" data-hi="${c.hi}" data-colour="${c.colour}">${hexSwatch(c.colour, "#ffffff", 0.8)}<span>${escapeHtml(
          c.lo === c.hi ? t("legend.hex.one", { n: c.lo }) : t("legend.hex.range", { lo: c.lo, hi: c.hi }),
        )}</span></li>`)
        .join("") +
      `<li class="hex-red" data-colour="${HEX_RED_OUTLINE}">${hexSwatch("#ffffff", HEX_RED_OUTLINE, 2)}<span>${escapeHtml(t("legend.hex.red"))}</span></li>` +
      (this.hexWithheld.has("all") ? `<li class="hex-withheld">${withheldSwatch("all", "gg-hatch-hex")}<span>${escapeHtml(t("legend.hex.withheld", { k: disclosure.minBin }))}</span></li>` : "") +
      (this.hexWithheld.has("part") ? `<li class="hex-partly">${withheldSwatch("part", "gg-hatch-hex-part")}<span>${escapeHtml(t("legend.hex.partly", { k: disclosure.minBin }))}</span></li>` : "");
  }

  setVisible(name, on) {
    this.show[name] = on;
    const layer = { village: this.villages, microgrid: this.microgrids, cell: this.cells, houses: this.houses, labels: this.labels }[name];
    if (on) layer.addTo(this.map);
    else this.map.removeLayer(layer);
    if (name === "houses") {
      if (on) this.hex.addTo(this.map);
      else this.map.removeLayer(this.hex);
    }
    this.refresh();
  }

  /** Load what never changes with the view: the villages (and the extent to fit). */
  async init() {
    const { data } = await get("areas", { level: "village", limit: 5000 });
    this.villageFeatures = data.features || [];
    this.villages.addData(this.villageFeatures);
    const bounds = this.villages.getBounds();
    if (bounds.isValid()) return bounds;
    // a cadre of one micro-grid or cell (户团长) is shown no village: the map opens on
    // the cells of their scope instead of the whole county at zoom 10
    try {
      const { data: cells } = await get("cells", { limit: 500 });
      return L.geoJSON(cells).getBounds();
    } catch {
      return bounds;
    }
  }

  /** Drop the plan-dependent layers and reload them (plan switched, or edits saved). */
  reloadPlan() {
    this.microgridSource.reset();
    this.cellSource.reset();
    this.microgrids.clearLayers();
    this.cells.clearLayers();
    return this.update();
  }

  reloadHouses() {
    this.houseSource.reset();
    this.houses.clearLayers();
    this.houseById.clear();
    return this.update();
  }

  addHouses(features) {
    for (const f of features) {
      const [lon, lat] = f.geometry.coordinates;
      const care = f.properties.care_level;
      const m = L.circleMarker([lat, lon], {
        renderer: this.houseRenderer,
        radius: 4.5,
        weight: 1,
        color: "#ffffff",
        fillColor: CARE_COLOURS[care] || CARE_UNKNOWN,
        fillOpacity: 0.95,
      });
      m.feature = f;
      m.on("click", () => this.onHouseClick(f));
      this.houses.addLayer(m);
      this.houseById.set(f.id, m);
    }
  }

  highlightHouse(id) {
    if (this.highlighted) this.highlighted.setStyle({ color: "#ffffff", weight: 1, radius: 4.5 });
    const m = this.houseById.get(id);
    this.highlighted = m || null;
    if (m) {
      m.setStyle({ color: "#111827", weight: 3 });
      m.setRadius(7);
      m.bringToFront();
    }
  }

  async updateHex(bounds, zoom) {
    const gen = ++this.hexGen;
    const resolution = answeredResolution(hexResolution(zoom), this.canReadHouses);
    const bbox = hexBbox(bounds, resolution, 0.25);
    const { data } = await get("households/aggregate", { bbox, resolution });
    if (gen !== this.hexGen || this.housesAt(this.map.getZoom())) return;
    this.hex.clearLayers();
    const feats = data.features || [];
    this.hexClasses = hexClasses(feats.reduce((m, f) => Math.max(m, householdCount(f.properties)), 1));
    this.hexWithheld = new Set(feats.map((f) => hexWithheld(f.properties)).filter(Boolean));
    // dashed (withheld) and red outlines last, so their neighbours' white outlines do not cover them
    const order = (f) => ((f.properties.red ?? 0) > 0 ? 2 : 0) + (hexWithheld(f.properties) ? 1 : 0);
    this.hex.addData([...feats].sort((a, b) => order(a) - order(b)));
    this.renderLegend();
  }

  /** Fetch and draw what the current view needs.  Resolves when it is drawn. */
  async update() {
    const map = this.map;
    const zoom = map.getZoom();
    const bounds = map.getBounds();
    const jobs = [];
    try {
      if (this.housesAt(zoom)) {
        this.hexGen++;
        this.hex.clearLayers();
        if (!map.hasLayer(this.houses)) this.houses.addTo(map);
        jobs.push(this.houseSource.load(bounds));
      } else {
        map.removeLayer(this.houses);
        if (this.show.houses) jobs.push(this.updateHex(bounds, zoom));
      }
      if (this.show.microgrid && zoom >= MICROGRID_ZOOM) jobs.push(this.microgridSource.load(bounds));
      if (this.show.cell && zoom >= CELL_ZOOM) {
        if (!map.hasLayer(this.cells)) this.cells.addTo(map);
        jobs.push(this.cellSource.load(bounds));
      } else if (map.hasLayer(this.cells)) {
        map.removeLayer(this.cells);
      }
      this.renderLegend();
      await Promise.all(jobs);
    } catch (err) {
      this.onError(err);
    }
    this.updateLabels();
  }

  /** The screen rectangles of the floating cards shown over the map (the layer card, the house panel). */
  cardRects() {
    const rects = [];
    for (const id of ["left-stack", "side-panel"]) {
      const el = document.getElementById(id);
      if (!el || el.hidden) continue;
      const r = el.getBoundingClientRect();
      if (r.width) rects.push(r);
    }
    return rects;
  }

  /** The map's bounds less what the floating cards cover. */
  freeBounds() {
    const map = this.map;
    const box = map.getContainer().getBoundingClientRect();
    let left = 0;
    let right = box.width;
    for (const r of this.cardRects()) {
      if (r.left - box.left < box.width / 2) left = Math.max(left, r.right - box.left);
      else right = Math.min(right, r.left - box.left);
    }
    if (right - left < 120) return map.getBounds();
    return L.latLngBounds(map.containerPointToLatLng([left, box.height]), map.containerPointToLatLng([right, 0]));
  }

  /**
   * Labels with household counts for the features in view, at the zooms they fit.  A label
   * reads "M04 · 166 户" (the village code is the same for everything in view); its tooltip
   * holds the full key.  Labels that would overlap one already placed are left out.
   */
  updateLabels() {
    this.labels.clearLayers();
    if (!this.show.labels) return;
    const zoom = this.map.getZoom();
    const bounds = this.freeBounds();
    const placed = [];
    const add = (layerGroup, kind, nameOf, fullOf, max) => {
      let n = 0;
      layerGroup.eachLayer((layer) => {
        if (n >= max) return;
        const c = labelPoint(layer, bounds);
        if (!c) return;
        const p = layer.feature.properties;
        const count = householdCount(p);
        const over = kind === "cell" && count > CAP;
        const known = kind !== "village" || p.households !== undefined;
        const countText = t("count.households", { n: count });
        const full = [fullOf(p), known ? countText : ""].filter(Boolean).join(" · ");
        const html = `<span class="name">${escapeHtml(nameOf(p))}</span>${known ? `<span class="sep"> · </span><span class="cnt">${escapeHtml(countText)}</span>` : ""}`;
        const tip = L.tooltip({ permanent: true, direction: "center", className: `map-label ${kind}${over ? " over" : ""}`, interactive: false })
          .setLatLng(c)
          .setContent(html)
          .addTo(this.labels);
        const el = tip.getElement();
        el.title = full;
        el.dataset.key = fullOf(p);
        passClicksThrough(el);
        placed.push(tip);
        n++;
      });
    };
    // Areas carry no household count: sum the loaded micro-grids of each village.
    const perVillage = new Map();
    this.microgrids.eachLayer((l) => {
      const p = l.feature.properties;
      perVillage.set(p.village_code, (perVillage.get(p.village_code) || 0) + householdCount(p));
    });
    for (const l of this.villages.getLayers()) l.feature.properties.households = perVillage.get(l.feature.properties.code);
    const mgKey = (p) => p.microgrid_key || p.name || "";
    const cellKey = (p) => p.cell_key || p.name || "";
    if (this.show.village && zoom >= 10 && zoom < 15) add(this.villages, "village", (p) => p.name || p.code, (p) => (p.name ? `${p.name}（${p.code}）` : p.code), 200);
    if (this.show.microgrid && zoom >= 14 && zoom < 17) add(this.microgrids, "microgrid", (p) => shortKey(mgKey(p)), mgKey, 200);
    if (this.show.cell && zoom >= 17) add(this.cells, "cell", (p) => shortKey(cellKey(p)), cellKey, 200);
    // one layout pass: measure every label, then drop those that collide with an earlier
    // one or reach under a floating card (a label centred just left of the house panel
    // still spills half its width under it)
    const rects = placed.map((tip) => tip.getElement().getBoundingClientRect());
    const kept = this.cardRects();
    placed.forEach((tip, i) => {
      const r = rects[i];
      if (kept.some((k) => r.left < k.right + 2 && r.right > k.left - 2 && r.top < k.bottom && r.bottom > k.top)) this.labels.removeLayer(tip);
      else kept.push(r);
    });
  }
}

export function escapeHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

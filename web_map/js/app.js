// geogrid web map: log-in, the cadre's map and the planner's view.

import * as api from "./api.js";
import { BasemapSwitcher } from "./basemaps.js";
import { CadreLayers, HOUSE_ZOOM } from "./layers.js";
import { SidePanel } from "./house.js";
import { SearchBox } from "./search.js";
import { Planner } from "./planner.js";
import { IssueLayer } from "./issue-layer.js";
import { IssuePanel } from "./issue-panel.js";
import { IssueReporter } from "./issue-report.js";
import { IssueStats } from "./issue-stats.js";
import { toast, errorMessage } from "./dialog.js";
import { apiMessage, setVillageNames as setMessageVillageNames } from "./apimessage.js";
import { setDisclosure } from "./disclosure.js";
import { t, applyI18n, setLang, getLang, onLangChange } from "../i18n.js";

const L = window.L;
const $ = (id) => document.getElementById(id);

// Sample county (Xinhuang, Hunan) as the initial view until the villages are loaded.
const START = { center: [27.36, 109.17], zoom: 10 };

const state = {
  user: null,
  map: null,
  layers: null,
  basemaps: null,
  panel: null,
  planner: null,
  search: null,
  /** the issue layer, panel and report mode (null for roles that see no issues) */
  issues: null,
  issuePanel: null,
  reporter: null,
  view: "map",
  /** resolves once the first data view is drawn (used by tests and the benchmark) */
  firstRender: null,
};
window.geogrid = state;

function initMap(config) {
  const map = L.map("map", {
    preferCanvas: true,
    zoomControl: true,
    attributionControl: true,
    minZoom: 5,
    maxZoom: 19,
    boxZoom: false,
  }).setView(START.center, START.zoom);
  map.attributionControl.setPrefix(false);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  state.map = map;
  state.basemaps = new BasemapSwitcher(map, config, (crs) => {
    $("amap-note").hidden = crs !== "gcj02";
  });
  const sel = $("basemap-select");
  for (const opt of sel.options) opt.disabled = !state.basemaps.available(opt.value);
  sel.value = state.basemaps.set(localStorage.getItem("geogrid.basemap") || config.basemap || "none");
  sel.addEventListener("change", () => {
    sel.value = state.basemaps.set(sel.value);
    localStorage.setItem("geogrid.basemap", sel.value);
  });
  return map;
}

function showUser() {
  const u = state.user || {};
  $("user-name").textContent = u.username || "";
  $("user-role").textContent = u.role ? t(`role.${u.role}`) : "";
  $("tab-planner").hidden = !(u.role === "planner" || u.role === "admin");
}

/**
 * Who is logged in: username, role and `permissions` (GET /auth/me).  Should that fail,
 * the token's name and role, and no permission: the map then asks for nothing the user
 * might be refused (no houses, only hexagons).
 */
async function loadUser() {
  try {
    const { data } = await api.get("auth/me");
    return data;
  } catch (err) {
    if (err.status === 401) throw err;
    const c = api.tokenClaims() || {};
    return { username: c.sub, role: c.role, permissions: [] };
  }
}

/** Whether the user holds a permission of the API's (GET /auth/me `permissions`). */
function can(permission) {
  return ((state.user || {}).permissions || []).includes(permission);
}

/** The disclosure limits, if the map's settings did not bring them (the API was unreachable then). */
async function ensureDisclosure() {
  if (state.disclosureKnown) return;
  try {
    const { data } = await api.get("config");
    state.disclosureKnown = setDisclosure(data);
  } catch (err) {
    toast(errorMessage(err), { error: true });
  }
}

async function start() {
  document.body.classList.remove("logged-out");
  state.user = await loadUser();
  showUser();
  await ensureDisclosure();
  // a user who may not read households (an analyst) is offered no house: no points on
  // the map at any zoom, and no search (it finds houses and residents)
  const canReadHouses = can("read_households");
  $("search").hidden = !canReadHouses;
  showLayerChoices(canReadHouses);
  const map = state.map;
  state.panel = new SidePanel({
    canRemove: () => can("remove_households"),
    canEdit: () => can("edit_households"),
    // a household left the register or came back: the houses are drawn again
    onRegisterChanged: () => state.layers && state.layers.reloadHouses(),
    onShow: () => setLeftOpen(false), // on a phone the panel and the cards share the screen
    onClose: () => {
      state.layers.highlightHouse(null);
      if (state.issues) state.issues.select(null);
      if (state.reporter) state.reporter.stop();
      if (state.layers) state.layers.updateLabels();
    },
  });
  // the API's refusals name villages by code: the map says their names (apimessage.js)
  setMessageVillageNames((code) => ((state.layers && state.layers.villageFeatures) || [])
    .find((f) => f.properties.code === code)?.properties.name || null);
  state.layers = new CadreLayers(map, {
    canReadHouses,
    planId: () => (state.view === "planner" && state.planner ? state.planner.planId : null),
    onHouseClick: (f) => {
      if (state.view === "planner") return state.planner.onHouseClick(f);
      if (state.reporter && state.reporter.active) return; // the map click reports here
      if (state.issues) state.issues.select(null);
      state.layers.highlightHouse(f.id);
      state.panel.openHouse(f.id);
      keepInSight(f.id);
      state.layers.updateLabels(); // the panel now covers the right of the map
    },
    onError: (err) => toast(errorMessage(err), { error: true }),
  });
  state.firstRender = (async () => {
    const t0 = performance.now();
    let bounds = null;
    try {
      bounds = await state.layers.init();
    } catch (err) {
      toast(errorMessage(err), { error: true });
    }
    if (bounds && bounds.isValid()) map.fitBounds(bounds, { animate: false, padding: [20, 20] });
    await Promise.all([state.layers.update(), initIssues()]);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    state.firstRenderMs = performance.now() - t0;
    document.body.dataset.ready = "1";
    return state.firstRenderMs;
  })();
  if (canReadHouses) state.search = new SearchBox({
    onPick: async (hit) => {
      if (hit.lat !== undefined && hit.lat !== null) {
        state.map.setView([hit.lat, hit.lon], Math.max(HOUSE_ZOOM + 2, state.map.getZoom()), { animate: false });
        await state.layers.update();
      }
      if (hit.household_id) {
        state.layers.highlightHouse(hit.household_id);
        state.panel.openHouse(hit.household_id);
        keepInSight(hit.household_id, hit.lat !== undefined && hit.lat !== null ? [hit.lat, hit.lon] : null);
        state.layers.updateLabels();
      }
    },
  });
  state.planner = new Planner({ map, layers: state.layers, user: state.user });
}

/**
 * The layer card offers what the user gets: to one who may not read households (an
 * analyst) no houses and no cells (whose outlines would count a few households each),
 * but the households' hexagons, beside the boundaries, the names and the issue
 * hotspots (on the issue card).
 */
function showLayerChoices(canReadHouses) {
  for (const id of ["lyr-houses", "lyr-cell"]) $(id).closest("label").hidden = !canReadHouses;
  $("lyr-hex").closest("label").hidden = canReadHouses;
  if (!canReadHouses) {
    $("lyr-cell").checked = false;
    $("lyr-hex").checked = $("lyr-houses").checked;
  }
}

const ISSUE_READERS = new Set(["admin", "cadre"]);
const STATS_READERS = new Set(["admin", "cadre", "analyst"]);

/** The issue layer, panel, inbox and report mode, for the roles that take part. */
async function initIssues() {
  const role = (state.user || {}).role;
  const card = $("issue-card");
  if (!STATS_READERS.has(role)) {
    card.hidden = true;
    return;
  }
  let catalogue;
  try {
    ({ data: catalogue } = await api.get("issues/catalogue"));
  } catch (err) {
    toast(errorMessage(err), { error: true });
    return;
  }
  const canRead = ISSUE_READERS.has(role);
  card.hidden = false;
  card.classList.toggle("stats-only", !canRead);
  const villageName = (code) => {
    const v = (state.layers.villageFeatures || []).find((f) => f.properties.code === code);
    return v ? v.properties.name || code : code;
  };
  state.issues = new IssueLayer(state.map, {
    canRead,
    onClick: (id) => {
      state.layers.highlightHouse(null);
      state.issuePanel.openIssue(id);
    },
    onError: (err) => toast(errorMessage(err), { error: true }),
  });
  state.issues.initCard(catalogue);
  // statistics (and, for those who read issues, the CSV export): the API gives them to
  // whoever reads issues, of their scope (a town's cadre their town, exactly), and to
  // analysts rounded, with small rows withheld and weeks at the finest; the panel says so
  state.issueStats = new IssueStats({ panel: state.panel, catalogue, villageName, exact: canRead });
  $("iss-stats").hidden = false;
  $("iss-stats").onclick = () => state.issueStats.open();
  if (!canRead) {
    $("iss-show").checked = false;
    return;
  }
  state.issuePanel = new IssuePanel({
    panel: state.panel,
    layer: state.issues,
    map: state.map,
    user: state.user,
    catalogue,
    villageName,
    onChanged: () => {
      state.issuePanel.refreshInbox();
      state.issues.updateHotspots();
    },
  });
  state.reporter = new IssueReporter({
    map: state.map,
    panel: state.panel,
    issues: state.issuePanel,
    layer: state.issues,
    catalogue,
    villageName,
    onReported: () => {
      state.issuePanel.refreshInbox();
      state.issues.updateHotspots();
    },
  });
  await Promise.all([state.issues.reload(), state.issuePanel.refreshInbox()]);
  state.issuePanel.watchInbox();
}

/**
 * On a phone the side panel is a sheet over the lower part of the map (app.css): a house
 * it opened for that is under it (a search flies to the map's middle) is moved up into
 * the part of the map still in sight.
 */
function keepInSight(houseId, at = null) {
  const marker = state.layers && state.layers.houseById.get(houseId);
  const latlng = marker ? marker.getLatLng() : at && L.latLng(at);
  const sheet = $("side-panel").getBoundingClientRect();
  const box = $("map").getBoundingClientRect();
  if (!latlng || $("side-panel").hidden || sheet.left > box.left + 1) return; // beside the map, not over it
  const open = sheet.top - box.top; // the map's height above the sheet
  const y = state.map.latLngToContainerPoint(latlng).y;
  if (open > 40 && (y > open - 20 || y < 20)) state.map.panBy([0, y - open / 2], { animate: false });
}

/** On a phone the layer and issue cards sit behind #left-toggle (app.css); elsewhere
 * they are always shown and this class does nothing. */
function setLeftOpen(open) {
  document.body.classList.toggle("left-open", open);
  $("left-toggle").setAttribute("aria-expanded", String(open));
}

function setView(view) {
  if (view === state.view) return;
  if (view === "map" && state.planner && !state.planner.canLeave()) return;
  state.view = view;
  for (const b of document.querySelectorAll("#view-tabs button")) b.classList.toggle("active", b.dataset.view === view);
  $("left-stack").hidden = view !== "map";
  $("left-toggle").hidden = view !== "map";
  $("planner-panel").hidden = view !== "planner";
  state.panel.close();
  if (state.reporter) state.reporter.stop();
  if (state.issues) state.issues.suspend(view === "planner");
  if (view === "planner") state.planner.enter();
  else state.planner.leave();
}

/**
 * The login form is live from the start: `mapReady` is the map being set up (its
 * settings fetched), which a sign-in waits for.  Listening only after that fetch let a
 * quick user submit the form natively, with the password in the page's URL.
 */
function initLogin(mapReady) {
  const form = $("login-form");
  const err = $("login-error");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.hidden = true;
    const btn = $("login-submit");
    btn.disabled = true;
    btn.textContent = t("login.busy");
    try {
      await api.login($("login-username").value.trim(), $("login-password").value);
      $("login-password").value = "";
      await mapReady;
      await start();
    } catch (ex) {
      err.textContent =
        ex.status === 401 || ex.status === 400 ? t("login.failed")
        : ex.status === 423 ? apiMessage(ex) ?? t("login.locked")
        : ex.status === 429 ? apiMessage(ex) ?? t("login.slow")
        : errorMessage(ex);
      err.hidden = false;
    } finally {
      btn.disabled = false;
      btn.textContent = t("login.submit");
    }
  });
}

function logout(message) {
  api.clearToken();
  // A fresh page is the simplest way to drop every cached resident and layer.
  if (message) sessionStorage.setItem("geogrid.flash", message);
  location.reload();
}

async function main() {
  applyI18n();
  const toggle = () => setLang(getLang() === "zh" ? "en" : "zh");
  $("lang-switch").addEventListener("click", toggle);
  $("lang-switch-login").addEventListener("click", toggle);
  onLangChange(() => {
    showUser();
    if (state.layers) {
      state.layers.updateLabels();
      state.layers.renderLegend();
    }
    if (state.planner) state.planner.renderAll();
    if (state.issues) state.issues.renderCard();
    if (state.panel) state.panel.refresh();
  });
  const mapReady = api.mapConfig().then((config) => {
    state.disclosureKnown = setDisclosure(config);
    return initMap(config);
  });
  initLogin(mapReady);
  await mapReady;
  $("logout").addEventListener("click", () => logout());
  $("left-toggle").addEventListener("click", () => setLeftOpen(!document.body.classList.contains("left-open")));
  // reporting is a tap on the map: the cards step aside for it
  $("iss-report").addEventListener("click", () => setLeftOpen(false));
  for (const b of document.querySelectorAll("#view-tabs button")) b.addEventListener("click", () => setView(b.dataset.view));
  for (const name of ["village", "microgrid", "cell", "houses", "labels"]) {
    $(`lyr-${name}`).addEventListener("change", (e) => state.layers && state.layers.setVisible(name, e.target.checked));
  }
  // an analyst's one household layer: the hexagons, which the houses' switch shows at low zoom
  $("lyr-hex").addEventListener("change", (e) => state.layers && state.layers.setVisible("houses", e.target.checked));
  api.setUnauthorizedHandler(() => logout(t("session.expired")));
  const flash = sessionStorage.getItem("geogrid.flash");
  if (flash) {
    sessionStorage.removeItem("geogrid.flash");
    $("login-error").textContent = flash;
    $("login-error").hidden = false;
  }
  if (api.hasToken()) {
    try {
      await start();
    } catch {
      api.clearToken();
      document.body.classList.add("logged-out");
    }
  } else {
    $("login-username").focus();
  }
}

main();

// geogrid web map: log-in, the cadre's map and the planner's view.

import * as api from "./api.js";
import { BasemapSwitcher } from "./basemaps.js";
import { CadreLayers, HOUSE_ZOOM } from "./layers.js";
import { SidePanel } from "./house.js";
import { SearchBox } from "./search.js";
import { Planner } from "./planner.js";
import { toast, errorMessage } from "./dialog.js";
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

async function loadUser() {
  try {
    const { data } = await api.get("auth/me");
    return data;
  } catch (err) {
    if (err.status === 401) throw err;
    const c = api.tokenClaims() || {};
    return { username: c.sub, role: c.role };
  }
}

async function start() {
  document.body.classList.remove("logged-out");
  state.user = await loadUser();
  showUser();
  const map = state.map;
  state.panel = new SidePanel({ onClose: () => state.layers.highlightHouse(null) });
  state.layers = new CadreLayers(map, {
    planId: () => (state.view === "planner" && state.planner ? state.planner.planId : null),
    onHouseClick: (f) => {
      if (state.view === "planner") return state.planner.onHouseClick(f);
      state.layers.highlightHouse(f.id);
      state.panel.openHouse(f.id);
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
    await state.layers.update();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    state.firstRenderMs = performance.now() - t0;
    document.body.dataset.ready = "1";
    return state.firstRenderMs;
  })();
  new SearchBox({
    onPick: async (hit) => {
      if (hit.lat !== undefined && hit.lat !== null) {
        state.map.setView([hit.lat, hit.lon], Math.max(HOUSE_ZOOM + 2, state.map.getZoom()), { animate: false });
        await state.layers.update();
      }
      if (hit.household_id) {
        state.layers.highlightHouse(hit.household_id);
        state.panel.openHouse(hit.household_id);
      }
    },
  });
  state.planner = new Planner({ map, layers: state.layers, user: state.user });
}

function setView(view) {
  if (view === state.view) return;
  if (view === "map" && state.planner && !state.planner.canLeave()) return;
  state.view = view;
  for (const b of document.querySelectorAll("#view-tabs button")) b.classList.toggle("active", b.dataset.view === view);
  $("layer-panel").hidden = view !== "map";
  $("planner-panel").hidden = view !== "planner";
  state.panel.close();
  if (view === "planner") state.planner.enter();
  else state.planner.leave();
}

function initLogin() {
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
      await start();
    } catch (ex) {
      err.textContent =
        ex.status === 401 || ex.status === 400 ? t("login.failed")
        : ex.status === 423 ? t("login.locked")
        : ex.status === 429 ? t("login.slow")
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
    if (state.layers) state.layers.updateLabels();
    if (state.planner) state.planner.renderAll();
  });
  const config = await api.mapConfig();
  initMap(config);
  initLogin();
  $("logout").addEventListener("click", () => logout());
  for (const b of document.querySelectorAll("#view-tabs button")) b.addEventListener("click", () => setView(b.dataset.view));
  for (const name of ["village", "microgrid", "cell", "houses", "labels"]) {
    $(`lyr-${name}`).addEventListener("change", (e) => state.layers && state.layers.setVisible(name, e.target.checked));
  }
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

// Basemaps: none (the default, works offline), OpenStreetMap, Tianditu and AMap.
//
// Tianditu is CGCS2000, the same as WGS84 to within a metre.  AMap is GCJ-02: with it
// the map switches to a CRS that projects WGS84 data through the GCJ-02 offset (see
// gcj02.js), so houses sit on their roofs; every other basemap uses plain EPSG:3857.

import { gcj02Crs } from "./gcj02.js";
import { t } from "../i18n.js";

const L = window.L;

export const BASEMAPS = ["none", "osm", "tianditu", "amap"];

// The page sends no Referer (the server's Referrer-Policy: no-referrer); a tile host is
// sent the map's origin alone, never its path: OpenStreetMap's tile policy asks for a
// Referer, and Tianditu checks a browser key's domain against it.
const REFERRER = "strict-origin";

function tianditu(key) {
  const wmts = (layer) =>
    `https://t{s}.tianditu.gov.cn/${layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0` +
    `&LAYER=${layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=${encodeURIComponent(key)}`;
  const opts = { subdomains: "01234567", maxZoom: 18, attribution: "&copy; 天地图", referrerPolicy: REFERRER };
  return L.layerGroup([L.tileLayer(wmts("vec"), opts), L.tileLayer(wmts("cva"), opts)]);
}

function makeLayer(name, config) {
  switch (name) {
    case "osm":
      return L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
        maxZoom: 19,
        attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
        referrerPolicy: REFERRER,
      });
    case "tianditu":
      return config.tianditu_key ? tianditu(config.tianditu_key) : null;
    case "amap":
      return L.tileLayer(
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        { subdomains: "1234", maxZoom: 18, attribution: "&copy; 高德地图", referrerPolicy: REFERRER },
      );
    default:
      return null;
  }
}

/** Switches basemaps on `map`, changing its CRS when GCJ-02 tiles come or go. */
export class BasemapSwitcher {
  constructor(map, config, onCrsChange = () => {}) {
    this.map = map;
    this.config = config;
    this.onCrsChange = onCrsChange;
    this.name = "none";
    this.layer = null;
    this.gcj = gcj02Crs(L);
  }

  available(name) {
    return name !== "tianditu" || Boolean(this.config.tianditu_key);
  }

  set(name) {
    if (!BASEMAPS.includes(name) || !this.available(name)) name = "none";
    if (this.layer) this.map.removeLayer(this.layer);
    this.layer = makeLayer(name, this.config);
    const wantCrs = name === "amap" ? this.gcj : L.CRS.EPSG3857;
    if (this.map.options.crs !== wantCrs) {
      // Leaflet has no public API for this; the documented trick is to swap the CRS and
      // reset the view so every layer re-projects.
      const center = this.map.getCenter();
      const zoom = this.map.getZoom();
      this.map.options.crs = wantCrs;
      this.map._resetView(center, zoom, true);
      this.onCrsChange(name === "amap" ? "gcj02" : "wgs84");
    }
    if (this.layer) this.layer.addTo(this.map);
    this.name = name;
    return name;
  }

  label(name) {
    return name === "tianditu" && !this.config.tianditu_key ? t("basemap.tianditu.nokey") : t(`basemap.${name}`);
  }
}

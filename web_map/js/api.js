// The one place the web map talks to the geogrid HTTP API (api/v1/ beside the page).
//
// Every call carries the bearer token; a 401 logs the user out.  Errors come back as
// ApiError with the server's status, `detail` (what went wrong and what to do) and `code`.

// Relative to the page, never to the host's root: behind a proxy that publishes geogrid
// under a path (https://xxx.gov.cn/geogrid/) the API is at /geogrid/api/v1/, and the
// server redirects /geogrid to /geogrid/ so that this resolves there.
const BASE = new URL("api/v1/", document.baseURI).href;
const TOKEN_KEY = "geogrid.token";

export class ApiError extends Error {
  constructor(status, detail, body = null, headers = null) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.body = body;
    this.headers = headers;
  }
}

let token = sessionStorage.getItem(TOKEN_KEY);
let onUnauthorized = () => {};

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}
export function hasToken() {
  return Boolean(token);
}
export function clearToken() {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The JWT's claims (sub, role, ...), decoded without checking: for display only. */
export function tokenClaims() {
  if (!token) return null;
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

// `path` is relative to the API ("households/H1"), or a URL the API gave: a paging link
// (absolute) or a photo's path (/geogrid/api/v1/issues/..., under the path the API was
// reached under).
function url(path, params) {
  const u = new URL(/^https?:|^\//.test(path) ? path : BASE + path, location.origin);
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null || v === "") continue;
      u.searchParams.set(k, Array.isArray(v) ? v.join(",") : String(v));
    }
  }
  return u.toString();
}

/**
 * fetch() one API resource.  Returns {data, status, headers}.  `ifMatch` sets If-Match
 * (plan edits); `json` sends a JSON body; `form` an urlencoded one; `formData` a
 * multipart one (photo uploads).
 */
export async function request(method, path, { params, json, form, formData, ifMatch, signal } = {}) {
  const headers = { Accept: "application/json, application/geo+json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (ifMatch) headers["If-Match"] = ifMatch;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  } else if (formData) {
    body = formData; // the browser sets the multipart boundary
  }
  let res;
  try {
    res = await fetch(url(path, params), { method, headers, body, signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, null);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const detail = data && typeof data === "object" ? data.detail : null;
    const err = new ApiError(res.status, typeof detail === "string" ? detail : null, data, res.headers);
    if (res.status === 401 && token && !path.includes("auth/token")) onUnauthorized(err);
    throw err;
  }
  return { data, status: res.status, headers: res.headers };
}

export const get = (path, params, opts = {}) => request("GET", path, { ...opts, params });

/**
 * GET a file the API gives (the issue CSV export) as a Blob, byte for byte (a text
 * read would drop the BOM that makes Excel read UTF-8).  A refusal throws an ApiError
 * carrying the API's message, as request() does.
 */
export async function getBlob(path, params) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  let res;
  try {
    res = await fetch(url(path, params), { headers });
  } catch {
    throw new ApiError(0, null);
  }
  if (!res.ok) {
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    const detail = data && typeof data.detail === "string" ? data.detail : null;
    const err = new ApiError(res.status, detail, data, res.headers);
    if (res.status === 401 && token) onUnauthorized(err);
    throw err;
  }
  return res.blob();
}

/**
 * An object URL for a protected image (issue photos need the bearer token, which an
 * <img src> cannot send).  Cached per path; the caller never revokes it.
 */
const blobCache = new Map();
export function blobUrl(path) {
  if (!blobCache.has(path)) {
    const p = (async () => {
      const headers = token ? { Authorization: `Bearer ${token}` } : {};
      const res = await fetch(url(path), { headers });
      if (!res.ok) throw new ApiError(res.status, null);
      return URL.createObjectURL(await res.blob());
    })();
    p.catch(() => blobCache.delete(path));
    blobCache.set(path, p);
  }
  return blobCache.get(path);
}

/**
 * GET a GeoJSON FeatureCollection and every following page (OGC API – Features `next`
 * links).  `onPage(features, page)` is called as pages arrive; `isStale()` stops early.
 */
export async function getAllFeatures(path, params, { onPage, isStale } = {}) {
  let next = url(path, params);
  const all = [];
  let first = null;
  while (next) {
    if (isStale && isStale()) return null;
    const { data } = await request("GET", next);
    if (!first) first = data;
    const feats = data.features || [];
    all.push(...feats);
    if (onPage) onPage(feats, data);
    const link = (data.links || []).find((l) => l.rel === "next");
    next = link ? link.href : null;
  }
  return { ...first, features: all, numberReturned: all.length };
}

export async function login(username, password) {
  const { data } = await request("POST", "auth/token", {
    form: { grant_type: "password", username, password },
  });
  token = data.access_token;
  sessionStorage.setItem(TOKEN_KEY, token);
  return data;
}

/** Map settings the server exposes at /api/v1/config (basemap, Tianditu key), no login needed. */
export async function mapConfig() {
  const fallback = { basemap: "none", tianditu_key: "" };
  if (window.GEOGRID_CONFIG) return { ...fallback, ...window.GEOGRID_CONFIG };
  try {
    const { data } = await request("GET", "config");
    return { ...fallback, ...data };
  } catch {
    return fallback;
  }
}

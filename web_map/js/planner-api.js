// What the planner asks of the API, and the cell palette: shared by the planner modules.

import { get, request, getAllFeatures } from "./api.js";

export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
  "#393b79", "#ad494a", "#637939", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1"];

/** Everything the planner asks of the API, in one place. */
export const planApi = {
  listPlans: () => get("plans"),
  getPlan: (id) => get(`plans/${id}`),
  createDraft: (fromId, name) => request("POST", "plans", { json: { from_plan: fromId, name } }),
  microgrids: (planId, bbox) => getAllFeatures("microgrids", { plan: planId, bbox, limit: 5000 }),
  microgrid: (id) => get(`microgrids/${id}`),
  cell: (id) => get(`cells/${id}`),
  cells: (planId, microgridId) => getAllFeatures("cells", { plan: planId, microgrid: microgridId, limit: 5000 }),
  households: (planId, cellId) => getAllFeatures("households", { plan: planId, cell: cellId, limit: 5000 }),
  /** moves: [{household_id, cell_id}] between existing cells */
  assign: (planId, etag, moves) => request("PATCH", `plans/${planId}/assignments`, { ifMatch: etag, json: { moves } }),
  lock: (planId, etag, cellId, locked) =>
    request("POST", `plans/${planId}/cells/${cellId}/${locked ? "lock" : "unlock"}`, { ifMatch: etag }),
  boundary: (planId, etag, microgridId, geometry) =>
    request("PUT", `plans/${planId}/microgrids/${microgridId}/geometry`, { ifMatch: etag, json: { geometry } }),
  /** the listed households of one cell become a new cell */
  split: (planId, etag, cellId, householdIds) =>
    request("POST", `plans/${planId}/cells/${cellId}/split`, { ifMatch: etag, json: { household_ids: householdIds } }),
  merge: (planId, etag, a, b) => request("POST", `plans/${planId}/cells/merge`, { ifMatch: etag, json: { cells: [a, b] } }),
  /** one micro-grid, or several together (one with no households and a neighbour) */
  rerun: (planId, etag, microgridIds) =>
    request("POST", `plans/${planId}/repartition`, { ifMatch: etag, json: { microgrids: [].concat(microgridIds) } }),
  notes: (planId) => get(`plans/${planId}/notes`),
  /** mark an engine note dealt with (on) or open it again */
  ackNote: (planId, noteId, on) => request(on ? "POST" : "DELETE", `plans/${planId}/notes/${noteId}/acknowledge`),
  validate: (planId, microgridId) => get(`plans/${planId}/validation`, microgridId ? { microgrid: microgridId } : {}),
  publish: (planId, etag) => request("POST", `plans/${planId}/publish`, { ifMatch: etag }),
};

export function planFromResponse(res) {
  const p = res.data.properties ? { id: res.data.id, ...res.data.properties } : res.data;
  const etag = res.headers.get("ETag") || p.etag;
  return { ...p, etag };
}

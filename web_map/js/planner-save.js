// Saving the planner's edits in one all-or-nothing request with the plan's ETag
// (If-Match), the 412 conflict dialog, reloading, and the server-side operations
// (split, merge, re-run).  Mixed into Planner.

import { request } from "./api.js";
import { openDialog, toast, errorMessage } from "./dialog.js";
import { escapeHtml } from "./layers.js";
import { planApi, planFromResponse } from "./planner-api.js";
import { t, ownString } from "../i18n.js";

const $ = (id) => document.getElementById(id);

// ---- the partition engine's notes, in the planner's language ------------------------------------
// The API gives each note of a re-run its kind, its English message and its structured
// fields (village_code; microgrids, cells and villages as lists of ids; households, a
// count; params, the numbers of the message).  {microgrid} is the first micro-grid a
// note names and {neighbours} the others (a micro-grid with no households first, then
// those next to it).  A note is worded from the current
// language's template "engine.<kind>" (strings/zh.js, strings/en.js) filled from those
// fields.  A kind with no template in the current language (one the engine gained
// later), or a note that lacks a field its template needs, is shown in the engine's own
// English message.  Everything here is plain text: the toast sets textContent, so ids
// from the register are never markup.

// the villages' names, where the map has them: a note's village is "431227103001（黄家村）"
let villageName = () => null;

/** Let notes name villages: `fn(code)` gives a village's name, or null. */
export function setVillageNames(fn) {
  villageName = typeof fn === "function" ? fn : () => null;
}

/** A village's code, with its name after it where the map knows it. */
export function village(code) {
  if (code === null || code === undefined) return null;
  const name = villageName(String(code));
  return name ? String(code) + t("engine.village.name", { name }) : String(code);
}

/** Villages' codes (each with its name) as a list. */
function villageList(codes) {
  return Array.isArray(codes) ? idList(codes.map(village)) : null;
}

/** Ids as a list in the current language: the first 8, then how many more. */
function idList(ids, more = 0) {
  if (!Array.isArray(ids) || !ids.length) return null;
  const shown = ids.slice(0, 8).map(String);
  const rest = ids.length - shown.length + more;
  return shown.join(t("engine.list.sep")) + (rest > 0 ? t("engine.list.more", { n: rest }) : "");
}

/** An area in m², as the current language writes it (km² from 0.01 km² on). */
function area(m2) {
  if (typeof m2 !== "number" || !Number.isFinite(m2)) return null;
  return m2 >= 1e4 ? t("engine.area.km2", { v: (m2 / 1e6).toFixed(3) }) : t("engine.area.m2", { v: Math.round(m2) });
}

/** `key`'s template filled from `vars`, or null where a placeholder has no value. */
function fill(key, vars) {
  const template = ownString(key);
  if (typeof template !== "string") return null;
  const need = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (need.some((name) => vars[name] === null || vars[name] === undefined)) return null;
  // (a village's name in full-width brackets ends a code the template spaced off:
  // "村 431227103001（凉伞社区） 的" reads "村 431227103001（凉伞社区）的")
  return t(key, vars).replace(/） /g, "）");
}

// the optional phrases of a kind's template ("engine.<kind>.<name>", filling {<name>}):
// put in where the note has what they tell of, else left out
const hasCells = (n) => Array.isArray(n.cells) && n.cells.length > 0;
const hasNeighbours = (n) => Array.isArray(n.microgrids) && n.microgrids.length > 1;
const PHRASES = {
  microgrid_area_changed: { passed: (n) => n.params && n.params.passed_m2 !== undefined },
  microgrid_in_pieces: { torn: hasCells },
  // a micro-grid with no households: its neighbours to re-run it with, the locked cells
  // that keep it, or none (its village's only one)
  empty_microgrid: {
    with: (n) => hasNeighbours(n) && !hasCells(n),
    locked: hasCells,
    alone: (n) => !hasNeighbours(n) && !hasCells(n),
  },
};

/** One engine note as text in the current language (see above). */
export function noteText(note) {
  const n = note || {};
  const p = n.params || {};
  const vars = {
    village: village(n.village_code),
    households: typeof n.households === "number" ? n.households : null,
    microgrids: idList(n.microgrids),
    // (a note about one micro-grid and those next to it: empty_microgrid, microgrid_dropped)
    microgrid: Array.isArray(n.microgrids) && n.microgrids.length ? String(n.microgrids[0]) : null,
    neighbours: Array.isArray(n.microgrids) ? idList(n.microgrids.slice(1)) : null,
    cells: idList(n.cells),
    villages: villageList(n.villages),
    pieces: typeof p.pieces === "number" ? p.pieces : null,
    area: area(p.area_m2),
    gained: area(p.gained_m2),
    lost: area(p.lost_m2),
    passed: area(p.passed_m2),
  };
  // a split made by hand is worded as such, not with the engine's reasons
  const key = p.by_hand && typeof ownString(`engine.${n.kind}.by_hand`) === "string"
    ? `engine.${n.kind}.by_hand` : `engine.${n.kind}`;
  for (const [name, present] of Object.entries(PHRASES[n.kind] || {})) {
    vars[name] = present(n) ? fill(`${key}.${name}`, vars) : "";
  }
  return fill(key, vars) ?? String(n.message ?? "");
}

// the partition engine's own refusals of a re-run for a village's new outline (the
// API's errors[].type; params: village, and the micro-grids it names), each worded from
// "planner.rerun.refused.<type>" with {village} and {microgrids}
const OUTLINE_REFUSALS = ["outline_leaves_no_land", "outline_leaves_no_households", "outline_has_no_area"];

/** The engine's refusal `errors` of one type (one per village for outline_has_no_area),
 * their villages and micro-grids together, in the current language; null where the
 * language has no template or an error lacks what it needs. */
function outlineRefusal(type, errors) {
  const villages = [];
  const microgrids = [];
  for (const e of errors) {
    const v = e.params.village;
    if (typeof v === "string" || typeof v === "number") villages.push(String(v));
    if (Array.isArray(e.params.microgrids)) microgrids.push(...e.params.microgrids);
  }
  return fill(`planner.rerun.refused.${type}`, {
    village: villageList([...new Set(villages)]),
    microgrids: idList([...new Set(microgrids.map(String))]),
  });
}

/** A refused re-run in the current language: the API's "rerun_leaves_households" (a
 * household would be left in no cell) or one of the engine's OUTLINE_REFUSALS; null
 * for any other error, or one the current language cannot word (shown as the server
 * words it). */
export function rerunRefusal(err) {
  const errors = err && err.body && Array.isArray(err.body.errors) ? err.body.errors : [];
  const outline = errors.find((x) => x && OUTLINE_REFUSALS.includes(x.type) && x.params);
  if (outline) return outlineRefusal(outline.type, errors.filter((x) => x && x.type === outline.type && x.params));
  const e = errors.find((x) => x && x.type === "rerun_leaves_households" && x.params);
  if (!e) return null;
  const p = e.params;
  const notes = Array.isArray(p.notes) ? p.notes : [];
  const vars = {
    microgrids: idList(p.microgrids),
    n: typeof p.n === "number" ? p.n : null,
    households: idList(p.households, typeof p.more === "number" ? p.more : 0),
    lie_in: idList(p.lie_in),
    nowhere: typeof p.nowhere === "number" && p.nowhere > 0 ? p.nowhere : null,
    notes: notes.length ? notes.map(noteText).join(" — ") : null,
  };
  for (const name of ["lie_in", "nowhere", "engine"]) {
    const has = name === "engine" ? vars.notes !== null : vars[name] !== null;
    vars[name] = has ? fill(`planner.rerun.refused.${name}`, vars) : "";
  }
  return fill("planner.rerun.refused", vars);
}

/** Whether an edit's answer says the plan's notes changed: moves, splits and merges bring
 * the notes about buildings and small hamlets of their villages up to date. */
function notesChanged(data) {
  const n = data && data.notes;
  return Boolean(n && (n.removed || n.added));
}

export class PlannerSave {
  // ---- saving ------------------------------------------------------------------------------------
  /** The net change since the last load: moves, new cells, locks and the boundary. */
  pendingChanges() {
    const moves = [];
    const newCells = new Map(); // "new:N" -> [household ids]
    for (const h of this.houses.values()) {
      if (h.cellId === h.baseCellId) continue;
      if (h.cellId.startsWith("new:")) {
        if (!newCells.has(h.cellId)) newCells.set(h.cellId, []);
        newCells.get(h.cellId).push(h);
      } else {
        moves.push({ household_id: h.id, cell_id: h.cellId });
      }
    }
    const locks = [...this.cells.values()].filter((c) => !c.isNew && c.locked !== c.baseLocked);
    const boundary = [...this.history.done].reverse().find((e) => e.kind === "boundary");
    return { moves, newCells, locks, boundary: boundary ? boundary.geometry : null };
  }

  /** The pending edits as the ordered operations of POST /plans/{id}/edits: unlocks,
   * boundary, moves, new cells (gathered into one source cell, then split off), locks. */
  pendingEdits() {
    const { moves, newCells, locks, boundary } = this.pendingChanges();
    const edits = [];
    for (const c of locks.filter((c) => !c.locked)) edits.push({ op: "unlock", cell_id: c.id });
    if (boundary) edits.push({ op: "boundary", microgrid_id: this.mg.id, geometry: boundary });
    if (moves.length) edits.push({ op: "move", moves });
    for (const members of newCells.values()) {
      const source = members[0].baseCellId;
      const gather = members.filter((h) => h.baseCellId !== source).map((h) => ({ household_id: h.id, cell_id: source }));
      if (gather.length) edits.push({ op: "move", moves: gather });
      edits.push({ op: "split", cell_id: source, household_ids: members.map((h) => h.id) });
    }
    for (const c of locks.filter((c) => c.locked)) edits.push({ op: "lock", cell_id: c.id });
    return edits;
  }

  /**
   * Send the pending edits in one request, applied by the server in one transaction
   * under the ETag the plan was loaded with: all are saved (one new ETag), or none is.
   * A plan saved by someone else meanwhile fails with 412 and the conflict dialog; any
   * other refusal names the failing edit and leaves the plan and the ETag as they were.
   */
  async save() {
    if (!this.editable || !this.history.pending) return true;
    const edits = this.pendingEdits();
    const btn = $("save");
    btn.disabled = true;
    btn.textContent = t("planner.saving");
    const planId = this.plan.id;
    try {
      let notes = false;
      if (edits.length) {
        const res = await request("POST", `plans/${planId}/edits`, { ifMatch: this.plan.etag, json: { edits } });
        const e = res.headers.get("ETag");
        if (e) this.plan.etag = e;
        notes = notesChanged(res.data);
      }
      this.history.clear();
      toast(t("planner.saved"));
      await this.reloadMicrogrid();
      if (notes) await this.loadNotes(); // a building or a hamlet split, or whole again
      return true;
    } catch (err) {
      if (err.status === 412) this.conflict();
      else toast(errorMessage(err), { error: true });
      return false;
    } finally {
      btn.disabled = false;
      btn.textContent = t("planner.save");
      this.renderAll();
    }
  }

  async conflict() {
    const ok = await openDialog({
      title: t("planner.conflict.title"),
      body: `<p id="conflict-text">${escapeHtml(t("planner.conflict.body"))}</p>`,
      ok: t("planner.conflict.reload"),
      cancel: t("planner.conflict.keep"),
      className: "conflict",
    });
    if (ok) {
      this.history.clear();
      await this.reloadMicrogrid();
    }
  }

  /** The micro-grids next to the open one where it has no households left, in scope:
   * [{id, key}], as the engine's empty_microgrid note names them (it first, then those
   * next to it), or the validation's empty cell of it ("fix": rerun_with_neighbour). */
  emptyNeighbours() {
    const key = this.mg && this.mg.feature && this.mg.feature.properties.microgrid_key;
    if (!key) return [];
    const note = (this.planNotes || []).find((n) => n.kind === "empty_microgrid" && Array.isArray(n.microgrids)
      && n.microgrids[0] === key && !(n.cells && n.cells.length));
    const problem = (this.validationIssues || []).find((v) => v.rule === "empty_cell" && v.fix === "rerun_with_neighbour"
      && (v.objects || []).some((o) => o.type === "microgrid" && o.key === key));
    const objects = note ? (note.objects || []).filter((o) => note.microgrids.includes(o.key))
      : problem ? problem.objects || [] : [];
    return objects.filter((o) => o.type === "microgrid" && o.key !== key);
  }

  async reloadMicrogrid() {
    const planId = this.plan.id;
    this.plan = planFromResponse(await planApi.getPlan(planId));
    this.loadQuality(); // what the edit did to the figures
    const mgId = this.mg && this.mg.id;
    this.mgLayer.clearLayers();
    this.mgLoaded = new Set();
    this.mgGen = (this.mgGen || 0) + 1;
    await this.loadMicrogrids();
    if (mgId) {
      let found = null;
      this.mgLayer.eachLayer((l) => {
        if (l.feature.id === mgId) found = l;
      });
      if (found) {
        this.mg = { id: mgId, feature: found.feature, layer: found };
        this.mgLayer.eachLayer((l) => l.setStyle({ weight: l === found ? 3 : 1.2, fillOpacity: l === found ? 0 : 0.1, color: l === found ? "#0b2f5c" : "#6b7f99" }));
        await this.loadMicrogridContents();
      } else {
        this.closeMicrogrid();
      }
    }
    this.renderAll();
  }

  async serverOp(kind) {
    if (!this.editable || !this.mg) return;
    const splitOff = kind === "split" ? [...this.selected].filter((id) => this.houses.get(id).cellId === this.picked[0]) : [];
    if (kind === "split" && (!this.picked[0] || !splitOff.length)) return toast(t("planner.cell.split.pick"));
    if (kind === "merge" && this.picked.length !== 2) return toast(t("planner.cell.merge.pick"));
    // a micro-grid with no households is re-run together with a neighbour, which takes
    // its land (the engine's empty_microgrid note names them): offered, the first chosen
    let withIds = [];
    if (kind === "rerun") {
      const near = this.emptyNeighbours();
      const choice = near.length
        ? `<p><label>${escapeHtml(t("planner.rerun.with"))} <select name="with" id="rerun-with">`
          + `${near.map((o, i) => `<option value="${escapeHtml(o.id)}"${i ? "" : " selected"}>${escapeHtml(String(o.key).replace(/^\d{9,}-/, ""))}</option>`).join("")}`
          + `<option value="">${escapeHtml(t("planner.rerun.with.none"))}</option></select></label></p>`
        : "";
      const values = await openDialog({ title: t("planner.rerun"), body: `<p>${escapeHtml(t("planner.rerun.confirm"))}</p>${choice}` });
      if (!values) return;
      if (values.with) withIds = [values.with];
    }
    if (this.history.pending && !(await this.save())) return;
    try {
      let res;
      if (kind === "split") res = await planApi.split(this.plan.id, this.plan.etag, this.picked[0], splitOff);
      else if (kind === "merge") res = await planApi.merge(this.plan.id, this.plan.etag, this.picked[0], this.picked[1]);
      else res = await planApi.rerun(this.plan.id, this.plan.etag, [this.mg.id, ...withIds]);
      const e = res.headers.get("ETag");
      if (e) this.plan.etag = e;
      // handed over and dropped: the neighbour that took its land is the one open now
      const dropped = kind === "rerun" && res.data && res.data.microgrids_dropped;
      if (withIds.length && dropped && dropped[this.mg.feature.properties.microgrid_key]) this.mg = { ...this.mg, id: withIds[0] };
      this.picked = [];
      // a re-run's notes from the engine (an outline followed, a micro-grid in pieces,
      // a locked cell over the cap...): shown, not dropped; they stay up longer
      const notes = kind === "rerun" ? (res.data && res.data.notes) || [] : [];
      if (notes.length) toast(t("planner.rerun.notes", { n: notes.length, notes: notes.map(noteText).join(" — ") }), { ms: 20000 });
      else toast(t("planner.done"));
      await this.reloadMicrogrid();
      // the re-run's notes replace those it re-solved, and its answer carries the plan's
      // notes as they are now (plan_notes: what GET notes would give); a split or a merge
      // brings those about buildings and hamlets up to date
      const planNotes = kind === "rerun" && res.data ? res.data.plan_notes : null;
      if (planNotes && planNotes.plan_id === this.plan.id) this.showNotes(planNotes);
      else if (kind === "rerun" || notesChanged(res.data)) await this.loadNotes();
    } catch (err) {
      const refused = kind === "rerun" ? rerunRefusal(err) : null;
      if (err.status === 412) this.conflict();
      else if (refused) toast(t("error.generic", { msg: refused }), { error: true, ms: 20000 });
      else toast(errorMessage(err), { error: true });
    }
  }

}

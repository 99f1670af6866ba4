// The partition engine's notes about the plan (GET plans/{id}/notes): every place where
// a rule could not be met (a building over the cap kept whole, an isolated household,
// a hamlet split, households outside their village...), worded in the planner's
// language (noteText), filtered by kind, and for the open micro-grid only when one is
// open.  A click zooms to what the note names, as a validation problem does.  In a
// draft each note has a tick box: dealt with (or accepted), kept on the server with who
// ticked it; open notes are listed first.  Mixed into Planner.

import { toast, errorMessage } from "./dialog.js";
import { renderRows } from "./actionrow.js";
import { escapeHtml } from "./layers.js";
import { planApi } from "./planner-api.js";
import { noteText, village } from "./planner-save.js";
import { t } from "../i18n.js";

const $ = (id) => document.getElementById(id);

/** Notes listed at most; the rest are counted (a kind filter narrows them). */
export const NOTES_SHOWN = 200;

/** A kind's short name in the current language, or the kind itself. */
export function kindLabel(kind) {
  const key = `notekind.${kind}`;
  const s = t(key);
  return s === key ? kind : s;
}

/** One village's entry of the API's `register_changes` in the current language: what
 *  changed since the plan read it (households added, moved, taken out of the register,
 *  counted apart; its outline redrawn) and what to do, on a line of its own: re-run
 *  the micro-grids the entry names (those that have not read the register since), or
 *  the village's where it names none.  An analyst's entry has no counts (null): what
 *  changed is said without how many, from `households_changed` and `outline`. */
export function registerVillageText(c) {
  const sep = t("planner.register.sep");
  const counted = ["added", "moved", "removed"].every((k) => Number.isFinite(c[k]));
  // an answer that does not say whether households changed too (before it did): maybe
  const households = typeof c.households_changed === "boolean" ? c.households_changed : null;
  const parts = [];
  if (counted) {
    const n = [];
    if (c.added) n.push(t("planner.register.added", { n: c.added }));
    if (c.moved) n.push(t("planner.register.moved", { n: c.moved }));
    if (c.removed) n.push(t("planner.register.removed", { n: c.removed }));
    if (n.length) parts.push(n.join(t("engine.list.sep")));
    if (c.outline) parts.push(t("planner.register.outline"));
  } else if (c.outline) {
    parts.push(t("planner.register.outline"));
    if (households === null) parts.push(t("planner.register.households.maybe"));
    else if (households) parts.push(t("planner.register.households"));
  } else {
    parts.push(t("planner.register.households")); // listed, and not for its outline
  }
  const keys = (Array.isArray(c.microgrids) ? c.microgrids : [])
    .map((m) => (m && m.key !== null && m.key !== undefined ? String(m.key) : null)).filter((k) => k !== null);
  const vars = { village: village(c.village_code), what: parts.join(sep) };
  return keys.length
    ? t("planner.register.village.microgrids", { ...vars, microgrids: keys.join(t("engine.list.sep")) })
    : t("planner.register.village", vars);
}

/** The API's `register_changes` (the villages whose register changed after the plan
 *  last read it: when it was drawn or re-run) in the current language: a heading and
 *  one line per village; null where none did, or where the plan does not know (null). */
export function registerText(changes) {
  if (!Array.isArray(changes) || !changes.length) return null;
  return { head: t("planner.register.changed"), villages: changes.map(registerVillageText) };
}

/** Those lines in a notice before the list `listId` (made when first needed), hidden
 *  where there is nothing to say.  Plain text: codes are never markup. */
export function showRegisterLine(listId, changes) {
  const list = $(listId);
  if (!list) return;
  const text = registerText(changes);
  let line = $(`${listId}-register`);
  if (!line) {
    if (!text) return;
    line = document.createElement("div");
    line.id = `${listId}-register`;
    line.className = "notice warn register";
    line.setAttribute("role", "status");
    list.before(line);
  }
  line.replaceChildren();
  line.hidden = !text;
  if (!text) return;
  const head = document.createElement("p");
  head.textContent = text.head;
  const ul = document.createElement("ul");
  for (const v of text.villages) {
    const li = document.createElement("li");
    li.textContent = v;
    ul.append(li);
  }
  line.append(head, ul);
}

export class PlannerNotes {
  /** The plan's notes from the API (all of them; the view filters). */
  async loadNotes() {
    const plan = this.plan;
    if (!plan) return;
    try {
      const { data } = await planApi.notes(plan.id);
      if (this.plan !== plan) return; // another plan chosen meanwhile
      this.showNotes(data);
    } catch (err) {
      if (this.plan !== plan) return;
      this.planNotes = null;
      toast(errorMessage(err), { error: true });
      this.renderNotes();
    }
  }

  /** Show `data`, the plan's notes as GET plans/{id}/notes answers them (or as a re-run's
   *  answer carries them: its `plan_notes`, the same). */
  showNotes(data) {
    this.planNotes = data.notes || [];
    this.notesRecorded = data.recorded !== false;
    this.registerChanges = data.register_changes ?? null;
    this.renderNotes();
  }

  /** Whether `note` is about the open micro-grid (names it, one of its cells, a
   *  household that the API placed in one of its cells, or is its village's own). */
  noteInMicrogrid(note) {
    if (!this.mg) return true;
    const key = String(this.mg.feature.properties.microgrid_key || "");
    const village = String(this.mg.feature.properties.village_code || "");
    return (note.objects || []).some((o) => (o.type === "microgrid" && o.id === this.mg.id)
      || (o.type === "cell" && String(o.key || "").startsWith(`${key}-`))
      || (o.type === "village" && String(o.code) === village)); // its village's own notes
  }

  renderNotes() {
    const box = $("pp-notes");
    if (!box) return;
    box.hidden = !this.plan || !Array.isArray(this.planNotes);
    if (box.hidden) return;
    const here = this.planNotes.filter((n) => this.noteInMicrogrid(n));
    // the register changed since the plan read it: its notes may be out of date
    const mgVillage = this.mg ? String(this.mg.feature.properties.village_code || "") : null;
    showRegisterLine("notes", (this.registerChanges || []).filter((c) => !mgVillage || String(c.village_code) === mgVillage));
    const counts = new Map();
    for (const n of here) counts.set(n.kind, (counts.get(n.kind) || 0) + 1);
    const kinds = [...counts.keys()].sort((a, b) => counts.get(b) - counts.get(a) || a.localeCompare(b));
    if (this.notesKind && !counts.has(this.notesKind)) this.notesKind = "";
    const open = here.filter((n) => !n.acknowledged).length;
    $("notes-title").textContent = this.mg
      ? t("planner.notes.microgrid", { n: here.length, open, all: this.planNotes.length })
      : t("planner.notes.plan", { n: here.length, open });
    const sel = $("notes-kind");
    sel.innerHTML = `<option value="">${escapeHtml(t("planner.notes.all", { n: here.length }))}</option>` +
      kinds.map((k) => `<option value="${escapeHtml(k)}">${escapeHtml(kindLabel(k))} (${counts.get(k)})</option>`).join("");
    sel.value = this.notesKind || "";
    sel.hidden = kinds.length < 2;
    // the open ones first (the list is what is left to do), each group in the API's order
    const shown = here.filter((n) => !this.notesKind || n.kind === this.notesKind)
      .sort((a, b) => Number(Boolean(a.acknowledged)) - Number(Boolean(b.acknowledged)));
    const ul = $("notes");
    if (!shown.length) {
      // a plan saved before notes were kept has none to show: that is not "every rule met"
      const none = this.notesRecorded === false ? "planner.notes.unrecorded"
        : this.mg ? "planner.notes.none.microgrid" : "planner.notes.none";
      ul.innerHTML = `<li class="${this.notesRecorded === false ? "more" : "ok"}">${escapeHtml(t(none))}</li>`;
      return;
    }
    this.notesShown = shown.slice(0, NOTES_SHOWN);
    const html = this.notesShown
      .map((n, i) => {
        const cls = [this.flashIssue === n ? "active" : "", n.acknowledged ? "done" : ""].filter(Boolean).join(" ");
        const by = n.acknowledged ? t("planner.notes.done.by", { who: n.acknowledged.by || "" }) : "";
        const box = this.editable
          ? `<label class="ack" title="${escapeHtml(by || t("planner.notes.done.mark"))}"><input type="checkbox" data-ack="${i}"${n.acknowledged ? " checked" : ""}> ${escapeHtml(t("planner.notes.done"))}</label>`
          : (n.acknowledged ? `<span class="ack" title="${escapeHtml(by)}">✓ ${escapeHtml(t("planner.notes.done"))}</span>` : "");
        // the sentence is the row's button (a row holding a tick box cannot be one): the
        // keyboard reaches it and Enter or Space zooms, as a click anywhere on the row does
        const key = n.id !== undefined && n.id !== null ? `id:${n.id}` : `i:${i}`;
        return `<li data-i="${i}" data-note="${escapeHtml(key)}"${cls ? ` class="${cls}"` : ""} title="${escapeHtml([n.message || "", by].filter(Boolean).join("\n"))}"><span class="head"><span class="rule" id="note-kind-${i}">${escapeHtml(kindLabel(n.kind))}</span>${box}</span><button type="button" class="text" aria-describedby="note-kind-${i}">${escapeHtml(noteText(n))}</button></li>`;
      })
      .join("") +
      (shown.length > NOTES_SHOWN ? `<li class="more">${escapeHtml(t("planner.notes.more", { n: shown.length - NOTES_SHOWN }))}</li>` : "");
    renderRows(ul, html, "data-note", () => {
      for (const li of ul.querySelectorAll("li[data-i]")) {
        li.addEventListener("click", (e) => {
          if (e.target.closest(".ack")) return; // the tick box, not a zoom
          this.zoomToIssue(this.notesShown[+li.dataset.i]);
        });
      }
      for (const box of ul.querySelectorAll("input[data-ack]")) {
        box.addEventListener("change", () => this.acknowledgeNote(this.notesShown[+box.dataset.ack], box.checked));
      }
    });
  }

  /** Mark `note` dealt with (on) or open again; the list re-renders with the server's answer. */
  async acknowledgeNote(note, on) {
    if (!this.plan || !this.editable) return;
    const plan = this.plan;
    try {
      const { data } = await planApi.ackNote(plan.id, note.id, on);
      if (this.plan !== plan || !Array.isArray(this.planNotes)) return;
      const i = this.planNotes.findIndex((n) => n.id === note.id);
      if (i >= 0) {
        if (this.flashIssue === this.planNotes[i]) this.flashIssue = data;
        this.planNotes[i] = data;
      }
    } catch (err) {
      toast(errorMessage(err), { error: true });
    }
    this.renderNotes();
  }
}

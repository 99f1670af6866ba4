// The partition engine's notes about the plan (GET plans/{id}/notes): every place where
// a rule could not be met (a building over the cap kept whole, an isolated household,
// a hamlet split, households outside their village...), worded in the planner's
// language (noteText), filtered by kind, and for the open micro-grid only when one is
// open.  A click zooms to what the note names, as a validation problem does.  Mixed
// into Planner.

import { toast, errorMessage } from "./dialog.js";
import { escapeHtml } from "./layers.js";
import { planApi } from "./planner-api.js";
import { noteText } from "./planner-save.js";
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

export class PlannerNotes {
  /** The plan's notes from the API (all of them; the view filters). */
  async loadNotes() {
    const plan = this.plan;
    if (!plan) return;
    try {
      const { data } = await planApi.notes(plan.id);
      if (this.plan !== plan) return; // another plan chosen meanwhile
      this.planNotes = data.notes || [];
    } catch (err) {
      this.planNotes = null;
      toast(errorMessage(err), { error: true });
    }
    this.renderNotes();
  }

  /** Whether `note` is about the open micro-grid (names it, one of its cells, or a
   *  household that the API placed in one of its cells). */
  noteInMicrogrid(note) {
    if (!this.mg) return true;
    const key = String(this.mg.feature.properties.microgrid_key || "");
    return (note.objects || []).some((o) => (o.type === "microgrid" && o.id === this.mg.id)
      || (o.type === "cell" && String(o.key || "").startsWith(`${key}-`)));
  }

  renderNotes() {
    const box = $("pp-notes");
    if (!box) return;
    box.hidden = !this.plan || !Array.isArray(this.planNotes);
    if (box.hidden) return;
    const here = this.planNotes.filter((n) => this.noteInMicrogrid(n));
    const counts = new Map();
    for (const n of here) counts.set(n.kind, (counts.get(n.kind) || 0) + 1);
    const kinds = [...counts.keys()].sort((a, b) => counts.get(b) - counts.get(a) || a.localeCompare(b));
    if (this.notesKind && !counts.has(this.notesKind)) this.notesKind = "";
    $("notes-title").textContent = this.mg
      ? t("planner.notes.microgrid", { n: here.length, all: this.planNotes.length })
      : t("planner.notes.plan", { n: here.length });
    const sel = $("notes-kind");
    sel.innerHTML = `<option value="">${escapeHtml(t("planner.notes.all", { n: here.length }))}</option>` +
      kinds.map((k) => `<option value="${escapeHtml(k)}">${escapeHtml(kindLabel(k))} (${counts.get(k)})</option>`).join("");
    sel.value = this.notesKind || "";
    sel.hidden = kinds.length < 2;
    const shown = here.filter((n) => !this.notesKind || n.kind === this.notesKind);
    const ul = $("notes");
    if (!shown.length) {
      ul.innerHTML = `<li class="ok">${escapeHtml(t(this.mg ? "planner.notes.none.microgrid" : "planner.notes.none"))}</li>`;
      return;
    }
    this.notesShown = shown.slice(0, NOTES_SHOWN);
    ul.innerHTML = this.notesShown
      .map((n, i) => {
        const active = this.flashIssue === n ? ' class="active"' : "";
        return `<li data-i="${i}"${active} title="${escapeHtml(n.message || "")}"><span class="rule">${escapeHtml(kindLabel(n.kind))}</span><span class="text">${escapeHtml(noteText(n))}</span></li>`;
      })
      .join("") +
      (shown.length > NOTES_SHOWN ? `<li class="more">${escapeHtml(t("planner.notes.more", { n: shown.length - NOTES_SHOWN }))}</li>` : "");
    for (const li of ul.querySelectorAll("li[data-i]")) li.addEventListener("click", () => this.zoomToIssue(this.notesShown[+li.dataset.i]));
  }
}

// The side panel: house -> residents (masked) -> person -> reveal with a purpose.

import { get, request } from "./api.js";
import { openDialog, errorMessage, toast } from "./dialog.js";
import { actionRow } from "./actionrow.js";
import { apiMessage } from "./apimessage.js";
import { escapeHtml, CARE_COLOURS } from "./layers.js";
import { t } from "../i18n.js";

const $ = (id) => document.getElementById(id);

function field(label, value, { masked = false, html = false } = {}) {
  const v = value === null || value === undefined || value === "" ? "—" : value;
  const shown = html ? v : escapeHtml(v);
  return `<dt>${escapeHtml(label)}</dt><dd${masked ? ' class="masked"' : ""}>${shown}</dd>`;
}

function careChip(level) {
  if (!level) return t("care.unknown");
  return `<span class="care-chip"><span class="dot care-${escapeHtml(level)}" style="background:${CARE_COLOURS[level] || "#999"}"></span>${escapeHtml(t(`care.${level}`))}</span>`;
}

/** The reasons the house panel offers (a merge needs the household it joined, which
 * the panel cannot pick: the API takes it, the panel does not offer it). */
const REMOVAL_REASONS = ["moved_out", "dissolved", "duplicate"];

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export class SidePanel {
  /** `canRemove()`: whether the user may take households out of the register (the
   * API's remove_households); `onRegisterChanged(id)`: a household left it or came back. */
  constructor({ onClose, onShow, canRemove = () => false, canEdit = () => false, onRegisterChanged = () => {} } = {}) {
    this.canRemove = canRemove;
    /** whether the user may change a household's care level and its residents (edit_households) */
    this.canEdit = canEdit;
    this.onRegisterChanged = onRegisterChanged;
    this.panel = $("side-panel");
    this.body = $("side-body");
    this.title = $("side-title");
    this.back = $("side-back");
    this.onClose = onClose || (() => {});
    this.onShow = onShow || (() => {});
    this.stack = [];
    /** counts what the panel was given to show: an answer that comes after the panel
     * moved on (another house tapped on a slow connection, closed) is not drawn */
    this.gen = 0;
    $("side-close").addEventListener("click", () => this.close());
    this.back.addEventListener("click", () => this.pop());
  }

  close() {
    this.gen += 1;
    this.panel.hidden = true;
    this.stack = [];
    this.onClose();
  }

  show(title, html) {
    this.gen += 1;
    this.panel.hidden = false;
    this.title.textContent = title;
    this.body.innerHTML = html;
    this.back.hidden = this.stack.length < 2;
    this.onShow();
  }

  pop() {
    this.stack.pop();
    const top = this.stack.pop();
    if (top) top();
  }

  /** Draw the open view again (after a language switch): each view's entry on the
   * stack draws it and puts itself back on top. */
  refresh() {
    if (this.panel.hidden || !this.stack.length) return;
    this.stack.pop()();
  }

  loading(title) {
    this.show(title, `<p class="hint">${escapeHtml(t("panel.loading"))}</p>`);
  }

  async openHouse(id) {
    const render = () => this.openHouse(id);
    this.stack = [render];
    this.loading(t("house.title"));
    const gen = this.gen;
    let h, headers;
    try {
      ({ data: h, headers } = await get(`households/${encodeURIComponent(id)}`));
    } catch (err) {
      if (gen !== this.gen) return null; // the panel shows something else since
      this.show(t("house.title"), `<p class="error">${escapeHtml(err.status === 404 ? t("house.notfound") : errorMessage(err))}</p>`);
      return null;
    }
    if (gen !== this.gen) return null;
    this.house = h;
    const p = h.properties || h;
    const residents = h.residents || p.residents || h.persons || p.persons || [];
    const rows = residents
      .map(
        (r) => `<li data-person="${escapeHtml(r.id)}">
          <span class="who">${escapeHtml(r.name)}</span>
          <span class="rel">${escapeHtml(r.relation || "")}</span>${r.party_member ? `<span class="tag party">${escapeHtml(t("person.party"))}</span>` : ""}
          <span class="idn masked">${escapeHtml(r.id_number || "")}</span></li>`,
      )
      .join("");
    this.show(
      p.address || t("house.title"),
      `<dl class="fields">
        ${field(t("house.no"), p.household_no)}
        ${field(t("house.head"), p.head_name)}
        ${field(t("house.address"), p.address)}
        ${field(t("house.care"), careChip(p.care_level) + (this.canEdit() ? ` <button type="button" class="link small" id="care-edit">${escapeHtml(t("care.edit"))}</button>` : ""), { html: true })}
        ${field(t("house.village"), p.village_name || p.village_code)}
        ${field(t("house.cell"), p.cell_name || p.cell_key || p.cell_id)}
      </dl>
      <div class="section-title">${escapeHtml(t("house.residents", { n: residents.length }))}</div>
      ${residents.length ? `<ul class="residents" id="residents">${rows}</ul>` : `<p class="hint">${escapeHtml(t("house.noresidents"))}</p>`}
      ${this.canRemove() ? `<button type="button" class="btn wide danger" id="remove-btn" style="margin-top: 12px">${escapeHtml(t("house.remove"))}</button>` : ""}`,
    );
    for (const li of this.body.querySelectorAll("[data-person]")) actionRow(li, () => this.openPerson(li.dataset.person));
    const careBtn = $("care-edit");
    if (careBtn) careBtn.addEventListener("click", () => this.editCare(id, p.care_level, headers && headers.get("ETag")));
    const removeBtn = $("remove-btn");
    if (removeBtn) removeBtn.addEventListener("click", () => this.removeHouse(id, headers && headers.get("ETag")));
    return h;
  }

  /** Change the household's care level (PATCH households/{id} with the ETag it was read
   * with).  Someone else's change since (412) is shown with what they chose, and not
   * written over unless saved again; a failed request (no connection) keeps the dialog
   * and the choice, to be saved again. */
  async editCare(id, level, etag) {
    const body = document.createElement("div");
    const options = ["green", "yellow", "red"]
      .map((c) => `<option value="${c}"${c === level ? " selected" : ""}>${escapeHtml(t(`care.${c}`))}</option>`)
      .join("");
    body.innerHTML = `<label><span>${escapeHtml(t("house.care"))}</span><select name="care_level" id="care-level">${options}</select></label>`;
    let saved = null;
    const ok = await openDialog({
      title: t("care.edit.title"),
      body,
      ok: t("care.edit.save"),
      cancel: t("dialog.cancel"),
      onOk: async (v) => {
        try {
          ({ data: saved } = await request("PATCH", `households/${encodeURIComponent(id)}`, {
            json: { care_level: v.care_level },
            ifMatch: etag,
          }));
          return null;
        } catch (err) {
          if (err.status !== 412) return errorMessage(err);
          // changed by someone else since it was read: show theirs, save again to overwrite
          try {
            const fresh = await get(`households/${encodeURIComponent(id)}`);
            etag = fresh.headers.get("ETag");
            const now = (fresh.data.properties || fresh.data).care_level;
            this.onRegisterChanged(id);
            this.openHouse(id);
            return t("care.edit.stale", { level: now ? t(`care.${now}`) : t("care.unknown") });
          } catch (again) {
            return errorMessage(again);
          }
        }
      },
    });
    if (!ok || !saved) return;
    toast(t("care.edit.saved", { level: t(`care.${saved.care_level}`) }));
    this.onRegisterChanged(id);
    await this.openHouse(id);
  }

  /** Take the household out of the register (POST households/{id}/removal with its
   * ETag), then offer the undo. */
  async removeHouse(id, etag) {
    const body = document.createElement("div");
    const options = REMOVAL_REASONS.map((r) => `<option value="${r}">${escapeHtml(t(`removal.reason.${r}`))}</option>`).join("");
    body.innerHTML = `<p>${escapeHtml(t("removal.explain"))}</p>
      <label><span>${escapeHtml(t("removal.reason"))}</span><select name="reason" id="removal-reason">${options}</select></label>
      <label><span>${escapeHtml(t("removal.date"))}</span><input type="date" name="date" id="removal-date" value="${today()}" max="${today()}"></label>
      <label><span>${escapeHtml(t("removal.note"))}</span><textarea name="note" id="removal-note" maxlength="500"></textarea></label>`;
    let done = null;
    const ok = await openDialog({
      title: t("removal.title"),
      body,
      ok: t("removal.submit"),
      cancel: t("removal.cancel"),
      validate: (v) => (v.date ? null : t("removal.date.required")),
      onOk: async (v) => {
        try {
          done = await request("POST", `households/${encodeURIComponent(id)}/removal`, {
            json: { reason: v.reason, date: v.date, note: (v.note || "").trim() || null },
            ifMatch: etag,
          });
          return null;
        } catch (err) {
          return errorMessage(err);
        }
      },
    });
    if (!ok || !done) return;
    const reason = t(`removal.reason.${done.data.reason}`);
    const undoEtag = done.headers.get("ETag");
    const render = () => {
      this.stack = [render];
      this.show(
        t("house.title"),
        `<p class="notice ok" id="removed-note">${escapeHtml(t("removal.done", { reason }))}</p>
         <button type="button" class="btn wide secondary" id="undo-remove-btn">${escapeHtml(t("removal.undo"))}</button>`,
      );
      $("undo-remove-btn").addEventListener("click", () => this.undoRemoval(id, undoEtag));
    };
    render();
    toast(t("removal.done", { reason }));
    this.onRegisterChanged(id);
  }

  async undoRemoval(id, etag) {
    try {
      await request("DELETE", `households/${encodeURIComponent(id)}/removal`, { ifMatch: etag });
    } catch (err) {
      toast(errorMessage(err), { error: true });
      return;
    }
    toast(t("removal.undone"));
    this.onRegisterChanged(id);
    await this.openHouse(id);
  }

  personHtml(p, revealed) {
    const tags = (Array.isArray(p.tags) ? p.tags : String(p.tags || "").split(";"))
      .filter(Boolean)
      .map((x) => `<span class="tag">${escapeHtml(t(`tag.${x}`))}</span>`)
      .join("");
    const party = p.party_member === undefined || p.party_member === null ? null : p.party_member ? t("person.yes") : t("person.no");
    return `<dl class="fields" id="person-fields">
        ${field(t("person.name"), p.name, { masked: !revealed })}
        ${field(t("person.gender"), p.gender ? t(`gender.${p.gender}`) : null)}
        ${p.birth_date ? field(t("person.birth"), p.birth_date) : field(t("person.age"), p.age === null || p.age === undefined ? null : t("person.age.value", { n: p.age }))}
        ${field(t("person.id"), p.id_number, { masked: !revealed })}
        ${field(t("person.phone"), p.phone, { masked: !revealed })}
        ${field(t("person.relation"), p.relation)}
        ${field(t("person.party"), party)}
        ${field(t("person.tags"), tags ? `<span class="tags">${tags}</span>` : null, { html: true })}
      </dl>`;
  }

  async openPerson(id) {
    this.stack.push(() => this.openPerson(id));
    this.loading(t("person.title"));
    const gen = this.gen;
    let p, headers;
    try {
      ({ data: p, headers } = await get(`persons/${encodeURIComponent(id)}`));
    } catch (err) {
      if (gen === this.gen) this.show(t("person.title"), `<p class="error">${escapeHtml(errorMessage(err))}</p>`);
      return;
    }
    if (gen !== this.gen) return;
    const props = p.properties || p;
    this.show(
      t("person.title"),
      `${this.personHtml(props, false)}
       <p class="notice" id="masked-note">${escapeHtml(t("person.masked"))} · ${escapeHtml(t("reveal.explain"))}</p>
       <button type="button" class="btn wide" id="reveal-btn">${escapeHtml(t("person.reveal"))}</button>
       ${this.canEdit() ? `<button type="button" class="btn wide secondary" id="person-edit" style="margin-top: 8px">${escapeHtml(t("person.edit"))}</button>` : ""}`,
    );
    $("reveal-btn").addEventListener("click", () => this.reveal(id));
    const editBtn = $("person-edit");
    if (editBtn) editBtn.addEventListener("click", () => this.editPerson(id, props, headers && headers.get("ETag")));
  }

  /** Correct a resident's phone, relation or party membership (PATCH persons/{id} with
   * the ETag they were read with), sending only what the user changed.  Someone else's
   * change since (412) is shown behind the dialog and not written over unless saved
   * again; a failed request (no connection) keeps the dialog and what was typed. */
  async editPerson(id, p, etag) {
    const body = document.createElement("div");
    body.innerHTML = `<label><span>${escapeHtml(t("person.edit.phone"))}</span>
        <input type="tel" name="phone" id="person-phone" maxlength="30" autocomplete="off" placeholder="${escapeHtml(t("person.edit.phone.hint", { phone: p.phone || "—" }))}"></label>
      <label><span>${escapeHtml(t("person.relation"))}</span><input name="relation" id="person-relation" maxlength="20" value="${escapeHtml(p.relation || "")}"></label>
      <label><span>${escapeHtml(t("person.party"))}</span><select name="party_member" id="person-party">
        <option value="no"${p.party_member ? "" : " selected"}>${escapeHtml(t("person.no"))}</option>
        <option value="yes"${p.party_member ? " selected" : ""}>${escapeHtml(t("person.yes"))}</option></select></label>`;
    let saved = null;
    const ok = await openDialog({
      title: t("person.edit.title"),
      body,
      ok: t("person.edit.save"),
      cancel: t("dialog.cancel"),
      onOk: async (v) => {
        const json = {};
        if ((v.phone || "").trim()) json.phone = v.phone.trim();
        if ((v.relation || "").trim() !== (p.relation || "")) json.relation = (v.relation || "").trim();
        if ((v.party_member === "yes") !== Boolean(p.party_member)) json.party_member = v.party_member === "yes";
        if (!Object.keys(json).length) return t("person.edit.nothing");
        try {
          ({ data: saved } = await request("PATCH", `persons/${encodeURIComponent(id)}`, { json, ifMatch: etag }));
          return null;
        } catch (err) {
          if (err.status !== 412) return errorMessage(err);
          try {
            const fresh = await get(`persons/${encodeURIComponent(id)}`);
            etag = fresh.headers.get("ETag");
            this.stack.pop();
            this.openPerson(id);
            return t("person.edit.stale");
          } catch (again) {
            return errorMessage(again);
          }
        }
      },
    });
    if (!ok || !saved) return;
    toast(t("person.edit.saved"));
    this.stack.pop();
    await this.openPerson(id);
  }

  async reveal(id) {
    const body = document.createElement("div");
    body.innerHTML = `<p>${escapeHtml(t("reveal.explain"))}</p>
      <label><span>${escapeHtml(t("reveal.purpose"))}</span>
      <textarea name="purpose" id="reveal-purpose" maxlength="500" placeholder="${escapeHtml(t("reveal.purpose.placeholder"))}"></textarea></label>`;
    let revealed = null;
    const ok = await openDialog({
      title: t("reveal.title"),
      body,
      ok: t("reveal.submit"),
      cancel: t("reveal.cancel"),
      validate: (v) => ((v.purpose || "").trim().length < 4 ? t("reveal.purpose.required") : null),
      onOk: async (v) => {
        try {
          ({ data: revealed } = await request("POST", `persons/${encodeURIComponent(id)}/reveal`, {
            json: { purpose: v.purpose.trim() },
          }));
          return null;
        } catch (err) {
          if (err.status === 403 || err.status === 404) return t("reveal.denied");
          if (err.status === 429) return apiMessage(err) ?? t("reveal.ratelimited");
          return errorMessage(err);
        }
      },
    });
    if (!ok || !revealed) return;
    const props = revealed.properties || revealed.person || revealed;
    // drawn again from what was revealed (a language switch), never revealed twice
    const render = () => {
      this.stack.push(render);
      this.show(
        t("person.title"),
        `${this.personHtml(props, true)}<p class="notice ok" id="revealed-note">${escapeHtml(t("person.revealed"))}</p>`,
      );
    };
    this.stack.pop();
    render();
    toast(t("person.revealed"));
  }
}

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

export class SidePanel {
  constructor({ onClose, onShow } = {}) {
    this.panel = $("side-panel");
    this.body = $("side-body");
    this.title = $("side-title");
    this.back = $("side-back");
    this.onClose = onClose || (() => {});
    this.onShow = onShow || (() => {});
    this.stack = [];
    $("side-close").addEventListener("click", () => this.close());
    this.back.addEventListener("click", () => this.pop());
  }

  close() {
    this.panel.hidden = true;
    this.stack = [];
    this.onClose();
  }

  show(title, html) {
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
    let h;
    try {
      ({ data: h } = await get(`households/${encodeURIComponent(id)}`));
    } catch (err) {
      this.show(t("house.title"), `<p class="error">${escapeHtml(err.status === 404 ? t("house.notfound") : errorMessage(err))}</p>`);
      return null;
    }
    this.house = h;
    const p = h.properties || h;
    const residents = h.residents || p.residents || h.persons || p.persons || [];
    const rows = residents
      .map(
        (r) => `<li data-person="${escapeHtml(r.id)}">
          <span class="who">${escapeHtml(r.name)}</span>
          <span class="rel">${escapeHtml(r.relation || "")}</span>
          <span class="idn masked">${escapeHtml(r.id_number || "")}</span></li>`,
      )
      .join("");
    this.show(
      p.address || t("house.title"),
      `<dl class="fields">
        ${field(t("house.no"), p.household_no)}
        ${field(t("house.head"), p.head_name)}
        ${field(t("house.address"), p.address)}
        ${field(t("house.care"), careChip(p.care_level), { html: true })}
        ${field(t("house.village"), p.village_name || p.village_code)}
        ${field(t("house.cell"), p.cell_name || p.cell_key || p.cell_id)}
      </dl>
      <div class="section-title">${escapeHtml(t("house.residents", { n: residents.length }))}</div>
      ${residents.length ? `<ul class="residents" id="residents">${rows}</ul>` : `<p class="hint">${escapeHtml(t("house.noresidents"))}</p>`}`,
    );
    for (const li of this.body.querySelectorAll("[data-person]")) actionRow(li, () => this.openPerson(li.dataset.person));
    return h;
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
    let p;
    try {
      ({ data: p } = await get(`persons/${encodeURIComponent(id)}`));
    } catch (err) {
      this.show(t("person.title"), `<p class="error">${escapeHtml(errorMessage(err))}</p>`);
      return;
    }
    const props = p.properties || p;
    this.show(
      t("person.title"),
      `${this.personHtml(props, false)}
       <p class="notice" id="masked-note">${escapeHtml(t("person.masked"))} · ${escapeHtml(t("reveal.explain"))}</p>
       <button type="button" class="btn wide" id="reveal-btn">${escapeHtml(t("person.reveal"))}</button>`,
    );
    $("reveal-btn").addEventListener("click", () => this.reveal(id));
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

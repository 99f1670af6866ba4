// Search by address, name or the tail of an ID number; picking a result flies to the house.

import { get } from "./api.js";
import { errorMessage } from "./dialog.js";
import { escapeHtml } from "./layers.js";
import { t } from "../i18n.js";

const $ = (id) => document.getElementById(id);

/** Normalise one search hit of whatever shape the API gives into {kind, label, sub, household_id, lon, lat}. */
export function normaliseHit(hit) {
  const p = hit.properties || hit;
  const coords = hit.geometry && hit.geometry.coordinates;
  const kind = p.kind || p.type || (p.person_id || p.name ? "person" : "household");
  return {
    kind: kind === "person" ? "person" : "household",
    label: p.label || p.name || p.address || p.household_no || "",
    sub: p.sub || (kind === "person" ? p.address || "" : p.household_no || ""),
    household_id: p.household_id || (kind !== "person" ? hit.id || p.id : null),
    lon: coords ? coords[0] : p.lon,
    lat: coords ? coords[1] : p.lat,
  };
}

export class SearchBox {
  constructor({ onPick }) {
    this.input = $("search-input");
    this.list = $("search-results");
    this.onPick = onPick;
    this.gen = 0;
    this.hits = [];
    this.active = -1;
    let timer;
    this.input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.run(), 250);
    });
    this.input.addEventListener("keydown", (e) => this.key(e));
    this.input.addEventListener("focus", () => this.hits.length && (this.list.hidden = false));
    document.addEventListener("click", (e) => {
      if (!$("search").contains(e.target)) this.list.hidden = true;
    });
  }

  async run() {
    const q = this.input.value.trim();
    const gen = ++this.gen;
    // one Chinese character is a family name (杨, 王): worth a search; one letter or digit is not
    if (q.length < 2 && !/^\p{Script=Han}$/u.test(q)) {
      this.list.hidden = true;
      this.hits = [];
      return;
    }
    this.render(null, t("search.busy"));
    try {
      const { data } = await get("search", { q, limit: 20 });
      if (gen !== this.gen) return;
      const raw = Array.isArray(data) ? data : data.hits || data.features || data.results || [];
      this.hits = raw.map(normaliseHit);
      this.render(this.hits);
    } catch (err) {
      if (gen === this.gen) this.render(null, errorMessage(err));
    }
  }

  render(hits, message) {
    this.list.hidden = false;
    this.active = -1;
    if (!hits || !hits.length) {
      this.list.innerHTML = `<li class="empty">${escapeHtml(message || t("search.none"))}</li>`;
      return;
    }
    this.list.innerHTML = hits
      .map(
        (h, i) => `<li role="option" data-i="${i}"><span class="kind">${escapeHtml(t(`search.${h.kind}`))}</span>
          <span>${escapeHtml(h.label)}</span><span class="sub">${escapeHtml(h.sub)}</span></li>`,
      )
      .join("");
    for (const li of this.list.querySelectorAll("[data-i]")) li.addEventListener("click", () => this.pick(+li.dataset.i));
  }

  key(e) {
    const items = this.list.querySelectorAll("[data-i]");
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!items.length) return;
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      items.forEach((li, i) => li.classList.toggle("active", i === this.active));
    } else if (e.key === "Enter") {
      e.preventDefault();
      this.pick(this.active >= 0 ? this.active : 0);
    } else if (e.key === "Escape") {
      this.list.hidden = true;
    }
  }

  pick(i) {
    const h = this.hits[i];
    if (!h) return;
    this.list.hidden = true;
    this.onPick(h);
  }
}

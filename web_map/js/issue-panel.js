// The issue panel (in the side panel): details, photos, the timeline and a button for
// exactly each of the caller's allowed_actions, with the form that action needs.  Every
// action sends the version the user saw: a 412 (someone acted first) or 409 (no longer
// possible) reloads the issue and says so plainly.  Also the inbox (待办).

import { get, request, blobUrl, tokenClaims } from "./api.js";
import { openDialog, toast, errorMessage } from "./dialog.js";
import { actionRow } from "./actionrow.js";
import { apiMessage } from "./apimessage.js";
import { escapeHtml } from "./layers.js";
import { STATUS_COLOURS, categoryName } from "./issue-layer.js";
import { uploadPhoto } from "./issue-photos.js";
import { t } from "../i18n.js";

const $ = (id) => document.getElementById(id);

/** The order actions are offered in (the workflow's, the primary one first). */
const ACTION_ORDER = ["accept", "dispatch", "start", "resolve", "verify", "close", "rate", "reopen", "escalate", "reject"];
const SECONDARY = new Set(["reject", "escalate", "reopen"]);
const INBOX_ORDER = ["supervise", "triage", "handle", "verify", "close", "rate"];

const HOUR = 3600;
const DAY = 24 * HOUR;

/**
 * How long until an open issue is due, or how long it is overdue, rounded down: whole
 * days and hours (超期 1 天 3 小时; 超期 1 天 is a full day late, never two hours), hours
 * under a day (超期 2 小时), and under an hour 不到 1 小时.  `seconds` is the API's
 * due_in_s (negative when overdue); `overdue` the API's flag, which says which it is.
 */
export function dueInText(seconds, overdue) {
  const s = Math.abs(seconds);
  const k = overdue ? "over" : "left";
  const d = Math.floor(s / DAY);
  const h = Math.floor((s % DAY) / HOUR);
  if (d && h) return t(`issue.dayshours.${k}`, { d, h });
  if (d) return t(`issue.days.${k}`, { n: d });
  if (h) return t(`issue.hours.${k}`, { n: h });
  return t(`issue.hour.under.${k}`);
}

/** "2025-03-06 09:00" in China Standard Time (the counties' clock). */
export function fmtTime(iso, { date = false } = {}) {
  if (!iso) return "—";
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  const d = `${parts.year}-${parts.month}-${parts.day}`;
  return date ? d : `${d} ${parts.hour}:${parts.minute}`;
}

export function statusChip(status) {
  return `<span class="status-chip" data-status="${escapeHtml(status)}" style="--c:${STATUS_COLOURS[status] || "#868e96"}">${escapeHtml(t(`status.${status}`))}</span>`;
}

function label(key, fallback) {
  const s = t(key);
  return s === key ? fallback : s;
}

function field(name, value, { html = false, cls = "" } = {}) {
  const v = value === null || value === undefined || value === "" ? "—" : value;
  return `<dt>${escapeHtml(name)}</dt><dd class="${cls}">${html ? v : escapeHtml(v)}</dd>`;
}

export class IssuePanel {
  /**
   * `panel` is the SidePanel; `layer` the IssueLayer; `catalogue` /issues/catalogue;
   * `villageName(code)` a display name; `onChanged(feature)` after each change.
   */
  constructor({ panel, layer, map, user, catalogue, villageName, onChanged }) {
    this.panel = panel;
    this.layer = layer;
    this.map = map;
    this.user = user || {};
    this.catalogue = catalogue || { categories: [], departments: [] };
    this.villageName = villageName || ((c) => c);
    this.onChanged = onChanged || (() => {});
    this.me = this.user.id || (tokenClaims() || {}).sub || null;
    this.handlers = null; // GET /issues/{id}/handlers, loaded when the dispatch form opens
    this.issue = null;
    $("iss-inbox").addEventListener("click", () => this.openInbox());
  }

  category(code) {
    return (this.catalogue.categories || []).find((c) => c.code === code);
  }
  department(code) {
    return (this.catalogue.departments || []).find((d) => d.code === code);
  }

  // ---- one issue ------------------------------------------------------------------------
  /** Open issue `id`; `push` keeps the way back (from the inbox or a report). */
  async openIssue(id, { push = false, notice = null } = {}) {
    const render = () => this.openIssue(id, { push: true });
    if (push) this.panel.stack.push(render);
    else this.panel.stack = [render];
    this.panel.loading(t("issue.title"));
    let f;
    try {
      ({ data: f } = await get(`issues/${encodeURIComponent(id)}`));
    } catch (err) {
      this.panel.show(t("issue.title"), `<p class="error">${escapeHtml(err.status === 404 ? t("issue.notfound") : errorMessage(err))}</p>`);
      return null;
    }
    this.show(f, notice);
    return f;
  }

  /** Draw issue feature `f` (as returned by GET /issues/{id} or a transition). */
  show(f, notice = null) {
    this.issue = f;
    this.layer.upsert(f);
    this.layer.select(f.id);
    const p = f.properties;
    const cat = this.category(p.category);
    let dueText = fmtTime(p.due_at);
    // the server's count (due_in_s, null once the issue is no longer open), so that the
    // words agree with its overdue flag whatever this device's clock says
    if (p.due_at && p.due_in_s !== null && p.due_in_s !== undefined) {
      dueText += ` <span class="${p.overdue ? "late" : "left"}" id="issue-due-in">（${escapeHtml(dueInText(p.due_in_s, p.overdue))}）</span>`;
    }
    const flags = [
      p.overdue ? `<span class="flag overdue">${escapeHtml(t("issue.overdue"))}</span>` : "",
      p.supervised ? `<span class="flag supervised">${escapeHtml(t("issue.supervised"))}${p.supervision_level ? " · " + escapeHtml(t(`level.${p.supervision_level}`)) : ""}</span>` : "",
      p.priority && p.priority !== "normal" ? `<span class="flag prio-${escapeHtml(p.priority)}">${escapeHtml(t(`priority.${p.priority}`))}</span>` : "",
    ].join("");
    const stars = p.rating ? `<span class="stars">${"★".repeat(p.rating)}${"☆".repeat(5 - p.rating)}</span>` : null;
    const actions = ACTION_ORDER.filter((a) => (p.allowed_actions || []).includes(a));
    const photos = p.photos || [];
    const html = `
      ${notice ? `<p class="notice warn" id="issue-conflict" role="alert">${escapeHtml(notice)}</p>` : ""}
      <div class="iss-head" id="issue-head" data-status="${escapeHtml(p.status)}" data-version="${p.version}">
        ${statusChip(p.status)}${flags}
        <span class="iss-id" title="${escapeHtml(f.id)}">#${escapeHtml(String(f.id).slice(-6))}</span>
      </div>
      <p class="iss-desc">${escapeHtml(p.description || "—")}</p>
      <dl class="fields">
        ${field(t("issue.category"), categoryName(cat) || p.category_name || p.category)}
        ${p.address ? field(t("issue.address"), p.address) : ""}
        ${field(t("issue.level"), t(`level.${p.level}`))}
        ${field(t("issue.handler"), this.handlerText(p))}
        ${field(t("issue.due"), dueText, { html: true })}
        ${field(t("issue.reported_at"), fmtTime(p.reported_at))}
        ${p.reporter_name ? field(t("issue.reporter"), p.reporter_name) : ""}
        ${p.contact_name || p.contact_phone ? field(t("issue.contact"), [p.contact_name, p.contact_phone].filter(Boolean).join(" "), { cls: "masked" }) : ""}
        ${p.reject_reason ? field(t("issue.reject_reason"), t(`form.reason.${p.reject_reason}`) + (p.duplicate_of ? ` #${p.duplicate_of}` : "")) : ""}
        ${p.reply ? field(t("issue.reply"), p.reply) : ""}
        ${stars ? field(t("issue.rating"), stars, { html: true }) : ""}
      </dl>
      <div class="routing" id="issue-routing">
        <div><span>${escapeHtml(t("issue.village"))}</span><b>${escapeHtml(p.village_name || this.villageName(p.village_code) || "—")}</b></div>
        <div><span>${escapeHtml(t("issue.microgrid"))}</span><b>${escapeHtml(p.microgrid_key || "—")}</b></div>
        <div><span>${escapeHtml(t("issue.cell"))}</span><b>${escapeHtml(p.cell_key || "—")}</b></div>
      </div>
      ${p.near_boundary ? `<p class="notice warn" id="issue-near-boundary">⚠ ${escapeHtml(t("issue.near_boundary", { m: Math.round(p.boundary_distance_m ?? 0) }))}
        ${p.may_reroute && (p.route_candidates || []).length ? `<button type="button" class="btn secondary" id="issue-reroute">${escapeHtml(t("action.reroute"))}</button>` : ""}</p>` : ""}
      <div class="section-title">${escapeHtml(t("issue.actions"))}</div>
      <div class="iss-actions" id="issue-actions">
        ${actions.length
          ? actions.map((a) => `<button type="button" class="btn${SECONDARY.has(a) ? " secondary" : ""}" data-action="${a}">${escapeHtml(t(`action.${a}`))}</button>`).join("")
          : `<p class="hint">${escapeHtml(t("issue.actions.none"))}</p>`}
      </div>
      <div class="section-title row spread"><span>${escapeHtml(t("issue.photos", { n: photos.length }))}</span>
        ${(p.may_upload || []).includes("report") ? `<label class="link upload-link">＋ ${escapeHtml(t("issue.photo.add"))}<input type="file" accept="image/*" id="issue-photo-add" hidden></label>` : ""}</div>
      <div class="thumbs" id="issue-photos">
        ${photos.length
          ? photos.map((ph) => `<figure data-photo="${escapeHtml(ph.id)}" data-kind="${escapeHtml(ph.kind)}"><img alt="" data-src="${escapeHtml(ph.thumbnail_url)}" data-full="${escapeHtml(ph.url)}"><figcaption class="k-${escapeHtml(ph.kind)}">${escapeHtml(t(`issue.photo.${ph.kind}`))}</figcaption></figure>`).join("")
          : `<p class="hint">${escapeHtml(t("issue.photos.none"))}</p>`}
      </div>
      <div class="section-title">${escapeHtml(t("issue.timeline"))}</div>
      <ol class="timeline" id="issue-timeline">
        ${(p.timeline || []).slice().reverse().map((e) => this.eventHtml(e)).join("")}
      </ol>`;
    this.panel.show(`${categoryName(cat) || p.category_name || t("issue.title")}`, html);
    for (const b of this.panel.body.querySelectorAll("#issue-actions [data-action]")) b.addEventListener("click", () => this.act(b.dataset.action));
    const rr = $("issue-reroute");
    if (rr) rr.addEventListener("click", () => this.reroute());
    for (const img of this.panel.body.querySelectorAll("img[data-src]")) {
      blobUrl(img.dataset.src).then((u) => (img.src = u)).catch(() => img.closest("figure").classList.add("broken"));
      img.addEventListener("click", () => this.viewPhoto(img.dataset.full));
    }
    const add = $("issue-photo-add");
    if (add) add.addEventListener("change", () => add.files[0] && this.addPhoto(add.files[0], "report"));
  }

  handlerText(p) {
    if (p.handler_department) {
      const d = this.department(p.handler_department);
      return d ? d.name : p.handler_department;
    }
    if (!p.handler_id) return null;
    if (p.handler_id === this.me) return t("issue.handler.me", { name: this.user.username || p.handler_name || "" });
    return p.handler_name || t("issue.handler.user", { id: String(p.handler_id).slice(-6) });
  }

  eventHtml(e) {
    const d = e.detail || {};
    const bits = [];
    if (e.action === "dispatch") {
      const dep = d.department && this.department(d.department);
      const p = (this.issue && this.issue.properties) || {};
      const name = d.handler_id && d.handler_id === p.handler_id ? p.handler_name : null;
      bits.push(dep ? dep.name : d.handler_id === this.me ? t("issue.handler.me", { name: this.user.username || "" }) : d.handler_id ? name || t("issue.handler.user", { id: String(d.handler_id).slice(-6) }) : "");
      if (d.level) bits.push(t(`level.${d.level}`));
    }
    if (e.action === "reroute" && d.from && d.to) bits.push(`${d.from.cell_key || d.from.village_code || "—"} → ${d.to.cell_key || d.to.village_code || "—"}`);
    if (e.action === "escalate" && d.level) bits.push(`→ ${t(`level.${d.level}`)}`);
    if (e.action === "reject" && d.reason) bits.push(t(`form.reason.${d.reason}`));
    if (e.action === "rate" && d.rating) bits.push("★".repeat(d.rating));
    if (e.action === "photo" && d.kind) bits.push(t(`issue.photo.${d.kind}`));
    if (e.action === "supervise" && d.supervision_level) bits.push(t(`level.${d.supervision_level}`));
    // 督办 is the server's sweep, not a person ("system" in the database): its step
    // names the level that supervises instead
    const who = [e.action === "supervise" ? "" : e.actor, ...bits].filter(Boolean).join(" · ");
    const colour = STATUS_COLOURS[e.to_status] || "#adb5bd";
    return `<li data-action="${escapeHtml(e.action)}" style="--c:${colour}">
      <div class="tl-top"><b>${escapeHtml(label(`action.${e.action}`, e.action))}</b>
        ${e.to_status && e.to_status !== e.from_status ? statusChip(e.to_status) : ""}
        <time>${escapeHtml(fmtTime(e.at))}</time></div>
      <div class="tl-who">${escapeHtml(who)}</div>
      ${e.note ? `<div class="tl-note">${escapeHtml(e.note)}</div>` : ""}
    </li>`;
  }

  async viewPhoto(path) {
    let src;
    try {
      src = await blobUrl(path);
    } catch (err) {
      return toast(errorMessage(err), { error: true });
    }
    await openDialog({ title: t("issue.photos", { n: "" }).replace(/[（(]\s*[）)]/, ""), body: `<img class="photo-full" src="${src}" alt="">`, cancel: null, className: "photo" });
  }

  async addPhoto(file, kind) {
    const id = this.issue.id;
    try {
      await uploadPhoto(id, file, kind);
      toast(t("issue.photo.added"));
    } catch (err) {
      toast(errorMessage(err), { error: true });
    }
    await this.openIssue(id, { push: this.panel.stack.length > 1 });
  }

  // ---- actions ----------------------------------------------------------------------------
  /** The form an action needs, as HTML for the dialog. */
  formHtml(action) {
    const p = this.issue.properties;
    const note = (key = "form.note.optional", required = false) =>
      `<label><span>${escapeHtml(t(key))}</span><textarea name="note" id="act-note" maxlength="4000"${required ? ' aria-required="true"' : ""}></textarea></label>`;
    if (action === "reject") {
      return `<fieldset class="radios"><legend>${escapeHtml(t("form.reason"))}</legend>
          <label class="inline"><input type="radio" name="reason" value="invalid"> ${escapeHtml(t("form.reason.invalid"))}</label>
          <label class="inline"><input type="radio" name="reason" value="duplicate"> ${escapeHtml(t("form.reason.duplicate"))}</label></fieldset>
        <label><span>${escapeHtml(t("form.duplicate_of"))}</span><input name="duplicate_of" id="act-duplicate-of" maxlength="32"></label>
        ${note()}`;
    }
    if (action === "dispatch") {
      // only the departments the API lets this caller dispatch to (their level or below);
      // the others are reached by escalating
      const mine = p.dispatch_departments;
      const deps = (this.catalogue.departments || []).filter((d) => !mine || mine.includes(d.code));
      return `${deps.length ? `<fieldset class="radios"><legend>${escapeHtml(t("form.dispatch.to"))}</legend>
          <label class="inline"><input type="radio" name="mode" value="person" checked> ${escapeHtml(t("form.dispatch.person"))}</label>
          <label class="inline"><input type="radio" name="mode" value="department"> ${escapeHtml(t("form.dispatch.department"))}</label></fieldset>` : `<input type="hidden" name="mode" value="person">`}
        <div class="mode-person">
          ${this.handlers ? this.handlerPicker() : `
          <label><span>${escapeHtml(t("form.dispatch.person"))}</span><select name="who" id="act-who">
            <option value="me">${escapeHtml(t("form.dispatch.me"))}（${escapeHtml(this.user.username || "")}）</option>
            <option value="other">${escapeHtml(t("form.dispatch.other"))}</option></select></label>
          <label class="who-other" hidden><span>${escapeHtml(t("form.dispatch.user_id"))}</span><input name="handler_id" id="act-handler-id" maxlength="32" autocomplete="off"></label>`}
          <p class="hint">${escapeHtml(t("form.dispatch.level.person"))}</p>
        </div>
        <div class="mode-department" hidden>${deps.length ? `
          <label><span>${escapeHtml(t("form.dispatch.department"))}</span><select name="department" id="act-department">
            <option value=""></option>
            ${deps.map((d) => `<option value="${escapeHtml(d.code)}">${escapeHtml(t("form.dispatch.level", { name: d.name, level: t(`level.${d.level}`) }))}</option>`).join("")}
          </select></label>` : ""}
        </div>
        ${note()}`;
    }
    if (action === "resolve") {
      const proofs = (p.photos || []).filter((x) => x.kind === "proof").length;
      return `<label><span>${escapeHtml(t("form.proof"))}</span><input type="file" name="proof" id="act-proof" accept="image/*"></label>
        <p class="hint">${escapeHtml(proofs ? t("form.proof.have", { n: proofs }) : t("form.proof.need"))}</p>
        ${note()}`;
    }
    if (action === "close") return note("form.close.note", true);
    if (action === "rate") {
      return `<fieldset class="radios stars-pick"><legend>${escapeHtml(t("form.rating"))}</legend>
        ${[5, 4, 3, 2, 1].map((n) => `<label class="inline"><input type="radio" name="rating" value="${n}"> ${"★".repeat(n)}</label>`).join("")}</fieldset>
        ${note()}`;
    }
    return note();
  }

  validate(action, v) {
    const p = this.issue.properties;
    if (action === "reject") {
      if (!v.reason) return t("form.reject.need");
      if (v.reason === "duplicate" && !(v.duplicate_of || "").trim()) return t("form.duplicate.need");
    }
    if (action === "dispatch") {
      if (v.mode === "department" ? !v.department : this.handlers ? !v.handler : v.who === "other" && !(v.handler_id || "").trim()) return t("form.dispatch.need");
    }
    if (action === "resolve" && !(v.proof && v.proof.size) && !(p.photos || []).some((x) => x.kind === "proof")) return t("form.proof.need");
    if (action === "close" && !(v.note || "").trim()) return t("form.close.need");
    if (action === "rate" && !v.rating) return t("form.rating.need");
    return null;
  }

  body(action, v) {
    const b = { action, version: this.issue.properties.version };
    if ((v.note || "").trim()) b.note = v.note.trim();
    if (action === "reject") {
      b.reason = v.reason;
      if (v.reason === "duplicate") b.duplicate_of = v.duplicate_of.trim();
    }
    if (action === "dispatch") {
      if (v.mode === "department") b.department = v.department;
      else if (this.handlers) b.handler_id = v.handler;
      else b.handler_id = v.who === "me" ? this.me : v.handler_id.trim();
    }
    if (action === "rate") b.rating = Number(v.rating);
    return b;
  }

  /** The dispatch form's person picker: the cadres GET /issues/{id}/handlers offers. */
  handlerPicker() {
    const hs = this.handlers || [];
    if (!hs.length) return `<p class="hint" id="act-handler-none">${escapeHtml(t("form.dispatch.none"))}</p>`;
    const pre = (hs.find((h) => h.current) || hs.find((h) => h.me) || {}).id;
    return `<label><span>${escapeHtml(t("form.dispatch.pick"))}</span><select name="handler" id="act-handler">
      ${hs.map((h) => `<option value="${escapeHtml(h.id)}" data-username="${escapeHtml(h.username)}"${h.id === pre ? " selected" : ""}>${escapeHtml(h.username)}${h.me ? `（${escapeHtml(t("form.dispatch.me"))}）` : ""} · ${escapeHtml(t(`level.${h.level}`))}</option>`).join("")}
    </select></label>`;
  }

  /** Re-route a near-boundary issue to one of the candidate cells (POST /issues/{id}/route). */
  async reroute() {
    const f = this.issue;
    const p = f.properties;
    const cands = p.route_candidates || [];
    const wrap = document.createElement("div");
    wrap.className = "act-form";
    wrap.innerHTML = `<fieldset class="radios" id="reroute-cells"><legend>${escapeHtml(t("form.reroute.pick"))}</legend>
        ${cands.map((c) => `<label class="inline"><input type="radio" name="cell_key" value="${escapeHtml(c.cell_key)}"${c.current ? " disabled" : ""}>
          ${escapeHtml(c.cell_key)} · ${escapeHtml(c.village_name || c.village_code || "")} · ${Math.round(c.distance_m ?? 0)} m${c.current ? ` <em>（${escapeHtml(t("form.reroute.current"))}）</em>` : ""}</label>`).join("")}
      </fieldset>
      <label><span>${escapeHtml(t("form.note.optional"))}</span><textarea name="note" id="act-note" maxlength="4000"></textarea></label>`;
    let result = null;
    let conflict = null;
    const ok = await openDialog({
      title: `${t("action.reroute")} · ${categoryName(this.category(p.category)) || ""}`,
      body: wrap,
      ok: t("action.reroute"),
      className: "act act-reroute",
      validate: (v) => (v.cell_key ? null : t("form.reroute.need")),
      onOk: async (v) => {
        const body = { cell_key: v.cell_key, version: p.version };
        if ((v.note || "").trim()) body.note = v.note.trim();
        try {
          ({ data: result } = await request("POST", `issues/${encodeURIComponent(f.id)}/route`, { json: body }));
          return null;
        } catch (err) {
          if (err.status === 409 || err.status === 412) {
            conflict = err;
            return null;
          }
          return errorMessage(err);
        }
      },
    });
    if (!ok) return;
    await this.afterAction(f, result, conflict, t("form.reroute.done", { cell: result ? result.properties.cell_key : "" }));
  }

  /** Show the outcome of an action: the new state, or the reloaded issue after a conflict. */
  async afterAction(f, result, conflict, done) {
    const push = this.panel.stack.length > 1;
    if (conflict) {
      const keyed = conflict.status === 409 ? apiMessage(conflict) : null;
      const msg = conflict.status === 412 ? t("conflict.412")
        : keyed ? t("conflict.409.keyed", { msg: keyed }) : t("conflict.409", { msg: conflict.detail || "" });
      toast(msg, { error: true, ms: 6000 });
      const fresh = await this.openIssue(f.id, { push, notice: msg });
      if (fresh) this.onChanged(fresh);
      return;
    }
    this.panel.stack = push ? this.panel.stack : [() => this.openIssue(f.id)];
    this.show(result);
    toast(done);
    this.onChanged(result);
  }

  /** Ask for what `action` needs, send it with the version, handle conflicts. */
  async act(action) {
    const f = this.issue;
    this.handlers = null;
    if (action === "dispatch") {
      try {
        ({ data: this.handlers } = await get(`issues/${encodeURIComponent(f.id)}/handlers`));
      } catch {
        this.handlers = null; // fall back to typing a user id
      }
    }
    const wrap = document.createElement("div");
    wrap.className = "act-form";
    wrap.innerHTML = this.formHtml(action);
    wireDispatchForm(wrap);
    let result = null;
    let conflict = null;
    const ok = await openDialog({
      title: `${t(`action.${action}`)} · ${categoryName(this.category(f.properties.category)) || ""}`,
      body: wrap,
      ok: t(`action.${action}`),
      className: `act act-${action}`,
      validate: (v) => this.validate(action, v),
      onOk: async (v) => {
        try {
          if (action === "resolve" && v.proof && v.proof.size) await uploadPhoto(f.id, v.proof, "proof");
          ({ data: result } = await request("POST", `issues/${encodeURIComponent(f.id)}/transitions`, { json: this.body(action, v) }));
          return null;
        } catch (err) {
          if (err.status === 409 || err.status === 412) {
            conflict = err;
            return null;
          }
          return errorMessage(err);
        }
      },
    });
    if (!ok) return;
    await this.afterAction(f, result, conflict, t("action.done", { action: t(`action.${action}`) }));
  }

  // ---- inbox -------------------------------------------------------------------------------
  /** The 待办 badge: how many issues await the user (the count only: nothing of them, not audited). */
  async refreshInbox() {
    let data;
    try {
      ({ data } = await get("issues/inbox/count"));
    } catch {
      return;
    }
    this.showInboxCount(data.issues);
  }

  /** The count on the 待办 button and, for a phone, on the cards' toggle that hides it. */
  showInboxCount(n) {
    for (const badge of [$("iss-inbox-n"), $("left-toggle-n")]) {
      if (!badge) continue;
      badge.textContent = String(n);
      badge.hidden = n === 0;
    }
  }

  /** The inbox itself (audited), the badge brought up to date with it; null if it cannot be read. */
  async loadInbox() {
    let data;
    try {
      ({ data } = await get("issues/inbox"));
    } catch {
      return null;
    }
    this.showInboxCount(new Set((data.features || []).map((f) => f.id)).size);
    return data;
  }

  /**
   * Keep the inbox's count current while the map stays open: work dispatched to the
   * user, or supervised, comes from others.  Read every `ms` while the page is in sight,
   * and at once when it comes back into sight (a phone's browser brought to the front).
   */
  watchInbox(ms = 60_000) {
    const tick = () => document.visibilityState === "visible" && this.refreshInbox();
    setInterval(tick, ms);
    document.addEventListener("visibilitychange", tick);
  }

  async openInbox() {
    this.panel.stack = [() => this.openInbox()];
    this.panel.loading(t("inbox.title"));
    const data = await this.loadInbox();
    if (!data) return this.panel.show(t("inbox.title"), `<p class="error">${escapeHtml(t("error.network"))}</p>`);
    const groups = new Map();
    for (const f of data.features || []) {
      const r = f.properties.reason;
      if (!groups.has(r)) groups.set(r, []);
      groups.get(r).push(f);
    }
    const order = [...INBOX_ORDER, ...[...groups.keys()].filter((k) => !INBOX_ORDER.includes(k))];
    const html = order
      .filter((r) => groups.has(r))
      .map((r) => `<div class="section-title">${escapeHtml(label(`reason.${r}`, r))} <span class="badge">${groups.get(r).length}</span></div>
        <ul class="inbox" data-reason="${escapeHtml(r)}">${groups.get(r).map((f) => this.inboxItem(f)).join("")}</ul>`)
      .join("");
    this.panel.show(t("inbox.title"), html || `<p class="hint" id="inbox-empty">${escapeHtml(t("inbox.empty"))}</p>`);
    for (const li of this.panel.body.querySelectorAll("[data-issue]")) {
      const f = (data.features || []).find((x) => x.id === li.dataset.issue);
      actionRow(li, () => {
        const [lon, lat] = f.geometry.coordinates;
        this.map.setView([lat, lon], Math.max(this.map.getZoom(), 16), { animate: false });
        this.openIssue(f.id, { push: true });
      });
    }
  }

  inboxItem(f) {
    const p = f.properties;
    const cat = this.category(p.category);
    return `<li data-issue="${escapeHtml(f.id)}" class="${p.overdue ? "overdue" : ""}">
      <div class="ib-top">${statusChip(p.status)}<b>${escapeHtml(categoryName(cat) || p.category_name || p.category)}</b>
        ${p.supervised ? `<span class="flag supervised">${escapeHtml(t("issue.supervised"))}</span>` : ""}
        ${p.overdue ? `<span class="flag overdue">${escapeHtml(t("issue.overdue"))}</span>` : ""}</div>
      <div class="ib-desc">${escapeHtml((p.description || "").slice(0, 60) || "—")}</div>
      <div class="ib-sub">${escapeHtml(p.cell_key || p.village_code || "")} · ${escapeHtml(t("issue.due"))} ${escapeHtml(fmtTime(p.due_at))}${p.due_at && p.due_in_s !== null && p.due_in_s !== undefined ? `（${escapeHtml(dueInText(p.due_in_s, p.overdue))}）` : ""}</div>
    </li>`;
  }
}

/** Show the person or department part of the dispatch form as the radios say. */
function wireDispatchForm(wrap) {
  const modes = wrap.querySelectorAll('input[name="mode"]');
  if (!modes.length) return;
  const sync = () => {
    // (a hidden "person" when the caller may dispatch to no department)
    const mode = (wrap.querySelector('input[name="mode"]:checked') || modes[0]).value;
    wrap.querySelector(".mode-person").hidden = mode !== "person";
    wrap.querySelector(".mode-department").hidden = mode !== "department";
    const who = wrap.querySelector("#act-who");
    if (who) wrap.querySelector(".who-other").hidden = who.value !== "other";
  };
  for (const m of modes) m.addEventListener("change", sync);
  const who = wrap.querySelector("#act-who");
  if (who) who.addEventListener("change", sync);
  sync();
}

// A small modal dialog on the native <dialog>, and a toast.

import { t, getLang, ownString } from "../i18n.js";
import { apiMessage } from "./apimessage.js";

/**
 * Show a dialog.  `body` is a DOM node or HTML string.  `validate(form)` returns an
 * error message to keep it open, or null.  Resolves with the form's values on OK,
 * or null on cancel.
 */
export function openDialog({ title, body, ok = t("dialog.ok"), cancel = t("dialog.cancel"), validate, className = "", onOk }) {
  const dlg = document.getElementById("dialog");
  const form = document.getElementById("dialog-form");
  const err = document.getElementById("dialog-error");
  dlg.className = `dialog ${className}`;
  document.getElementById("dialog-title").textContent = title;
  const bodyEl = document.getElementById("dialog-body");
  bodyEl.innerHTML = "";
  if (typeof body === "string") bodyEl.innerHTML = body;
  else if (body) bodyEl.append(body);
  const okBtn = document.getElementById("dialog-ok");
  const cancelBtn = document.getElementById("dialog-cancel");
  okBtn.textContent = ok;
  cancelBtn.textContent = cancel;
  cancelBtn.hidden = cancel === null;
  err.hidden = true;
  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener("submit", submit);
      cancelBtn.removeEventListener("click", onCancel);
      dlg.removeEventListener("cancel", onCancel);
      if (dlg.open) dlg.close();
      resolve(value);
    };
    const submit = async (ev) => {
      ev.preventDefault();
      const values = Object.fromEntries(new FormData(form).entries());
      const msg = validate ? validate(values) : null;
      if (msg) {
        err.textContent = msg;
        err.hidden = false;
        return;
      }
      if (onOk) {
        okBtn.disabled = true;
        try {
          const m = await onOk(values);
          if (m) {
            err.textContent = m;
            err.hidden = false;
            return;
          }
        } finally {
          okBtn.disabled = false;
        }
      }
      finish(values);
    };
    const onCancel = (ev) => {
      ev.preventDefault();
      finish(null);
    };
    form.addEventListener("submit", submit);
    cancelBtn.addEventListener("click", onCancel);
    dlg.addEventListener("cancel", onCancel);
    dlg.showModal();
    const first = bodyEl.querySelector("textarea, input");
    (first || okBtn).focus();
  });
}

// ---- toast -------------------------------------------------------------------------
// A message over the map that goes by itself: up long enough to read (longer the longer
// it is; many of the API's refusals are long sentences), an error longer still; held
// while the pointer is on it or the keyboard in it; closed at once by its close button
// or Esc.  Its words are read out by screen readers from live regions always in the
// page (#toast-status, and #toast-alert for an error), not from the toast itself.

/** The shortest time a toast stays up (ms), an error's, and the longest. */
export const TOAST_MIN_MS = 4000;
export const TOAST_ERROR_MIN_MS = 6000;
export const TOAST_MAX_MS = 30000;

/**
 * How long to show `message` (ms): a second and a half to notice it, then about five
 * Chinese characters a second, or fifteen characters (three words) of other text, kept
 * between the minimum (an error's, or `ms` if longer) and the maximum (or `ms`).
 */
export function toastMs(message, { error = false, ms = 0 } = {}) {
  const text = String(message ?? "");
  const cjk = (text.match(/[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]/g) || []).length;
  const reading = 1500 + 200 * cjk + 70 * (text.length - cjk);
  const min = Math.max(ms, error ? TOAST_ERROR_MIN_MS : TOAST_MIN_MS);
  return Math.min(Math.max(reading, min), Math.max(TOAST_MAX_MS, ms));
}

const toastState = { timer: null, left: 0, since: 0, hover: false, focus: false, back: null, wired: false };

function hideToast() {
  const el = document.getElementById("toast");
  clearTimeout(toastState.timer);
  toastState.timer = null;
  if (el.hidden) return;
  const hadFocus = el.contains(document.activeElement);
  el.hidden = true;
  toastState.hover = toastState.focus = false;
  // the keyboard was in the toast: back to where it came from
  if (hadFocus && toastState.back && toastState.back.isConnected) toastState.back.focus();
  toastState.back = null;
}

function runToastTimer() {
  clearTimeout(toastState.timer);
  toastState.timer = null;
  if (toastState.hover || toastState.focus) return; // held
  toastState.since = performance.now();
  toastState.timer = setTimeout(hideToast, toastState.left);
}

function holdToast() {
  if (toastState.timer === null) return;
  clearTimeout(toastState.timer);
  toastState.timer = null;
  toastState.left = Math.max(0, toastState.left - (performance.now() - toastState.since));
}

function releaseToast() {
  if (document.getElementById("toast").hidden) return;
  toastState.left = Math.max(toastState.left, 2000); // a moment more, once let go
  runToastTimer();
}

function wireToast(el) {
  if (toastState.wired) return;
  toastState.wired = true;
  el.addEventListener("mouseenter", () => {
    toastState.hover = true;
    holdToast();
  });
  el.addEventListener("mouseleave", () => {
    toastState.hover = false;
    releaseToast();
  });
  el.addEventListener("focusin", (e) => {
    if (!toastState.focus) toastState.back = e.relatedTarget;
    toastState.focus = true;
    holdToast();
  });
  el.addEventListener("focusout", (e) => {
    if (el.contains(e.relatedTarget)) return;
    toastState.focus = false;
    releaseToast();
  });
  document.getElementById("toast-close").addEventListener("click", hideToast);
  // Esc closes the toast, unless a dialog is open (Esc is the dialog's), and does
  // nothing else: one Esc closes the topmost thing, as in dialogs (the toast over report
  // mode, a search list, the planner's drawing), the next the one under it
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || el.hidden || document.querySelector("dialog[open]")) return;
    hideToast();
    e.preventDefault();
    e.stopImmediatePropagation();
  }, true);
}

/** Show `message` (plain text).  `ms`: at least this long (see toastMs). */
export function toast(message, { error = false, ms = 0 } = {}) {
  const el = document.getElementById("toast");
  wireToast(el);
  const text = String(message ?? "");
  document.getElementById("toast-text").textContent = text;
  el.className = `toast${error ? " error" : ""}`;
  el.hidden = false;
  // the live regions: emptied, then filled, so the same message again is read again
  const live = document.getElementById(error ? "toast-alert" : "toast-status");
  const other = document.getElementById(error ? "toast-status" : "toast-alert");
  other.textContent = "";
  live.textContent = "";
  setTimeout(() => (live.textContent = text), 50);
  toastState.left = toastMs(text, { error, ms });
  runToastTimer();
}

/** A message for the user from an ApiError (or anything thrown): the API's refusal in
 * the user's language where it has a message key the map words (apimessage.js); else,
 * in English, the API's own text, and in another language a sentence of the error's
 * class (404, 409...) in that language: never an English sentence in a Chinese map. */
export function errorMessage(err) {
  if (!err) return "";
  if (err.status === 0) return t("error.network");
  // a keyed message first, the server's too (503: the database unavailable or busy)
  const keyed = apiMessage(err);
  if (keyed) return keyed;
  if (err.status >= 500) return t("error.server", { status: err.status });
  if (getLang() === "en") return t("error.generic", { msg: err.detail || err.message });
  const code = err.body && typeof err.body === "object" ? err.body.code : null;
  return (code && ownString(`error.code.${code}`)) || t("error.failed");
}

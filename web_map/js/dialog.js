// A small modal dialog on the native <dialog>, and a toast.

import { t } from "../i18n.js";
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

let toastTimer;
export function toast(message, { error = false, ms = 3500 } = {}) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = `toast${error ? " error" : ""}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), ms);
}

/** A message for the user from an ApiError (or anything thrown): the API's refusal in
 * the user's language where it has a message key the map words (apimessage.js), else
 * the API's own text. */
export function errorMessage(err) {
  if (!err) return "";
  if (err.status === 0) return t("error.network");
  if (err.status >= 500) return t("error.server", { status: err.status });
  return apiMessage(err) ?? t("error.generic", { msg: err.detail || err.message });
}

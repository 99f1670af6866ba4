// Every string the web map shows, in Chinese (the default) and English.
//
// HTML marks translatable text with data-i18n="key" (text), data-i18n-placeholder,
// data-i18n-title and data-i18n-aria-label; scripts call t("key", {name: value}).
// The language choice is kept in localStorage under "geogrid.lang".

import zh from "./strings/zh.js";
import en from "./strings/en.js";
import zhApi from "./strings/zh-api.js";
import enApi from "./strings/en-api.js";

// One catalogue per language, in strings/: the map's own words (zh.js, en.js) and the
// API's refusals by their message key (zh-api.js, en-api.js).
export const STRINGS = { zh: { ...zh, ...zhApi }, en: { ...en, ...enApi } };

const KEY = "geogrid.lang";
let lang = (typeof localStorage !== "undefined" && localStorage.getItem(KEY)) || "zh";
if (!STRINGS[lang]) lang = "zh";
const listeners = new Set();

export function getLang() {
  return lang;
}

/** Translate `key`, filling {placeholders} from `vars`.  Unknown keys show as the key. */
export function t(key, vars = {}) {
  const s = STRINGS[lang][key] ?? STRINGS.zh[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** The current language's own string for `key`, or undefined: no fallback to Chinese
 * or to the key, as t() has (for text that has a fallback of its own, such as the
 * partition engine's English message for a note with no template). */
export function ownString(key) {
  return Object.prototype.hasOwnProperty.call(STRINGS[lang], key) ? STRINGS[lang][key] : undefined;
}

/** Fill every element under `root` that carries a data-i18n* attribute. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]"))
    el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]"))
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
}

export function setLang(next) {
  if (!STRINGS[next]) return;
  lang = next;
  localStorage.setItem(KEY, next);
  applyI18n();
  for (const fn of listeners) fn(next);
}

/** Call `fn(lang)` after every language switch (to redraw text built in scripts). */
export function onLangChange(fn) {
  listeners.add(fn);
}

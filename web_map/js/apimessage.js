// The API's refusals in the user's language.
//
// An error body may carry `message: {key, params}` next to its English `detail` (see
// geogrid/api/errors.py): a stable key ("plan.publish_has_errors") and the values of the
// sentence, codes and ids as they are.  It is worded here from the current language's
// "api.<key>" (strings/zh-api.js, strings/en-api.js), each param shown as the user reads it: a
// village by its name where the map has it, a status or an action in words, a list of
// ids joined.  A key the current language has no string for, or a string that needs a
// param the body lacks, gives null: the caller shows the API's own text, as before.
// Plain text only (the toast sets textContent).

import { t, ownString } from "../i18n.js";

// the villages' names, where the map has them
let villageName = () => null;

/** Let messages name villages: `fn(code)` gives a village's name, or null. */
export function setVillageNames(fn) {
  villageName = typeof fn === "function" ? fn : () => null;
}

function village(code) {
  if (code === null || code === undefined || code === "") return null;
  return villageName(String(code)) || String(code);
}

function list(values, each = String) {
  if (!Array.isArray(values) || !values.length) return null;
  const shown = values.slice(0, 8).map(each);
  const rest = values.length - shown.length;
  return shown.join(t("engine.list.sep")) + (rest > 0 ? t("engine.list.more", { n: rest }) : "");
}

/** A coded word in the current language (`prefix + value`), else the value as it is. */
function word(prefix, value) {
  if (value === null || value === undefined) return null;
  return ownString(`${prefix}${value}`) ?? String(value);
}

// how each param is shown; any other param is shown as it is (numbers, cell keys, ids)
const SHOWN = {
  village, from_village: village, to_village: village,
  villages: (v) => list(v, village),
  cells: (v) => list(v),
  microgrids: (v) => list(v),
  households: (v) => list(v),
  lie_in: (v) => list(v),
  overlaps: (v) => list(v),
  values: (v) => list(v),
  groups: (v) => list(v),
  action: (v) => word("action.", v),
  role: (v) => word("role.", v),
  capability: (v) => word("api.capability.", v),
  level: (v) => word("level.", v),
};

/** The params of `key`'s message as its string shows them. */
function shown(key, params) {
  const out = {};
  for (const [name, value] of Object.entries(params || {})) {
    if (name === "status") out.status = word(key.startsWith("plan.") ? "planner.status." : "status.", value);
    else if (name === "allowed") out.allowed = Array.isArray(value) && value.length
      ? value.map((s) => word("status.", s)).join(t("api.list.or")) : null;
    else if (SHOWN[name]) out[name] = SHOWN[name](value);
    else out[name] = value === null || value === undefined || typeof value === "object" ? null : value;
  }
  return out;
}

/** The refusal `err` (an ApiError) in the current language, or null (see above). */
export function apiMessage(err) {
  const m = err && err.body && typeof err.body === "object" ? err.body.message : null;
  if (!m || typeof m.key !== "string") return null;
  const key = `api.${m.key}`;
  const template = ownString(key);
  if (typeof template !== "string") return null;
  const vars = shown(m.key, m.params && typeof m.params === "object" ? m.params : {});
  const need = [...template.matchAll(/\{(\w+)\}/g)].map((x) => x[1]);
  for (const name of need) {
    // an optional phrase ("api.<key>.<name>", with {<name>} in it): put in where its
    // param is there and not 0 or empty, else left out
    if (typeof ownString(`${key}.${name}`) !== "string") continue;
    vars[name] = vars[name] ? t(`${key}.${name}`, vars) : "";
  }
  if (need.some((name) => vars[name] === null || vars[name] === undefined)) return null;
  const text = t(key, vars);
  // an edit of a batch (the planner saves its edits in one): none of them was saved
  const first = Array.isArray(err.body.errors) ? err.body.errors[0] : null;
  return first && typeof first.index === "number" && first.op ? t("api.batch.none_saved", { msg: text }) : text;
}

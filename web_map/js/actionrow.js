// Rows of a list that do something when clicked (a validation problem zooms to what it
// names, a cell of the balance table is picked, a resident opens...) are reached and used
// with the keyboard too: each is a button to assistive technology, in the tab order, and
// Enter or Space does what a click does.  A list redrawn after a row acted keeps the
// keyboard on that row (renderRows), as it would be on a button that stayed.

/**
 * Make `row` act as a button: `action(event)` on a click (as before), and on Enter or
 * Space while the row itself has the focus (a control inside the row keeps its keys).
 * `pressed`: for a row that toggles (a picked cell), whether it is on now.
 */
export function actionRow(row, action, { pressed = null } = {}) {
  row.setAttribute("role", "button");
  row.tabIndex = 0;
  row.classList.add("act-row");
  if (pressed !== null) row.setAttribute("aria-pressed", String(Boolean(pressed)));
  row.addEventListener("click", action);
  row.addEventListener("keydown", (e) => {
    if (e.target !== row || e.altKey || e.ctrlKey || e.metaKey || e.repeat) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault(); // Space would scroll the panel
      action(e);
    }
  });
}

/**
 * Replace the rows of `list` with `html` and call `wire(list)` (their handlers); where
 * the keyboard focus was in a row (the element carrying `attr`), it goes to the new row
 * of the same `attr` value, on the control of the same kind in it (a tick box) or on
 * the row's own button.
 */
export function renderRows(list, html, attr, wire = () => {}) {
  const had = document.activeElement;
  const row = had && list.contains(had) ? had.closest(`[${attr}]`) : null;
  const key = row ? row.getAttribute(attr) : null;
  const kind = row && had !== row ? had.tagName.toLowerCase() : null;
  list.innerHTML = html;
  wire(list);
  if (key === null) return;
  const next = list.querySelector(`[${attr}="${CSS.escape(key)}"]`);
  if (!next) return;
  const target = (kind && next.querySelector(kind)) || (next.tabIndex >= 0 ? next : next.querySelector("button, input"));
  if (target) target.focus({ preventScroll: true });
}

// Undo and redo of the planner's local edits.
//
// An edit is {apply(), revert(), label}.  `do(edit)` applies it and clears the redo side;
// `undo()` reverts the last one; `redo()` applies it again.  The applied edits, oldest
// first, are what Save sends to the server.

export class History {
  constructor(onChange = () => {}) {
    this.done = [];
    this.undone = [];
    this.onChange = onChange;
  }

  do(edit) {
    edit.apply();
    this.done.push(edit);
    this.undone = [];
    this.onChange();
  }

  /** Record an edit that has already been applied (e.g. a Geoman vertex drag). */
  record(edit) {
    this.done.push(edit);
    this.undone = [];
    this.onChange();
  }

  undo() {
    const e = this.done.pop();
    if (!e) return null;
    e.revert();
    this.undone.push(e);
    this.onChange();
    return e;
  }

  redo() {
    const e = this.undone.pop();
    if (!e) return null;
    e.apply();
    this.done.push(e);
    this.onChange();
    return e;
  }

  get canUndo() {
    return this.done.length > 0;
  }
  get canRedo() {
    return this.undone.length > 0;
  }
  get pending() {
    return this.done.length;
  }

  clear() {
    this.done = [];
    this.undone = [];
    this.onChange();
  }
}

"""The issue workflow: states, handling levels, who may do what, and the transitions.

Pure: no database, no web.  The repository (:mod:`geogrid.db.issues`) loads an
:class:`IssueState`, calls :func:`apply` and writes the result with a conditional
UPDATE, so two handlers acting at once cannot both succeed.

States and the actions between them::

    reported --accept--> accepted --dispatch--> dispatched --start--> in_progress
       |                    |   ^                  |   ^                  |
       +--reject--> rejected    |escalate          +---+ (re-dispatch)    +--resolve (proof photo)-->
                                |                                          resolved --verify--> verified
    (reported/accepted/dispatched/in_progress) --escalate--> accepted one level up
    verified --close (answer to the reporter)--> closed --rate (1..5, by the reporter)--> rated
    rejected --reopen--> reported;  resolved/verified/closed/rated --reopen--> dispatched (same handler)

Handling levels are ``cell < village < town < county`` ("小事不出户团、大事不出村庄").

Who (``Actor``): ``admin`` may do everything; ``planner`` and ``analyst`` never handle
issues.  A *manager* of an issue is a cadre whose scope covers it at the issue's level
or above: managers accept, reject, dispatch, verify, close, reopen and escalate.  The
*handler* (the person dispatched to; for a department, a manager acting for it) starts,
resolves and may escalate.  The verifier is never the one who resolved.  Only the
reporter rates, and may reopen a closed issue.

>>> s = IssueState(status="reported", level="cell", reporter_id="u1")
>>> boss = Actor("u2", "cadre", "village", covers=True)
>>> apply(s, boss, "accept").state.status
'accepted'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from geogrid.errors import ConflictError, InputError, PermissionDeniedError

__all__ = [
    "STATUSES",
    "OPEN_STATUSES",
    "CLOSED_STATUSES",
    "HANDLED_STATUSES",
    "LEVELS",
    "ACTIONS",
    "REJECT_REASONS",
    "ISSUE_ROLES",
    "TRANSITIONS",
    "Actor",
    "Target",
    "IssueState",
    "Outcome",
    "InvalidTransitionError",
    "apply",
    "allowed_actions",
    "check_invariants",
    "level_rank",
    "next_level",
    "is_manager",
    "is_handler",
]

STATUSES = ("reported", "accepted", "rejected", "dispatched", "in_progress", "resolved",
            "verified", "closed", "rated")
#: Not yet resolved: the deadline runs and supervision applies.
OPEN_STATUSES = ("reported", "accepted", "dispatched", "in_progress")
#: Finished from the reporter's point of view (Open311 ``closed``).
CLOSED_STATUSES = ("rejected", "closed", "rated")
#: States in which the issue has a handler (a person or a department).
HANDLED_STATUSES = ("dispatched", "in_progress", "resolved", "verified", "closed", "rated")
LEVELS = ("cell", "village", "town", "county")
ACTIONS = ("accept", "reject", "dispatch", "start", "resolve", "verify", "close", "rate",
           "reopen", "escalate")
REJECT_REASONS = ("invalid", "duplicate")
#: Roles (``users.role``) that take part in the workflow at all.
ISSUE_ROLES = frozenset({"admin", "cadre"})

#: action -> states it may start from (see :func:`apply` for the target state).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "accept": ("reported",),
    "reject": ("reported", "accepted"),
    "dispatch": ("accepted", "dispatched"),
    "start": ("dispatched",),
    "resolve": ("in_progress",),
    "verify": ("resolved",),
    "close": ("verified",),
    "rate": ("closed",),
    "reopen": ("rejected", "resolved", "verified", "closed", "rated"),
    "escalate": ("reported", "accepted", "dispatched", "in_progress"),
}


class InvalidTransitionError(ConflictError):
    """The action is not possible in the issue's current state (HTTP 409)."""


def level_rank(level: str | None) -> int:
    """0 for cell ... 3 for county; -1 for no level."""
    return LEVELS.index(level) if level in LEVELS else -1


def next_level(level: str) -> str | None:
    """The level above ``level``, or None at county."""
    i = level_rank(level)
    return LEVELS[i + 1] if 0 <= i < len(LEVELS) - 1 else None


@dataclass(frozen=True)
class Actor:
    """Who is acting: their user id, role, highest scope level and whether their scope
    covers the issue's place."""

    user_id: str
    role: str
    level: str | None = None
    covers: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Target:
    """Where a dispatch sends the issue: a person (``user_id``) or a department (``department``)."""

    level: str
    user_id: str | None = None
    department: str | None = None
    #: for a person: whether their scope covers the issue (they must be able to see it)
    covers: bool = True
    role: str = "cadre"


@dataclass(frozen=True)
class IssueState:
    """The part of an issue the workflow decides on."""

    status: str
    level: str
    reporter_id: str | None = None
    handler_id: str | None = None
    handler_department: str | None = None
    resolver_id: str | None = None
    reject_reason: str | None = None
    duplicate_of: str | None = None
    has_proof: bool = False
    rating: int | None = None
    escalations: int = 0
    reopen_count: int = 0
    version: int = 1


@dataclass(frozen=True)
class Outcome:
    """The new state and what the timeline should record."""

    state: IssueState
    action: str
    from_status: str
    note: str | None = None
    detail: dict = field(default_factory=dict)


def _is_manager(state: IssueState, actor: Actor) -> bool:
    if actor.is_admin:
        return True
    return (actor.role == "cadre" and actor.covers
            and level_rank(actor.level) >= level_rank(state.level))


def _is_handler(state: IssueState, actor: Actor) -> bool:
    if actor.is_admin:
        return True
    if state.handler_id is not None:
        return actor.user_id == state.handler_id
    # a department works outside geogrid: a manager records its progress
    return state.handler_department is not None and _is_manager(state, actor)


def is_manager(state: IssueState, actor: Actor) -> bool:
    """Whether ``actor`` manages the issue: admin, or a covering cadre at its level or above."""
    return actor.role in ISSUE_ROLES and _is_manager(state, actor)


def is_handler(state: IssueState, actor: Actor) -> bool:
    """Whether ``actor`` handles the issue (the person dispatched to; for a department, a manager)."""
    return actor.role in ISSUE_ROLES and _is_handler(state, actor)


def _may(state: IssueState, actor: Actor, action: str) -> bool:
    if actor.role not in ISSUE_ROLES:
        return False
    if action in ("accept", "reject", "dispatch", "close"):
        return _is_manager(state, actor)
    if action in ("start", "resolve"):
        return _is_handler(state, actor)
    if action == "verify":
        return _is_manager(state, actor) and (actor.is_admin or actor.user_id != state.resolver_id)
    if action == "rate":
        return actor.is_admin or (state.reporter_id is not None and actor.user_id == state.reporter_id)
    if action == "reopen":
        if state.status in ("closed", "rated") and state.reporter_id is not None \
                and actor.user_id == state.reporter_id:
            return True
        return _is_manager(state, actor)
    if action == "escalate":
        return _is_manager(state, actor) or (
            state.status in ("dispatched", "in_progress") and _is_handler(state, actor))
    return False


def allowed_actions(state: IssueState, actor: Actor) -> list[str]:
    """The actions ``actor`` may attempt on ``state`` now (arguments still checked)."""
    out = []
    for action, sources in TRANSITIONS.items():
        if state.status not in sources:
            continue
        if action == "escalate" and next_level(state.level) is None:
            continue
        if _may(state, actor, action):
            out.append(action)
    return out


def _text(value) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def apply(state: IssueState, actor: Actor, action: str, *, note: str | None = None,
          reason: str | None = None, duplicate_of: str | None = None,
          target: Target | None = None, rating: int | None = None) -> Outcome:
    """Apply ``action`` by ``actor`` to ``state``; the state itself is not changed.

    Raises
    ------
    InputError
        Unknown action, or missing/invalid arguments (reason, target, rating...).
    PermissionDeniedError
        The role never handles issues, or this actor may not take this action here.
    InvalidTransitionError
        The action is not possible from ``state.status`` (or escalating at county).
    """
    if action not in TRANSITIONS:
        raise InputError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}",
                         key="issue.unknown_action", params={"action": action})
    if actor.role not in ISSUE_ROLES:
        raise PermissionDeniedError(
            f"role {actor.role!r} does not handle issues; ask an administrator for a cadre account",
            key="issue.role_may_not", params={"role": actor.role})
    if state.status not in TRANSITIONS[action]:
        raise InvalidTransitionError(
            f"cannot {action} an issue that is {state.status}; it can be "
            f"{action}ed only when {' or '.join(TRANSITIONS[action])}",
            key="issue.transition_not_allowed",
            params={"action": action, "status": state.status, "allowed": list(TRANSITIONS[action])})
    if action == "escalate" and next_level(state.level) is None:
        raise InvalidTransitionError("the issue is already at county level; it cannot be escalated",
                                     key="issue.already_county")
    if not _may(state, actor, action):
        raise PermissionDeniedError(_refusal(state, actor, action), **_refusal_key(state, actor, action))
    note = _text(note)
    new, detail = _next(state, actor, action, note=note, reason=reason,
                        duplicate_of=duplicate_of, target=target, rating=rating)
    new = replace(new, version=state.version + 1)
    check_invariants(new)
    return Outcome(state=new, action=action, from_status=state.status, note=note, detail=detail)


def _refusal(state: IssueState, actor: Actor, action: str) -> str:
    if action in ("start", "resolve"):
        return f"only the handler of this issue may {action} it"
    if action == "verify" and actor.user_id == state.resolver_id:
        return "the one who resolved an issue cannot verify it; ask a colleague or a superior"
    if action == "rate":
        return "only the person who reported the issue may rate it"
    return (f"only a cadre responsible for this place at {state.level} level or above may "
            f"{action} this issue")


def _refusal_key(state: IssueState, actor: Actor, action: str) -> dict:
    """The key and params of :func:`_refusal`'s message."""
    if action in ("start", "resolve"):
        return {"key": "issue.handler_only", "params": {"action": action}}
    if action == "verify" and actor.user_id == state.resolver_id:
        return {"key": "issue.verify_own"}
    if action == "rate":
        return {"key": "issue.reporter_only_rates"}
    return {"key": "issue.level_only", "params": {"action": action, "level": state.level}}


def _next(s: IssueState, actor: Actor, action: str, *, note, reason, duplicate_of, target,
          rating) -> tuple[IssueState, dict]:
    if action == "accept":
        return replace(s, status="accepted"), {}
    if action == "reject":
        if reason not in REJECT_REASONS:
            raise InputError(f"a rejection needs a reason: {' or '.join(REJECT_REASONS)}",
                             key="issue.reject_needs_reason")
        if reason == "duplicate" and not _text(duplicate_of):
            raise InputError("a duplicate needs duplicate_of: the id of the issue it repeats",
                             key="issue.duplicate_needs_id")
        dup = _text(duplicate_of) if reason == "duplicate" else None
        return (replace(s, status="rejected", reject_reason=reason, duplicate_of=dup),
                {"reason": reason, "duplicate_of": dup})
    if action == "dispatch":
        if target is None or (target.user_id is None) == (target.department is None):
            raise InputError("dispatch needs exactly one of handler_id (a person) or "
                             "department (from the menu)", key="issue.dispatch_needs_target")
        if target.level not in LEVELS:
            raise InputError(f"dispatch level must be one of {', '.join(LEVELS)}", key="issue.dispatch_level")
        if not actor.is_admin and level_rank(target.level) > level_rank(actor.level):
            raise PermissionDeniedError(
                f"a {actor.level}-level cadre cannot dispatch to {target.level} level; "
                "escalate the issue instead",
                key="issue.dispatch_above_level", params={"level": target.level})
        if target.user_id is not None and (target.role != "cadre" or not target.covers):
            raise InputError("the handler must be a cadre whose scope covers the issue's place",
                             key="issue.handler_not_allowed")
        return (replace(s, status="dispatched", level=target.level, handler_id=target.user_id,
                        handler_department=target.department),
                {"handler_id": target.user_id, "department": target.department,
                 "level": target.level})
    if action == "start":
        return replace(s, status="in_progress"), {}
    if action == "resolve":
        if not s.has_proof:
            raise InputError("resolving needs a proof photo: upload one with kind=proof first",
                             key="issue.resolve_needs_proof")
        return replace(s, status="resolved", resolver_id=actor.user_id), {}
    if action == "verify":
        return replace(s, status="verified"), {}
    if action == "close":
        if not note:
            raise InputError("closing needs a note: the answer given to the person who reported it",
                             key="issue.close_needs_note")
        return replace(s, status="closed"), {"reply": note}
    if action == "rate":
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise InputError("rating must be a whole number from 1 to 5", key="issue.rating_range")
        return replace(s, status="rated", rating=rating), {"rating": rating}
    if action == "reopen":
        if s.status == "rejected":
            return (replace(s, status="reported", reject_reason=None, duplicate_of=None,
                            reopen_count=s.reopen_count + 1), {})
        return (replace(s, status="dispatched", resolver_id=None, rating=None, has_proof=False,
                        reopen_count=s.reopen_count + 1), {})
    if action == "escalate":
        up = next_level(s.level)
        return (replace(s, status="accepted", level=up, handler_id=None, handler_department=None,
                        escalations=s.escalations + 1), {"from_level": s.level, "level": up})
    raise InputError(f"unknown action {action!r}",
                     key="issue.unknown_action", params={"action": action})  # pragma: no cover


def check_invariants(s: IssueState) -> None:
    """Raise AssertionError if ``s`` is not a state the workflow can reach."""
    assert s.status in STATUSES, s
    assert s.level in LEVELS, s
    handled = s.handler_id is not None or s.handler_department is not None
    assert handled == (s.status in HANDLED_STATUSES), s
    assert not (s.handler_id is not None and s.handler_department is not None), s
    assert (s.reject_reason is not None) == (s.status == "rejected"), s
    assert s.reject_reason in (None, *REJECT_REASONS), s
    assert (s.duplicate_of is not None) == (s.reject_reason == "duplicate"), s
    finished = s.status in ("resolved", "verified", "closed", "rated")
    assert (s.resolver_id is not None) == finished, s
    assert not finished or s.has_proof, s
    assert (s.rating is not None) == (s.status == "rated"), s
    assert s.rating is None or 1 <= s.rating <= 5, s
    assert s.version >= 1 and s.escalations >= 0 and s.reopen_count >= 0, s

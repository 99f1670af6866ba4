"""The state machine: no sequence of calls reaches an invalid state (hypothesis), and
who may take each transition."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from geogrid.errors import ConflictError, InputError, PermissionDeniedError
from geogrid.issues.workflow import (
    ACTIONS, LEVELS, TRANSITIONS, Actor, InvalidTransitionError, IssueState, Target,
    allowed_actions, apply, check_invariants,
)

ACTORS = [
    Actor("reporter", "cadre", "cell", covers=True),
    Actor("cell", "cadre", "cell", covers=True),
    Actor("cell2", "cadre", "cell", covers=True),
    Actor("village", "cadre", "village", covers=True),
    Actor("town", "cadre", "town", covers=True),
    Actor("county", "cadre", "county", covers=True),
    Actor("outsider", "cadre", "county", covers=False),
    Actor("admin", "admin", "county", covers=True),
    Actor("planner", "planner", "county", covers=True),
    Actor("analyst", "analyst", "county", covers=True),
]
TARGETS = [None, Target("cell", user_id="cell"), Target("village", user_id="village"),
           Target("county", department="water"), Target("town", department="town_office"),
           Target("cell", user_id="outsider", covers=False),
           Target("cell", user_id="x", department="y")]

args = st.fixed_dictionaries({
    "note": st.sampled_from([None, "", "  ", "已处理"]),
    "reason": st.sampled_from([None, "invalid", "duplicate", "bogus"]),
    "duplicate_of": st.sampled_from([None, "", "other-issue"]),
    "target": st.sampled_from(TARGETS),
    "rating": st.sampled_from([None, 0, 1, 5, 6, True]),
})


def good_kwargs(action, draw) -> dict:
    if action == "reject":
        return draw(st.sampled_from([{"reason": "invalid"},
                                     {"reason": "duplicate", "duplicate_of": "other"}]))
    if action == "dispatch":
        return {"target": draw(st.sampled_from(TARGETS[1:5]))}
    if action == "close":
        return {"note": "已答复"}
    if action == "rate":
        return {"rating": draw(st.integers(1, 5))}
    return {}


class Workflow(RuleBasedStateMachine):
    """Random actors try random actions with random arguments, and proofs appear."""

    def __init__(self):
        super().__init__()
        self.state = IssueState(status="reported", level="cell", reporter_id="reporter")
        self.successes = 0

    @rule(actor=st.sampled_from(ACTORS), action=st.sampled_from(ACTIONS + ("fly",)), kw=args)
    def act(self, actor, action, kw):
        before = self.state
        try:
            outcome = apply(before, actor, action, **kw)
        except (InputError, PermissionDeniedError, ConflictError) as exc:
            assert self.state == before  # a refusal changes nothing
            if isinstance(exc, InvalidTransitionError):
                assert before.status not in TRANSITIONS.get(action, ()) or before.level == "county"
            return
        assert action in allowed_actions(before, actor)
        assert outcome.from_status == before.status
        assert outcome.state.version == before.version + 1
        self.state = outcome.state
        self.successes += 1

    @rule(actor=st.sampled_from(ACTORS), data=st.data())
    def act_allowed(self, actor, data):
        """Steer towards deep states: an action this actor may take, with good arguments."""
        actions = allowed_actions(self.state, actor)
        if not actions:
            return
        action = data.draw(st.sampled_from(actions))
        try:
            outcome = apply(self.state, actor, action, **good_kwargs(action, data.draw))
        except (InputError, PermissionDeniedError):
            return  # e.g. resolving without a proof, dispatching above one's level
        self.state = outcome.state
        self.successes += 1

    @rule()
    def upload_proof(self):
        if self.state.status == "in_progress":
            from dataclasses import replace

            self.state = replace(self.state, has_proof=True)

    @invariant()
    def valid(self):
        check_invariants(self.state)
        assert self.state.version == 1 + self.successes

    @invariant()
    def never_handled_by_planners(self):
        for a in ACTORS:
            if a.role in ("planner", "analyst"):
                assert allowed_actions(self.state, a) == []


TestWorkflowMachine = Workflow.TestCase
TestWorkflowMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


@given(st.sampled_from(ACTORS), st.sampled_from(ACTIONS))
def test_outsiders_and_other_roles_never_act(actor, action):
    s = IssueState(status="reported", level="cell", reporter_id="reporter")
    if actor.role in ("planner", "analyst") or (not actor.covers and actor.role != "admin"):
        with pytest.raises((PermissionDeniedError, InvalidTransitionError)):
            apply(s, actor, action)


def _walk(*steps):
    s = IssueState(status="reported", level="cell", reporter_id="reporter")
    for actor, action, kw in steps:
        s = apply(s, actor, action, **kw).state
    return s


CELL, VILLAGE, ADMIN, REPORTER = ACTORS[1], ACTORS[3], ACTORS[7], ACTORS[0]


@pytest.mark.parametrize("action,who,ok", [
    ("accept", CELL, True), ("accept", ACTORS[6], False), ("accept", ACTORS[8], False),
    ("reject", VILLAGE, True), ("escalate", CELL, True), ("start", CELL, False),
])
def test_roles_on_a_reported_cell_issue(action, who, ok):
    s = IssueState(status="reported", level="cell", reporter_id="reporter")
    kw = {"reason": "invalid"} if action == "reject" else {}
    if ok:
        apply(s, who, action, **kw)
    else:
        with pytest.raises((PermissionDeniedError, InvalidTransitionError)):
            apply(s, who, action, **kw)


def test_verifier_is_not_the_resolver_and_only_reporter_rates():
    from dataclasses import replace

    s = _walk((CELL, "accept", {}), (CELL, "dispatch", {"target": Target("cell", user_id="cell")}),
              (CELL, "start", {}))
    s = apply(replace(s, has_proof=True), CELL, "resolve").state
    with pytest.raises(PermissionDeniedError, match="cannot verify"):
        apply(s, CELL, "verify")
    s = apply(s, ACTORS[2], "verify").state  # a colleague of the same cell level
    s = apply(s, VILLAGE, "close", note="已处理").state
    with pytest.raises(PermissionDeniedError):
        apply(s, VILLAGE, "rate", rating=4)
    s = apply(s, REPORTER, "rate", rating=4).state
    assert s.status == "rated"
    s = apply(s, REPORTER, "reopen", note="又堆了").state
    assert s.status == "dispatched" and s.handler_id == "cell" and s.rating is None


def test_escalation_climbs_to_county_and_stops():
    s = IssueState(status="reported", level="cell", reporter_id="reporter")
    for level in LEVELS[1:]:
        s = apply(s, ADMIN, "escalate").state
        assert s.level == level and s.status == "accepted"
    with pytest.raises(InvalidTransitionError, match="county"):
        apply(s, ADMIN, "escalate")


def test_random_walks_reach_every_state():
    """The random calls above are not stuck at the start: walks reach every state."""
    import random
    from dataclasses import replace

    from geogrid.issues.workflow import STATUSES

    rng = random.Random(6)
    seen = set()
    kws = [{}, {"reason": "duplicate", "duplicate_of": "x"}, {"reason": "invalid"},
           {"target": Target("cell", user_id="cell")}, {"target": Target("county", department="w")},
           {"note": "ok"}, {"rating": 3}]
    for _ in range(400):
        s = IssueState(status="reported", level="cell", reporter_id="reporter")
        for _ in range(60):
            if s.status == "in_progress":
                s = replace(s, has_proof=True)
            actor = rng.choice(ACTORS)
            allowed = allowed_actions(s, actor)
            try:
                if allowed and rng.random() < 0.7:
                    action = rng.choice(allowed)
                    s = apply(s, actor, action, **_kwargs(action, rng)).state
                else:
                    s = apply(s, actor, rng.choice(ACTIONS), **rng.choice(kws)).state
            except (InputError, PermissionDeniedError, ConflictError):
                pass
            check_invariants(s)
            seen.add(s.status)
    assert seen == set(STATUSES)


def _kwargs(action, rng) -> dict:
    return {"reject": {"reason": "invalid"}, "close": {"note": "ok"}, "rate": {"rating": 4},
            "dispatch": {"target": rng.choice(TARGETS[1:5])}}.get(action, {})

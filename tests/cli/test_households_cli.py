"""``geogrid households remove / restore / removal``: a household leaving the register
from the command line, by the API's rules (geogrid.db.removals), audit-logged as the
command's actor, all or nothing, with the documented exit codes.  Before, only the API
could remove a household: a county office without the map had no way to.  On the
API tests' hand-drawn world, both back-ends."""

from __future__ import annotations

import getpass

import pytest
from sqlalchemy import select

from tests.api.conftest import V1, build_world


@pytest.fixture
def world(engine):
    from geogrid.db.engine import make_sessionmaker

    with make_sessionmaker(engine)() as s:
        return build_world(s)


def _state(engine, hid, plan_id):
    """(removed?, its cell's stored count in the published plan, audit actions on it)."""
    from geogrid.db.models import Assignment, AuditEntry, Household

    with engine.connect() as conn:
        removed = conn.execute(select(Household.removed_at).where(Household.id == hid)).scalar_one() is not None
        cell = conn.execute(select(Assignment.cell_id).where(Assignment.household_id == hid,
                                                             Assignment.plan_id == plan_id)).scalar_one_or_none()
        audit = conn.execute(select(AuditEntry.action, AuditEntry.actor).where(AuditEntry.object_id == hid)
                             .order_by(AuditEntry.id)).all()
    return removed, cell, [tuple(a) for a in audit]


def _number(engine, hid):
    from geogrid.db.models import Household

    with engine.connect() as conn:
        return conn.execute(select(Household.household_no).where(Household.id == hid)).scalar_one()


def test_a_household_is_removed_and_restored_from_the_command_line(cli, engine, world):
    hid = world.households[V1][0]
    number = _number(engine, hid)
    cell = _state(engine, hid, world.plan_id)[1]
    me = f"cli:{getpass.getuser()}"

    code, out, err = cli("households", "remove", number, "--reason", "moved_out", "--date", "2026-11-30",
                         "--note", "迁往长沙")
    assert code == 0, err
    assert f"removed household {number} (id {hid}): moved_out on 2026-11-30" in out
    assert world.plan_id in out
    assert _state(engine, hid, world.plan_id) == (True, None, [("remove", me)])
    code, out, _ = cli("households", "removal", hid)
    assert code == 0 and "迁往长沙" in out and f"removed_by\t{me}" in out

    # removing it again is a conflict, nothing written
    code, _, err = cli("households", "remove", hid, "--reason", "dissolved", "--date", "2026-11-30")
    assert code == 8 and "out of the register already" in err
    assert len(_state(engine, hid, world.plan_id)[2]) == 1

    code, out, err = cli("households", "restore", number)
    assert code == 0, err
    assert f"restored household {number} (id {hid})" in out
    assert _state(engine, hid, world.plan_id) == (False, cell, [("remove", me), ("restore", me)])
    code, _, err = cli("households", "restore", number)
    assert code == 8 and "no removal to undo" in err
    code, _, err = cli("households", "removal", number)
    assert code == 7 and "in the register" in err


def test_refusals_say_why_and_write_nothing(cli, engine, world):
    hid, other = world.households[V1][:2]
    for args, exit_code, words in (
            (("nosuch", "--reason", "moved_out", "--date", "2026-11-30"), 7, "household nosuch not found"),
            ((hid, "--reason", "left", "--date", "2026-11-30"), 2, "reason must be one of"),
            ((hid, "--reason", "moved_out", "--date", "30.11.2026"), 2, "--date must be a day as YYYY-MM-DD"),
            ((hid, "--reason", "moved_out", "--date", "2999-01-01"), 2, "a day still to come"),
            ((hid, "--reason", "merged", "--date", "2026-11-30"), 2, "needs merged_into"),
            ((hid, "--reason", "merged", "--date", "2026-11-30", "--merged-into", "nosuch"), 2,
             "household nosuch (merged_into) is not in the register")):
        code, _, err = cli("households", "remove", *args)
        assert code == exit_code and words in err, (args, code, err)
    assert _state(engine, hid, world.plan_id)[0] is False and _state(engine, hid, world.plan_id)[2] == []
    # merged into another, named by its 户编号
    code, out, err = cli("households", "remove", hid, "--reason", "merged", "--date", "2026-11-30",
                         "--merged-into", _number(engine, other))
    assert code == 0, err
    code, out, _ = cli("households", "removal", hid)
    assert f"merged_into\t{other}" in out

"""Every problem the API's plan validation can give, and every kind of engine note a
plan or a re-run can show, has a name (and a note a template) in both languages of the web map (the planner's list of
problems shows the raw rule name where a string is missing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _keys(lang: str) -> set[str]:
    from geogrid.webassets import string_files

    text = "\n".join(f.read_text(encoding="utf-8") for f in string_files(lang, ROOT / "web_map"))
    return set(re.findall(r'^\s*"([^"]+)":', text, flags=re.M))


def _rules() -> set[str]:
    text = (ROOT / "geogrid" / "api" / "planvalidation.py").read_text(encoding="utf-8")
    return set(re.findall(r'_problem\(\s*"([a-z_]+)"', text))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_validation_rule_has_a_name(lang):
    rules = _rules()
    assert {"disconnected_cell", "disconnected_microgrid", "empty_cell"} <= rules
    missing = sorted(r for r in rules if f"rule.{r}" not in _keys(lang))
    assert missing == []


def _engine_kinds() -> set[str]:
    kinds = set()
    # the engine's, and those the database adds for a run over some villages
    # (db/registerpartition.py)
    for path in [*(ROOT / "geogrid" / "partition").glob("*.py"), ROOT / "geogrid" / "db" / "registerpartition.py"]:
        text = path.read_text(encoding="utf-8")
        kinds |= set(re.findall(r'diagnostic\(\s*"([a-z_]+)"', text))
        kinds |= set(re.findall(r'"kind":\s*"([a-z_]+)"', text))
    return kinds


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_kind_of_engine_note_has_a_template(lang):
    kinds = _engine_kinds()
    assert {"microgrid_in_pieces", "outline_adds_land", "uninhabited_land", "isolated", "address_beyond_run"} <= kinds
    missing = sorted(k for k in kinds if f"engine.{k}" not in _keys(lang))
    assert missing == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_kind_of_engine_note_has_a_short_name(lang):
    """The planner's list of the plan's notes heads each with its kind's name."""
    missing = sorted(k for k in _engine_kinds() if f"notekind.{k}" not in _keys(lang))
    assert missing == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_string_the_house_panel_asks_for_is_there(lang):
    """The house panel (its removal from the register too) words nothing in a raw key."""
    text = (ROOT / "web_map" / "js" / "house.js").read_text(encoding="utf-8")
    asked = set(re.findall(r'\bt\("([a-z_.]+)"', text))
    asked |= {f"removal.reason.{r}" for r in re.findall(r'"(moved_out|dissolved|merged|duplicate)"', text)}
    assert {"house.remove", "removal.title", "removal.reason.moved_out"} <= asked
    assert sorted(asked - _keys(lang)) == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_string_the_planners_notes_and_validation_ask_for_is_there(lang):
    """The planner's notes and validation (the line saying the register changed since
    the plan read it, too) word nothing in a raw key."""
    asked = set()
    for name in ("planner-notes.js", "planner-balance.js"):
        text = (ROOT / "web_map" / "js" / name).read_text(encoding="utf-8")
        asked |= set(re.findall(r'\bt\("([a-z_.]+)"', text))
    assert {"planner.register.changed", "planner.register.village", "planner.notes.plan"} <= asked
    assert sorted(asked - _keys(lang)) == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_string_the_issue_statistics_ask_for_is_there(lang):
    """The issue statistics (their periods, steps of the trend and an analyst's words for
    rounded and withheld figures) word nothing in a raw key."""
    text = (ROOT / "web_map" / "js" / "issue-stats.js").read_text(encoding="utf-8")
    asked = set(re.findall(r'\bt\("([a-z_.]+)"', text))
    presets = re.search(r"PRESETS = \[([^\]]+)\]", text).group(1)
    asked |= {f"stats.period.{p}" for p in re.findall(r'"([a-z_0-9]+)"', presets)}
    steps = re.search(r"STEPS = \[([^\]]+)\]", text).group(1)
    asked |= {f"stats.step.{s}" for s in re.findall(r'"([a-z]+)"', steps)}
    assert {"stats.period.last_month", "stats.step.week", "stats.about", "stats.withheld.rows"} <= asked
    assert sorted(asked - _keys(lang)) == []

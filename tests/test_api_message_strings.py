"""Every message key the API gives a refusal (``key=`` on a raise, see
geogrid/api/errors.py) has a string "api.<key>" in both languages of the web map: a key
with none is shown in the API's English (js/apimessage.js)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _strings(lang: str) -> set[str]:
    from geogrid.webassets import string_files

    text = "\n".join(f.read_text(encoding="utf-8") for f in string_files(lang, ROOT / "web_map"))
    return set(re.findall(r'^\s*"([^"]+)":', text, flags=re.M))


def _api_keys() -> set[str]:
    keys = set()
    for path in (ROOT / "geogrid").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r'\bkey="([a-z_]+\.[a-z_.]+)"', text))
        keys |= set(re.findall(r'\.key = "([a-z_]+\.[a-z_.]+)"', text))
        keys |= set(re.findall(r'"key": "([a-z_]+\.[a-z_.]+)"', text))
        keys |= set(re.findall(r'\.hit\([^)]*"([a-z_]+\.[a-z_]+)"\)', text))
    return keys


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_message_key_of_the_api_has_a_string(lang):
    keys = _api_keys()
    assert {"plan.publish_has_errors", "plan.stale", "plan.cell_locked_move", "issue.transition_not_allowed",
            "photo.too_large", "auth.account_locked", "person.reveal_limit", "request.too_large"} <= keys
    missing = sorted(k for k in keys if f"api.{k}" not in _strings(lang))
    assert missing == []

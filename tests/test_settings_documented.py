"""``.env.example`` documents every setting, and sets nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

from geogrid.api.config import ApiSettings
from geogrid.issues.config import IssueSettings
from geogrid.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def _settings_variables() -> set[str]:
    names = set()
    for cls in (Settings, ApiSettings, IssueSettings):
        prefix = cls.model_config.get("env_prefix", "")
        names.update((prefix + field).upper() for field in cls.model_fields)
    return names


def _documented() -> set[str]:
    return set(re.findall(r"^(GEOGRID_[A-Z0-9_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M))


def test_every_setting_is_in_env_example():
    assert sorted(_settings_variables() - _documented()) == []


def test_env_example_sets_only_real_settings():
    assert sorted(_documented() - _settings_variables()) == []
